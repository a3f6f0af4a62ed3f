"""The blocks the handout (handout.py, Markdown) and the page to explore (explore.py, HTML) share: a
lecture as a Doc of headings, paragraphs and tables, built from the view (`build`); each block as HTML.

What the handout shows: the sentence and its tokens,
every matrix as a labelled table (long ones elided as on screen), and, worked out step by step as
the video works them, one projection entry, the winning pair (the focus token's query with the key it
attends to most, term by term, its largest terms, and |q| |k| cos θ beside a low-weight rival) and
the focus row's softmax; with several heads, what each head measurably does (attncore.roles), grouped
by the key/value head they share under grouped-query attention, with the KV cache's bytes per token that
the sharing saves (attncore.multihead.kv_cache_size); with a contrast sentence (--contrast), the focus
row in both sentences; after the toy numbers, as the video ends, why their rows mean nothing about language
and a trained head's row for the same idea (attncore.lessons.trained). In the video's language. For rotary positions (RoPE), Q and K as X·W (+ b)
before the rotation, then the rotated ones the scores use.

Every number is attncore's, formatted with `fmt`/`pct` as on screen; nothing is computed here
(the worked steps come from `attncore.steps`, the roles from `attncore.roles`, the contrast from
`attncore.pick`). No video is rendered: it takes a second or two.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from attncore import fmt, head_role, lessons, pct, steps
from attncore.formatting import sig
from attncore.model import MODELS
from attncore.pick import moved, moved_most
from attncore.roles import THRESHOLD
from attncore.tables import Table, cells, elided_runs, matrix, plan_axis, table_html

from ..arithmetic import adds_up, divides_out, gives, sign, value
from ..context import Ctx
from ..elision import run_share, runs_line
from ..layout import DIM_SLOTS, Layout
from ..parts.dot_product import top_count
from ..view import View


@dataclass(frozen=True)
class Doc:
    """The handout as blocks: ("h1" | "h2" | "p" | "code", text) or a Table."""

    language: str
    title: str
    blocks: list


def worked(dot: steps.DotProduct, slots, a_name: str, b_name: str, bias_name: str = "") -> str:
    """a · b = a_0 × b_0 + a_1 × b_1 + …[Σ s] (+ bias) = total, each term from attncore.steps; an elided run
    of terms as its sum ("…[Σ 3.21]"), and "≈" before the total unless the products and sums as shown give it
    as shown (scenes.arithmetic)."""
    runs = iter(elided_runs(len(dot.terms), slots))
    terms, exact = [], Decimal(0)
    for m in slots:
        if m is None:
            run = fmt(float(np.asarray(dot.terms)[list(next(runs))].sum()))
            terms.append(f"…[Σ {run}]")
            exact += value(run)
        else:
            terms.append(f"{fmt(dot.a[m])} × {fmt(dot.b[m])}")
            exact += value(fmt(dot.a[m])) * value(fmt(dot.b[m]))
    bias = f" + {fmt(dot.bias)} ({bias_name})" if bias_name else ""
    exact += value(fmt(dot.bias)) if bias_name else 0
    return f"{a_name} · {b_name} = " + " + ".join(terms) + bias + f" {sign(gives(exact, fmt(dot.total)))} {fmt(dot.total)}"


def context(view: View) -> Ctx:
    """What the handout reads of a view: the followed head, the focus, every head of the layer, the
    contrast sentence's followed head and why the head was chosen."""
    return Ctx(view.result, view.focus, language=view.language, heads=view.heads, hidden=view.hidden, keep=view.keep,
               contrast=view.contrast_result, pick=view.pick)


def build(view: View) -> Doc:
    ctx = context(view)
    r, s = ctx.result, ctx.s
    i, tok = ctx.focus, ctx.token(ctx.focus)
    blocks = intro_blocks(ctx)
    blocks += [("h2", s("handout.tokens", n=r.n_tokens)),
               ("p", " | ".join(f"{k}: {t}" for k, t in enumerate(r.tokens))),
               ("p", s("handout.focus", token=tok, index=i)),
               ("p", s("handout.sizes", d_model=r.d_model, d_k=r.d_k, d_v=r.d_v, scale=fmt(r.scale))),
               ("h2", s("handout.matrices")), ("p", s("handout.elided"))]
    blocks += matrix_blocks(ctx)
    blocks.append(("h2", s("handout.worked")))
    blocks += worked_blocks(ctx)
    blocks += heads_blocks(ctx)
    blocks += contrast_blocks(ctx)
    blocks += trained_blocks(ctx) if "trained" in view.stages else []
    return Doc(ctx.language, s("script.title", sentence=ctx.sentence()), blocks)


