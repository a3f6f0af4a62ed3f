"""An independent, explicit-loop self-attention: no numpy matrix products, no attncore code."""

import math


def attention_loops(X, W_Q, W_K, W_V, causal=False):
    """Return (scores, weights, output) as nested lists, computed one multiply-add at a time."""
    S, d_model = len(X), len(X[0])
    d_k, d_v = len(W_Q[0]), len(W_V[0])

    def project(W, width):
        return [[sum(X[i][m] * W[m][c] for m in range(d_model)) for c in range(width)] for i in range(S)]

    Q, K, V = project(W_Q, d_k), project(W_K, d_k), project(W_V, d_v)
    scores = [[sum(Q[i][c] * K[j][c] for c in range(d_k)) for j in range(S)] for i in range(S)]
    weights = []
    for i in range(S):
        visible = [j for j in range(S) if not causal or j <= i]
        top = max(scores[i][j] / math.sqrt(d_k) for j in visible)
        e = {j: math.exp(scores[i][j] / math.sqrt(d_k) - top) for j in visible}
        total = sum(e.values())
        weights.append([e[j] / total if j in e else 0.0 for j in range(S)])
    output = [[sum(weights[i][j] * V[j][c] for j in range(S)) for c in range(d_v)] for i in range(S)]
    return scores, weights, output


# ---- the worked arithmetic the scenes show, by explicit loops (never attncore.steps) -------------

SHIFT_ABOVE = 6.0  # attncore.steps' rule (MAX_PLAIN_EXPONENT), restated: the worked softmax shows e^(s − max) when the row's largest allowed x is above 6
_WORKED: dict = {}


def _rows(result):
    """Q, K, V (with a model head's biases) and the scaled scores, by loops from X and the weights."""
    key = id(result)
    if key not in _WORKED or _WORKED[key][0] is not result:
        X, S, d = result.X.tolist(), result.n_tokens, result.d_model

        def project(W, b):
            W, width = W.tolist(), W.shape[1]
            bias = [0.0] * width if b is None else b.tolist()
            return [[sum(X[i][m] * W[m][c] for m in range(d)) + bias[c] for c in range(width)] for i in range(S)]

        Q, K, V = project(result.W_Q, result.b_Q), project(result.W_K, result.b_K), project(result.W_V, result.b_V)
        scaled = [[sum(q * k for q, k in zip(Q[i], K[j])) / math.sqrt(result.d_k) for j in range(S)] for i in range(S)]
        _WORKED[key] = (result, dict(Q=Q, K=K, V=V, scaled=scaled, cache={}))
    return _WORKED[key][1]