def intro_blocks(ctx: Ctx) -> list:
    """What the handout is, and where a model's numbers come from."""
    r, s = ctx.result, ctx.s
    blocks: list = [("p", s("handout.intro"))]
    if r.source is not None:
        blocks.append(("p", s("handout.source", source=s("title.model", model=r.model, layer=r.layer, head=r.head))))
    if r.quantization is not None:  # a quantized GGUF file: the numbers are that file's (attncore.quantization)
        key, params = r.quantization.words()  # as the title says it
        blocks.append(("p", s("handout." + key, **params)))
    return blocks


def matrix_blocks(ctx: Ctx) -> list:
    """Every matrix of the head as a table, elided as on screen."""
    lay, r, s = Layout(ctx), ctx.result, ctx.s
    token = lambda k: r.tokens[k]
    dim = str  # dimensions are numbered from 0, as in numpy
    rows = lay.rows
    blocks = [matrix(s("handout.X", s=r.n_tokens, d=r.d_model), r.X, rows, lay.proj_dims(r.d_model), token, dim)]
    for which in "QKV":
        W = getattr(r, f"W_{which}")
        blocks.append(matrix(s("handout.W", w=which, r=W.shape[0], c=W.shape[1]), W, lay.proj_dims(W.shape[0]),
                             lay.proj_dims(W.shape[1]), dim, dim))
        b = getattr(r, f"b_{which}")
        if b is not None:
            blocks.append(matrix(s("handout.b", w=which, c=b.shape[0]), b[None, :], [0], lay.proj_dims(b.shape[0]),
                                 lambda _: f"b_{which}", dim))
    made = {"Q": r.Q, "K": r.K, "V": r.V} if r.rope is None else {"Q": r.rope.Q_raw, "K": r.rope.K_raw, "V": r.V}
    for which, M in made.items():  # X·W (+ b): for RoPE, before the rotation
        bias = "" if getattr(r, f"b_{which}") is None else f" + b_{which}"
        blocks.append(matrix(s(f"handout.{which}", s=M.shape[0], d=M.shape[1], bias=bias), M, rows,
                             lay.qkv_dims(M.shape[1]), token, dim))
    if r.rope is not None:  # what the scores use: each row turned by its position
        theta = r.rope.theta  # as the rope stage writes it
        blocks.append(("p", s("handout.rope", theta=str(int(theta)) if float(theta).is_integer() else sig(theta),
                              half=r.d_k // 2)))
        for which in "QK":
            M = getattr(r, which)
            blocks.append(matrix(s(f"handout.rope_{which}", s=M.shape[0], d=M.shape[1]), M, rows,
                                 lay.qkv_dims(M.shape[1]), token, dim))
    cols = lay.token_cols
    blocks.append(matrix(s("handout.scores", s=r.n_tokens), r.scores, rows, cols, token, token))
    if r.causal:
        blocks.append(("p", s("handout.masked")))
    blocks.append(matrix(s("handout.weights", s=r.n_tokens), r.weights, rows, cols, token, token, show=pct))
    blocks.append(matrix(s("handout.Z", s=r.n_tokens, d=r.d_v), r.output, rows, lay.qkv_dims(r.d_v), token, dim))
    return blocks


def worked_blocks(ctx: Ctx) -> list:
    """Worked by hand for the focus token, as the video works it: Q[i, j], the winning pair
    (`pair_blocks`), its row's softmax, and where its attention goes most."""
    lay, r, s = Layout(ctx), ctx.result, ctx.s
    i, tok, hidden = ctx.focus, ctx.token(ctx.focus), ctx.hidden
    token = lambda k: r.tokens[k]
    cols = lay.token_cols
    j = next(c for c in lay.proj_dims(r.d_k) if c is not None)
    blocks: list = [("p", s("handout.projection", token=tok, j=j)),
                    ("code", worked(steps.projection_entry(r, "Q", i, j), lay.proj_dims(r.d_model),
                                    s("handout.x_row", token=tok), s("handout.w_col", j=j),
                                    "" if r.b_Q is None else f"b_Q[{j}]"))]
    blocks += pair_blocks(ctx)
    sm = steps.softmax_row(r, i)
    allowed = steps.allowed(r, i)
    x_show = lambda k: fmt(sm.x[k]) if allowed[k] else "−∞"
    exp_label = s("softmax.exp") if sm.shift == 0 else s("softmax.exp_shifted", shift=fmt(sm.shift))
    shown = [k for k in cols if k is not None and allowed[k]]  # each quotient as shown, or the row's label says "≈"
    scaled = all(divides_out(fmt(r.scores[i, k]), fmt(r.scale), fmt(sm.x[k])) for k in shown)
    shares = all(divides_out(fmt(sm.exps[k]), fmt(sm.total), pct(sm.weights[k])) for k in shown)
    steps_rows = [[s("handout.row_scores")] + cells(r.scores[i], cols, fmt),
                  [s("handout.row_scaled" if scaled else "handout.row_scaled_approx", scale=fmt(r.scale))]
                  + ["…" if k is None else x_show(k) for k in cols],
                  [exp_label] + cells(sm.exps, cols, fmt),
                  [s("handout.row_share" if shares else "handout.row_share_approx", total=fmt(sm.total))]
                  + cells(sm.weights, cols, pct)]
    blocks += [("p", s("handout.softmax", token=tok, scale=fmt(r.scale), total=fmt(sm.total))),
               Table(s("handout.softmax_table", token=tok), [""] + ["…" if k is None else token(k) for k in cols],
                     steps_rows)]
    if None in cols:  # what each "…" of the row holds
        blocks.append(("p", s("handout.elided_runs", token=tok, runs=runs_line(ctx, i, lay.runs(cols)))))
    if hidden:
        share = run_share(ctx, i, tuple(sorted(hidden)), lay.runs(cols))[0]  # with the row's runs: 100.0% in all
        blocks.append(("p", s("softmax.hidden", token=tok, share=pct(share))))
    top = steps.strongest(r, i)
    key = "softmax.top_self" if top == i else "softmax.top"
    blocks.append(("p", s(key, token=tok, top=token(top), pct=pct(r.weights[i, top]))))
    return blocks


def pair_blocks(ctx: Ctx) -> list:
    """The winning pair, as the video's scores stage works it: the focus token's query with the key
    it attends to most (`steps.winning_pair` among the drawn tokens), term by term with its largest
    terms kept in view; those terms and how many terms share the score's sign (`steps.top_terms`); then
    the score as |q| |k| cos θ (`steps.score_angle`) beside the key it attends to least."""
    r, s = ctx.result, ctx.s
    i, tok = ctx.focus, ctx.token(ctx.focus)
    j, low = steps.winning_pair(r, i, tuple(ctx.visible()))
    key = r.tokens[j]
    dot = steps.score_entry(r, i, j)
    n = top_count(r.d_k)
    top = steps.top_terms(r, i, j, n)
    blocks: list = [("p", s("handout.pair_self" if j == i else "handout.pair", token=tok, key=key)),
                    ("code", worked(dot, plan_axis(r.d_k, DIM_SLOTS, keep=top.dims), f"q_{tok}", f"k_{key}")),
                    ("p", s("handout.top_terms", n=n, dims=s("handout.dims_sep").join(str(c) for c in top.dims),
                            terms=" + ".join(fmt(t) for t in top.terms),
                            part=fmt(top.total) if adds_up([fmt(t) for t in top.terms], fmt(top.total))
                            else s("handout.about", part=fmt(top.total)), value=fmt(dot.total),
                            agree=top.agreeing, d=r.d_k))]
    keys = [j] if low is None else [j, low]
    angles = [steps.score_angle(r, i, k) for k in keys]
    rows = [[s(label)] + [fmt(getattr(a, name)) for a in angles]
            for label, name in (("scores.len_q", "q_norm"), ("scores.len_k", "k_norm"), ("scores.cos", "cosine"),
                                ("scores.dot_row", "total"))]
    blocks.append(Table(s("scores.angle"), [s("scores.q", token=tok)] + [s("scores.k", token=r.tokens[k]) for k in keys],
                        rows))
    if low is not None:
        blocks.append(("p", s("handout.rival", key=r.tokens[low], cos=fmt(angles[1].cosine), value=fmt(angles[1].total))))
    return blocks


def head_name(ctx: Ctx, n: int) -> str:
    """Head n of the layer as the video names it ("head 4")."""
    h = ctx.heads.heads[n]
    return ctx.s("heads.name", head=h.head if h.head is not None else n)


def role_words(ctx: Ctx, role) -> str:
    """A head's role as the heads stage labels it ("previous token", "[CLS] sink")."""
    return ctx.s(f"heads.role.{role.role}", token=role.token or "")


def heads_blocks(ctx: Ctx) -> list:
    """With several heads: what each head of the layer measurably does (attncore.roles.head_role,
    the heads stage's labels) with its share, and where the focus token looks most in it; under
    grouped-query attention one table per key/value head, of the query heads that share it, and the
    KV cache's bytes per token (`kv_cache_blocks`)."""
    m = ctx.heads
    if m is None or m.n_heads < 2:
        return []
    s, i, tok = ctx.s, ctx.focus, ctx.token(ctx.focus)

    def row(n: int) -> list[str]:
        h = m.heads[n]
        role, top = head_role(h), steps.strongest(h, i)
        name = head_name(ctx, n)
        return [s("handout.followed", head=name) if h.head == ctx.result.head else name, role_words(ctx, role),
                pct(role.share), f'{s("heads.top", top=h.tokens[top])} {pct(h.weights[i, top])}']

    header = [s("handout.head"), s("handout.role"), s("handout.share"), s("handout.looks", token=tok)]
    blocks: list = [("h2", s("handout.heads", n=m.n_heads)), ("p", s("handout.roles", threshold=pct(THRESHOLD)))]
    if not m.grouped_query:
        return blocks + [Table(s("handout.roles_table"), header, [row(n) for n in range(m.n_heads)])]
    blocks.append(sharing_block(ctx))
    blocks += [Table(s("handout.group_table", g=g), header, [row(n) for n in m.group_heads(g)])
               for g in range(m.kv_heads)]
    return blocks + kv_cache_blocks(ctx)


def sharing_block(ctx: Ctx) -> tuple[str, str]:
    """Under grouped-query attention: how many query heads share how many key/value heads, and what they share."""
    m = ctx.heads
    return "p", ctx.s("handout.groups", n=m.n_heads, kv=m.kv_heads, size=m.n_heads // m.kv_heads)


def kv_cache_blocks(ctx: Ctx) -> list:
    """Under grouped-query attention: the KV cache's bytes per token (attncore.multihead.KVCacheSize),
    its factors as a table, with the sharing and with one key/value head per query head, and the ratio."""
    kv = ctx.heads.kv_cache if ctx.heads is not None else None
    if kv is None:
        return []
    s = ctx.s
    header = ["", s("handout.cache_layers"), s("handout.cache_kv"), "d_head", s("handout.cache_kv2"),
              s("handout.cache_bytes", dtype=kv.dtype), s("handout.cache_total")]
    rows = [[s("handout.cache_gqa"), *(str(v) for v in (kv.layers, kv.kv_heads, kv.d_head, 2, kv.value_bytes, kv.per_token))],
            [s("handout.cache_mha"), *(str(v) for v in (kv.layers, kv.heads, kv.d_head, 2, kv.value_bytes, kv.per_token_mha))]]
    return [("p", s("handout.cache", dtype=kv.dtype, value_bytes=kv.value_bytes)),
            Table(s("handout.cache_table"), header, rows),
            ("p", s("handout.cache_ratio", full=kv.per_token_mha, total=kv.per_token, ratio=kv.ratio, n=kv.heads,
                    kv=kv.kv_heads))]


def contrast_rows(ctx: Ctx) -> list[int]:
    """The tokens of the contrast's table and picture: every drawn token the focus may attend to."""
    allowed = steps.allowed(ctx.result, ctx.focus)
    return [j for j in ctx.visible() if allowed[j]]


def changed_words(ctx: Ctx) -> tuple[str, str]:
    """The words the contrast sentence changes: as they were, as they are."""
    a, b = ctx.result.tokens, ctx.contrast.tokens
    changed = [j for j in range(len(a)) if a[j] != b[j]]
    return " ".join(a[j] for j in changed), " ".join(b[j] for j in changed)


def row_label(ctx: Ctx, j: int) -> str:
    """Token j of the pair: itself, or at a changed place both words ("tired / wide")."""
    a, b = ctx.result.tokens[j], ctx.contrast.tokens[j]
    return a if a == b else ctx.s("contrast.swap", was=a, now=b)


def contrast_lines(ctx: Ctx, followed: bool = True) -> list:
    """The token whose share moved most (attncore.pick.moved_most) and how far the whole row moved
    (attncore.pick.moved), said as the contrast stage says them; `followed`: this is the head the
    video follows (a search's choice is said)."""
    r, b, i, s = ctx.result, ctx.contrast, ctx.focus, ctx.s
    tok, key = ctx.token(i), moved_most(r, b, i)
    distance = pct(moved(r, b, i))
    chosen = followed and ctx.pick is not None and ctx.pick.searched > 1
    return [("p", s("say.contrast.most", key=r.tokens[key], before=pct(r.weights[i, key]), after=pct(b.weights[i, key]))),
            ("p", s("say.contrast.moved_most", token=tok, moved=distance, n=ctx.pick.searched) if chosen
             else s("say.contrast.moved", token=tok, moved=distance))]


def contrast_intro(ctx: Ctx) -> list:
    """The pair: both sentences, what changed, and (causal attention) why the row may not move."""
    s, tok = ctx.s, ctx.token(ctx.focus)
    was, now = changed_words(ctx)
    b = ctx.contrast
    other = b.sentence if b.sentence is not None else " ".join(b.tokens)
    blocks: list = [("h2", s("contrast.heading")), ("p", s("say.contrast.pair", was=was, now=now, token=tok)),
                    ("p", s("title.sentence", sentence=ctx.sentence())), ("p", s("title.sentence", sentence=other))]
    if ctx.result.causal:
        blocks.append(("p", s("say.contrast.causal", token=tok)))
    return blocks


def contrast_blocks(ctx: Ctx) -> list:
    """With --contrast: the focus token's row in both sentences, token by token (the contrast stage's
    percentages), the token that moved most and how far the row moved."""
    if ctx.contrast is None:
        return []
    r, b, i, s = ctx.result, ctx.contrast, ctx.focus, ctx.s
    was, now = changed_words(ctx)
    rows = [[row_label(ctx, j), pct(r.weights[i, j]), pct(b.weights[i, j])] for j in contrast_rows(ctx)]
    table = Table(s("handout.contrast_table", token=ctx.token(i)),
                  ["", s("contrast.side", word=was), s("contrast.side", word=now)], rows)
    return [*contrast_intro(ctx), table, *contrast_lines(ctx)]


def trained_blocks(ctx: Ctx) -> list:
    """The trained stage's words: the toy's weights were not learned (the seed's written by hand), so its row
    says nothing about language; a trained head's row for the same idea, every token's share, and the other
    rows' mean on its key; or that its model is not installed here."""
    r, i, s = ctx.result, ctx.focus, ctx.s
    top = steps.strongest(r, i)
    how = "hand" if lessons.hand_written(r) else "example"
    blocks: list = [("h2", s("trained.heading")),
                    ("p", s(f"say.trained.toy_{how}", token=r.tokens[i], share=pct(r.weights[i, top]),
                            top=s("trained.itself") if top == i else s("trained.quoted", token=r.tokens[top])))]
    key = lessons.example_for(ctx.language)
    found = lessons.trained(key)
    model = MODELS[lessons.EXAMPLES[key].model].title
    if found is None:
        return [*blocks, ("p", s("say.trained.missing", model=model))]
    t, look = found.result, found.look
    words = dict(model=model, layer=t.layer, head=t.head, token=t.tokens[found.focus], top=t.tokens[look.key])
    rows = [[token, pct(t.weights[found.focus, j])] for j, token in enumerate(t.tokens)]
    return [*blocks, ("p", s("say.trained.row", share=pct(look.share), **words)),
            Table(s("handout.trained_table", **words), ["", s("handout.trained_share", token=words["token"])], rows),
            ("p", s("say.trained." + ("own" if look.special else "shared"), token=words["token"], top=words["top"],
                    others=pct(look.others)))]


STYLE = """
body { margin: 2em auto; max-width: 60em;
       color: #111; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; }
@media print { body { margin: 0; max-width: none; } table, pre { page-break-inside: avoid; } }
"""


# as in the video: a Latin font first for English (the CJK font draws “ ” full width), CJK first for Chinese
FONTS = {"en": 'body { font-family: "Noto Sans", "Noto Sans CJK SC", sans-serif; }',
         "zh": 'body { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; }'}


def block_html(block) -> str:
    """One block of the handout as HTML."""
    if isinstance(block, Table):
        return table_html(block)
    kind, text = block
    tag = {"h1": "h1", "h2": "h2", "p": "p", "code": "pre"}[kind]
    return f"<{tag}>{html.escape(text)}</{tag}>"