def worked(result, name, *args):
    """What attncore.steps.<name>(result, *args) (or attncore.lessons') must give, field by field, as a
    plain namespace (or a nested list, or a number), from explicit loops over the result's inputs."""
    from types import SimpleNamespace

    if name == "residual":  # of a MultiHeadResult: x, attended, total (attncore.lessons.residual)
        (i,) = args
        if not hasattr(result, "heads"):  # the toy's single head: W_O the identity, d_v x d_model (1 on the diagonal)
            weights, V = worked(result, "softmax_row", i).weights, _rows(result)["V"]
            z = [sum(weights[j] * V[j][c] for j in range(result.n_tokens)) for c in range(result.d_v)]
            W_O = [[1.0 if m == c else 0.0 for c in range(result.d_model)] for m in range(result.d_v)]
            x = result.X[i].tolist()
            attended = [sum(z[m] * W_O[m][c] for m in range(result.d_v)) for c in range(result.d_model)]
            return SimpleNamespace(x=x, attended=attended, total=[a + b for a, b in zip(x, attended)])
        x, attended = stream_loops(result)[i], attended_loops(result, i)
        return SimpleNamespace(x=x, attended=attended, total=[a + b for a, b in zip(x, attended)])
    if name == "shuffled":  # attncore.lessons.shuffled: the followed token's row in the shuffled sentence
        (i,) = args
        return shuffled_loops(result, i)
    if name == "positioned":  # attncore.lessons.positioned: that row and the sentence's, with positional encoding
        (i,) = args
        return positioned_loops(result, i)
    m = _rows(result)
    if (name, args) in m["cache"]:
        return m["cache"][name, args]
    S = result.n_tokens
    allowed = lambda i: [j for j in range(S) if not result.causal or j <= i]
    if name == "score_entry":
        i, j = args
        terms = [q * k for q, k in zip(m["Q"][i], m["K"][j])]
        running, total = [], 0.0
        for t in terms:
            total += t
            running.append(total)
        value = SimpleNamespace(a=m["Q"][i], b=m["K"][j], terms=terms, running=running, total=total, bias=0.0)
    elif name == "softmax_row":
        (i,) = args
        x = m["scaled"][i]
        top = max(x[j] for j in allowed(i))
        shift = top if top > SHIFT_ABOVE else 0.0
        exps = [math.exp(x[j] - shift) if j in allowed(i) else 0.0 for j in range(S)]
        total = sum(exps)
        value = SimpleNamespace(x=x, shift=shift, exps=exps, total=total, weights=[e / total for e in exps])
    elif name == "weighted_values":
        (i,) = args
        weights = worked(result, "softmax_row", i).weights
        value = [[weights[j] * v for v in m["V"][j]] for j in range(S)]
    elif name == "row_sums":
        value = [sum(worked(result, "softmax_row", i).weights) for i in range(S)]
    elif name == "masked_cells":
        (i,) = args
        value = sum(1 for j in range(S) if j not in allowed(i))
    elif name == "strongest":
        (i,) = args
        weights = worked(result, "softmax_row", i).weights
        value = max(range(S), key=lambda j: (weights[j], -j))
    elif name == "winning_pair":
        i, *keys = args
        weights = worked(result, "softmax_row", i).weights
        candidates = [j for j in allowed(i) if not keys or j in keys[0]]
        top = candidates[0]
        for j in candidates:  # the first of the largest
            if weights[j] > weights[top]:
                top = j
        rest = [j for j in candidates if j != top]
        low = rest[0] if rest else None
        for j in rest:  # the first of the smallest
            if weights[j] < weights[low]:
                low = j
        value = (top, low)
    elif name == "score_angle":
        i, j = args
        q, k = m["Q"][i], m["K"][j]
        dot = sum(a * b for a, b in zip(q, k))
        q_norm, k_norm = math.sqrt(sum(a * a for a in q)), math.sqrt(sum(b * b for b in k))
        value = SimpleNamespace(q_norm=q_norm, k_norm=k_norm, total=dot,
                                cosine=0.0 if q_norm * k_norm == 0 else dot / (q_norm * k_norm))
    elif name == "score_plane":  # q_i, k_j and other keys in the plane of q_i and k_j, by explicit formulas
        i, j, *others = args
        q, keys = m["Q"][i], [m["K"][n] for n in (j, *others)]
        dot = lambda a, b: sum(x * y for x, y in zip(a, b))
        qq = math.sqrt(dot(q, q))
        # along q: q . k / |q|; off it, in the plane: the component along k_j's part at right angles to q,
        # (k_j . k - (q . k_j)(q . k) / |q|^2) / |that part|, whose length is sqrt(|k_j|^2 - (q . k_j / |q|)^2)
        along = [dot(q, k) / qq for k in keys]
        off = math.sqrt(max(0.0, dot(keys[0], keys[0]) - along[0] ** 2))
        across = [0.0 if off == 0 else (dot(keys[0], k) - along[0] * along[n]) / off for n, k in enumerate(keys)]
        points = [[qq, 0.0], *([a, c] for a, c in zip(along, across))]
        value = SimpleNamespace(points=points, along=along, in_plane=[math.hypot(a, c) for a, c in zip(along, across)])
    elif name == "top_terms":
        i, j, n = args
        entry = worked(result, "score_entry", i, j)
        sign = -1.0 if entry.total < 0 else 1.0
        dims = sorted(range(len(entry.terms)), key=lambda c: (-sign * entry.terms[c], c))[:n]
        terms = [entry.terms[c] for c in dims]
        value = SimpleNamespace(dims=tuple(dims), terms=terms, total=sum(terms),
                                agreeing=sum(1 for t in entry.terms if sign * t > 0))
    elif name == "unscaled_softmax_row":
        (i,) = args
        raw = {j: sum(q * k for q, k in zip(m["Q"][i], m["K"][j])) for j in allowed(i)}  # no ÷ √d_k
        top = max(raw.values())
        e = {j: math.exp(x - top) for j, x in raw.items()}
        total = sum(e.values())
        value = [e[j] / total if j in e else 0.0 for j in range(S)]
    elif name == "score_spread":
        (i,) = args
        raw = [sum(q * k for q, k in zip(m["Q"][i], m["K"][j])) for j in allowed(i)]
        scaled = [m["scaled"][i][j] for j in allowed(i)]
        value = SimpleNamespace(before=max(raw) - min(raw), after=max(scaled) - min(scaled))
    elif name == "rest_share":  # what a picture states for some of row i's runs: the rest of the row, split
        i, runs, keys = args
        weights = worked(result, "softmax_row", i).weights
        value = rest_share_loops(weights, runs, keys)
    elif name == "weighted_run":  # an elided run of the weighted sum: its products a_j v_j added up
        i, keys = args
        products = worked(result, "weighted_values", i)
        value = [sum(products[j][c] for j in keys) for c in range(result.d_v)]
    elif name == "term_run":  # an elided run of the worked dot product's dimensions: its terms added up
        i, j, dims = args
        terms = worked(result, "score_entry", i, j).terms
        value = sum(terms[c] for c in dims)
    elif name == "exp_run":  # an elided run of the worked softmax row: its powers of e added up
        i, keys = args
        exps = worked(result, "softmax_row", i).exps
        value = sum(exps[j] for j in keys)
    elif name == "run_weight":  # an elided run's share of row i: the weights of its keys added up
        i, keys = args
        weights = worked(result, "softmax_row", i).weights
        value = 0.0
        for j in keys:
            value += weights[j]
    elif name == "focus_look":  # attncore.roles.focus_look: row i's weight on key k, the other rows' mean on k
        i, k = args
        rows = [worked(result, "softmax_row", q).weights for q in range(S)]
        choice = [q for q in range(S) if len(allowed(q)) > 1] or list(range(S))
        others = [rows[q][k] for q in choice if q != i and k in allowed(q)]
        value = SimpleNamespace(key=k, share=rows[i][k], others=sum(others) / len(others) if others else None)
    elif name == "head_role":  # attncore.roles.head_role, restated by loops over the weights
        rows = [worked(result, "softmax_row", i).weights for i in range(S)]
        mask = None if result.mask is None else result.mask.tolist()
        value = head_role_loops(rows, mask, result.tokens, result.model is not None)
    else:
        raise KeyError(f"no reference for the worked step {name!r}")
    m["cache"][name, args] = value
    return value


ROLE_THRESHOLD = 0.5  # attncore.roles.THRESHOLD, restated


def head_role_loops(weights, mask=None, tokens=None, model=False):
    """What attncore.roles.head_role gives for these (S, S) weights, by the rule in docs/models.md,
    one row at a time: (role, share, token) as a namespace. `mask[i][j]` True where query i may
    attend to key j (None: all); `model`: the tokens [CLS]/[SEP] are a tokenizer's special tokens."""
    from types import SimpleNamespace

    S = len(weights)
    tokens = tokens or [f"#{i + 1}" for i in range(S)]
    may = lambda i, j: 0 <= j < S and (mask is None or bool(mask[i][j]))
    rows = [i for i in range(S) if sum(1 for j in range(S) if may(i, j)) > 1] or list(range(S))
    special = [j for j in range(S) if model and tokens[j] in ("[CLS]", "[SEP]")]

    found = []  # (role, share, token) in the rule's order
    for role, d in (("previous", -1), ("self", 0), ("next", 1), ("previous2", -2), ("next2", 2)):
        total, count = 0.0, 0
        for i in rows:
            if may(i, i + d):
                total += weights[i][i + d]
                count += 1
        if count:
            found.append((role, total / count, None))
    total = 0.0
    for i in rows:
        total += weights[i][0]
    found.append(("sink", total / len(rows), tokens[0]) if 0 in special else ("first", total / len(rows), None))
    done = set()
    for j in special:
        if j == 0 or tokens[j] in done:
            continue
        done.add(tokens[j])
        cols = [k for k in special if k != 0 and tokens[k] == tokens[j]]
        if not any(may(i, k) for i in rows for k in cols):
            continue
        total = 0.0
        for i in rows:
            for k in cols:
                total += weights[i][k]
        found.append(("sink", total / len(rows), tokens[j]))
    best = found[0]
    for f in found:
        if f[1] > best[1]:
            best = f
    if best[1] >= ROLE_THRESHOLD:
        return SimpleNamespace(role=best[0], share=best[1], token=best[2])
    peak = 0.0
    for i in rows:
        peak += max(weights[i])
    peak /= len(rows)
    return SimpleNamespace(role="focused" if peak >= ROLE_THRESHOLD else "broad", share=peak, token=None)


# ---- the lessons around the computation (attncore.lessons), by explicit loops ---------------------


def shuffle_order_loops(tokens):
    """attncore.lessons' rule, restated: reversed, else the first token moved to the end, whichever
    first changes the sentence."""
    S = len(tokens)
    for order in ([S - 1 - k for k in range(S)], [*range(1, S), 0]):
        if [tokens[k] for k in order] != list(tokens):
            return order
    return None


def _positional_loops(S, d):
    """Sinusoidal positional encoding, entry by entry (Vaswani et al. 2017, 3.5)."""
    return [[math.sin(p / 10000 ** (c / d)) if c % 2 == 0 else math.cos(p / 10000 ** ((c - 1) / d)) for c in range(d)]
            for p in range(S)]


def shuffled_loops(result, i):
    """The toy sentence in the shuffled order, attention by loops from the same embeddings and weights
    (positional encoding for the new positions and the causal mask when the result has them): the
    followed token's new position, the shuffled tokens and its row of weights."""
    return reordered_loops(result, i, shuffle_order_loops(result.tokens), result.positional)


def positioned_loops(result, i):
    """attncore.lessons.positioned by loops: token i's row of weights in the sentence and in its
    shuffled order, both with sinusoidal positional encoding added for their positions (whatever the
    result has): `sentence` and `shuffled`, each in its own order."""
    from types import SimpleNamespace

    S = result.n_tokens
    return SimpleNamespace(sentence=reordered_loops(result, i, list(range(S)), True).weights,
                           shuffled=reordered_loops(result, i, shuffle_order_loops(result.tokens), True).weights)


def reordered_loops(result, i, order, positional):
    """The toy sentence's tokens in `order`, attention by loops from the same embeddings and weights
    (positional encoding for the new positions when `positional`, the causal mask when the result
    has it): token i's new position, the reordered tokens and its row of weights."""
    from types import SimpleNamespace

    S, d = result.n_tokens, result.d_model
    E = result.embeddings.tolist()
    pe = _positional_loops(S, d) if positional else [[0.0] * d for _ in range(S)]
    X = [[E[order[k]][c] + pe[k][c] for c in range(d)] for k in range(S)]

    def project(W, b):
        W, width = W.tolist(), W.shape[1]
        bias = [0.0] * width if b is None else b.tolist()
        return [[sum(X[k][m] * W[m][c] for m in range(d)) + bias[c] for c in range(width)] for k in range(S)]

    Q, K = project(result.W_Q, result.b_Q), project(result.W_K, result.b_K)
    focus = order.index(i)
    visible = [j for j in range(S) if not result.causal or j <= focus]
    x = {j: sum(q * k for q, k in zip(Q[focus], K[j])) / math.sqrt(result.d_k) for j in visible}
    top = max(x.values())
    e = {j: math.exp(x[j] - top) for j in visible}
    total = sum(e.values())
    return SimpleNamespace(order=order, focus=focus, tokens=[result.tokens[k] for k in order],
                           weights=[e[j] / total if j in e else 0.0 for j in range(S)])


def attended_loops(heads, i):
    """Token i's attention output: each head's z by loops (its worked weights times its V), joined,
    times W_O, plus b_O."""
    concat = []
    for head in heads.heads:
        weights, V = worked(head, "softmax_row", i).weights, _rows(head)["V"]
        concat += [sum(weights[j] * V[j][c] for j in range(head.n_tokens)) for c in range(head.d_v)]
    W_O = heads.W_O.tolist()
    b_O = [0.0] * len(W_O[0]) if heads.b_O is None else heads.b_O.tolist()
    return [sum(concat[m] * W_O[m][c] for m in range(len(concat))) + b_O[c] for c in range(len(W_O[0]))]


def stream_loops(heads):
    """The vectors entering the heads' layer: the heads' X, except for a pre-norm GPT-2, whose heads
    see the input after a layer norm: then the tiny test GPT-2's forward pass by loops from its raw
    tensors (`gpt2_stream_loops`)."""
    first = heads.heads[0]
    if not first.norm_first:
        return first.X.tolist()
    from model_reference import TINY

    return gpt2_stream_loops(TINY[first.model], first.sentence, first.layer)


def _layer_norm_loops(row, gain, bias, eps):
    mean = sum(row) / len(row)
    var = sum((v - mean) ** 2 for v in row) / len(row)
    return [(v - mean) / math.sqrt(var + eps) * g + b for v, g, b in zip(row, gain, bias)]


def _dense_loops(rows, W, b):
    """rows (S, in) times Conv1D's W (in, out) plus b."""
    return [[sum(r[m] * W[m][c] for m in range(len(r))) + b[c] for c in range(len(b))] for r in rows]


_STREAMS: dict = {}


def gpt2_loops(folder):
    """A GPT-2 checkpoint folder's config, raw tensors (as nested lists, "transformer." dropped) and
    tokenizer, read without attncore.model."""
    import json

    from tokenizers import Tokenizer

    from attncore.checkpoint import read_torch_bin

    config = json.loads((folder / "config.json").read_text())
    w = {k.removeprefix("transformer."): v.astype(float).tolist() for k, v in read_torch_bin(folder / "pytorch_model.bin").items()}
    return config, w, Tokenizer.from_file(str(folder / "tokenizer.json"))


def gpt2_attended_loops(config, w, x, n):
    """Layer n's attention output for the layer's input rows x: c_proj(concat_h(A_h V_h)) + its bias,
    the heads causal, on ln_1(x); c_attn's columns Q | K | V (Conv1D's (in, out) layout)."""
    d, H, eps = config["n_embd"], config["n_head"], config["layer_norm_epsilon"]
    dh, S, p = d // H, len(x), f"h.{n}."
    h = [_layer_norm_loops(row, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps) for row in x]
    qkv = _dense_loops(h, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"])
    context = [[0.0] * d for _ in range(S)]
    for a in range(H):
        for i in range(S):
            scores = [sum(qkv[i][a * dh + c] * qkv[j][d + a * dh + c] for c in range(dh)) / math.sqrt(dh)
                      for j in range(i + 1)]
            top = max(scores)
            e = [math.exp(v - top) for v in scores]
            for c in range(dh):
                context[i][a * dh + c] = sum(e[j] / sum(e) * qkv[j][2 * d + a * dh + c] for j in range(i + 1))
    return _dense_loops(context, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"])


def gpt2_stream_loops(folder, sentence, layer):
    """X_layer of a GPT-2 checkpoint folder, by explicit loops from its raw tensors (transformers'
    GPT2Model): wte[ids] + wpe, then each layer before: y = x + attention (`gpt2_attended_loops`),
    x = y + mlp(ln_2(y)) with the tanh GELU. The ids from the folder's tokenizer.json."""
    key = (str(folder), sentence, layer)
    if key in _STREAMS:
        return _STREAMS[key]
    config, w, tokenizer = gpt2_loops(folder)
    d, eps = config["n_embd"], config["layer_norm_epsilon"]
    ids = tokenizer.encode(sentence).ids
    S = len(ids)
    x = [[w["wte.weight"][t][c] + w["wpe.weight"][p][c] for c in range(d)] for p, t in enumerate(ids)]
    gelu = lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    for n in range(layer):
        p = f"h.{n}."
        attended = gpt2_attended_loops(config, w, x, n)
        y = [[x[i][c] + attended[i][c] for c in range(d)] for i in range(S)]
        m = [_layer_norm_loops(row, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps) for row in y]
        f = [[gelu(v) for v in row] for row in _dense_loops(m, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"])]
        f = _dense_loops(f, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
        x = [[y[i][c] + f[i][c] for c in range(d)] for i in range(S)]
    _STREAMS[key] = x
    return x


def tenths(w: float) -> int:
    """A weight in tenths of a percent as the video shows it (pct: "58.8%" -> 588)."""
    from attncore import pct

    return round(float(pct(w).rstrip("%").replace("\u2212", "-")) * 10)


def rest_share_loops(weights, runs, keys):
    """The rule of scenes' elided shares, by hand: the runs (the hidden tokens one of them) take the rest of
    the row, 1000 tenths of a percent less those of the tokens drawn; each run starts at its own share's floor,
    then a tenth at a time goes to the run furthest below its own share (the first on a tie), or, when there
    are too many, comes back from the one furthest above it that has any. Below zero, each keeps its own."""
    left = [j for run in runs for j in run]
    rest = 1000
    for j in range(len(weights)):
        if j not in left:
            rest -= tenths(weights[j])
    own = []
    for run in runs:
        total = 0.0
        for j in run:
            total += weights[j]
        own.append(1000 * total)
    if rest < 0:
        given = [tenths(v / 1000) for v in own]
    else:
        given = [math.floor(v) for v in own]
        while sum(given) < rest:
            best = 0
            for n in range(len(runs)):
                if own[n] - given[n] > own[best] - given[best]:
                    best = n
            given[best] += 1
        while sum(given) > rest:
            best = None
            for n in range(len(runs)):
                if given[n] > 0 and (best is None or own[n] - given[n] < own[best] - given[best]):
                    best = n
            given[best] -= 1
    chosen = set(keys)
    return sum(g for run, g in zip(runs, given) if set(run) <= chosen) / 1000
