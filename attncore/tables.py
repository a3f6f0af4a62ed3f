"""Tables of numbers as a reader sees them, shared by the handout (scenes/handout.py), the
notebook view of a result (`AttentionResult._repr_html_`) and `python -m attncore`: long axes elided
as on screen, every cell formatted with `fmt`/`pct`. Token rows and key columns are elided by weight,
never by position (`plan_by_weight`, `story_plan`): the focus token, its three largest keys and every
key with 3% or more of its attention are always shown, and each elided run says how many tokens it
holds and their share of the focus's attention. Vector dimensions are elided by position (`plan_axis`).
Pure Python: no manim, so a notebook needs only attncore.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable, Sequence

from .formatting import fmt, pct
from .tokens import words

Slot = int | None  # an index shown, or None for an elided run ("…", "⋮")


def origin(r, h: dict, n_heads: int | None = None, layer_only: bool = False) -> list[str]:
    """Where a model head's numbers come from, as lines in the catalogue `h`'s language (attncore.strings):
    the model, its layer and head (its layer alone with `layer_only`), a GGUF file's quantization (the
    numbers are that file's) and, when the layer's `n_heads` query heads share fewer key/value heads, the
    K and V this head reads. None of it for toy numbers."""
    if r.model is None:
        return []
    lines = [h["source_layer" if layer_only else "source"].format(model=r.model, layer=r.layer, head=r.head)]
    if r.quantization is not None:
        key, params = r.quantization.words()
        lines.append(h[key].format(**params))
    if n_heads and r.kv_heads and r.kv_heads < n_heads:
        size = n_heads // r.kv_heads
        first = r.kv_group * size
        lines.append(h["kv_groups"].format(n=n_heads, kv=r.kv_heads, size=size) if layer_only else
                     h["kv_group"].format(group=r.kv_group, kv=r.kv_heads, first=first, last=first + size - 1))
    return lines


def plan_axis(n: int, max_slots: int, keep: Sequence[int] = (), skip: Sequence[int] = ()) -> list[Slot]:
    """Which of n indices to show in at most max_slots slots: all, or a head, the kept ones and the
    last, with None where a run is elided. Indices in `skip` are left out without an elision mark
    (hidden, not elided)."""
    shown = [i for i in range(n) if i not in set(skip)]
    if len(shown) <= max_slots:
        return shown
    m = len(shown)
    chosen = {m - 1, *(shown.index(k) for k in keep if k in shown)}

    def slots(idx: set[int]) -> list[Slot]:
        out: list[Slot] = []
        for i in sorted(idx):
            if (out[-1] if out else -1) != i - 1:
                out.append(None)
            out.append(i)
        return out

    for i in range(m):
        if len(slots(chosen | {i})) > max_slots:
            break
        chosen.add(i)
    return [None if p is None else shown[p] for p in slots(chosen)]


STORY_TOP = 3  # a row's largest keys, always shown with it
STORY_SHARE = 0.03  # and every key with at least this weight


def story_keys(r, i: int, extra: Sequence[int] = (), skip: Sequence[int] = ()) -> list[int]:
    """The keys that tell query token i's story, the most needed first: i itself, its three largest
    keys, the `extra` ones asked for (render.py --keep), then every other key with at least 3% of
    i's attention, the largest first. Keys in `skip` (hidden tokens) are never among them: the top
    three are the largest of the others. Every picture of row i keeps these (`plan_by_weight`)."""
    w = r.weights[i]
    skip = set(skip)
    order = sorted((j for j in range(len(w)) if j not in skip), key=lambda j: (-w[j], j))
    share = [j for j in order[STORY_TOP:] if w[j] >= STORY_SHARE]
    return list(dict.fromkeys([i, *order[:STORY_TOP], *(j for j in extra if j not in skip), *share]))


def _slots(chosen: set[int], m: int) -> list[Slot]:
    """Positions 0..m-1 in `chosen`, in order, with None for each run of those left out."""
    out: list[Slot] = []
    for p in sorted(chosen):
        if (out[-1] if out else -1) != p - 1:
            out.append(None)
        out.append(p)
    if not out or out[-1] != m - 1:
        out.append(None)
    return out


def plan_by_weight(n: int, max_slots: int, weights, keep: Sequence[int] = (), most: int | None = None,
                   skip: Sequence[int] = ()) -> list[Slot]:
    """Which of n tokens to show in at most `max_slots` slots, elided by weight, with None where a
    run is elided ("…", "⋮"; a slot of its own). `keep` lists the tokens that must be shown, the
    most needed first (`story_keys`); `weights` (n,) (the focus row's) orders the rest. Tokens in
    `skip` are left out without an elision mark (hidden, not elided).

    - Every token fits: all of them, nothing elided.
    - The kept ones fit in `max_slots`: they, then the rest one by one while the plan fits, the
      heaviest for the slots it takes first: a token that closes a gap takes no slot (it replaces
      the "…") and comes at once, one beside a shown token takes one, one on its own two (itself and
      a new "…"). So little weight is elided, in few runs: the kept tokens grow into phrases.
    - They do not fit: the picture grows to the slots they need, up to `most` (the room the picture
      has; default `max_slots`: it cannot grow). Past that, they are kept in `keep`'s order, each
      one that still fits in `most` slots (the first one, the focus, always), and the rest of them
      elided; with story_keys' order the focus and its top three come first, and they fit in any
      room of 9 slots or more. The plan is then filled by weight up to `most`.
    """
    skip = set(skip)
    shown = [j for j in range(n) if j not in skip]
    m = len(shown)
    if m <= max_slots:
        return shown
    most = max(max_slots, most or max_slots)
    where = {j: p for p, j in enumerate(shown)}
    chosen: set[int] = set()
    for p in (where[j] for j in dict.fromkeys(keep) if j in where):
        if not chosen or len(_slots(chosen | {p}, m)) <= most:
            chosen.add(p)
    room = max(max_slots, len(_slots(chosen, m)))
    while True:
        used = len(_slots(chosen, m))
        fits = {p: len(_slots(chosen | {p}, m)) - used for p in range(m) if p not in chosen}
        fits = {p: cost for p, cost in fits.items() if used + cost <= room}
        if not fits:
            break
        w = lambda p: float(weights[shown[p]])
        chosen.add(max(fits, key=lambda p: (fits[p] == 0, w(p) / max(fits[p], 1), w(p), -p)))
    return [None if p is None else shown[p] for p in _slots(chosen, m)]


def elided_runs(n: int, slots: Sequence[Slot], skip: Sequence[int] = ()) -> list[tuple[int, ...]]:
    """For each None of `slots` (a plan of n indices), in order, the indices it stands for: those
    between the indices shown either side of it, less the ones in `skip` (hidden, not elided)."""
    skip = set(skip)
    runs = []
    for k, s in enumerate(slots):
        if s is None:
            after = slots[k - 1] if k > 0 else None
            before = slots[k + 1] if k + 1 < len(slots) else None
            runs.append(tuple(j for j in range(n) if j not in skip and (after is None or j > after)
                              and (before is None or j < before)))
    return runs


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]  # the corner cell first
    rows: list[list[str]]  # each starts with its row label


def plus_bias(r, heading: str, n: str) -> str:
    """A heading naming W_n, with "+ b_n" when the result has that bias (a real model's head)."""
    return heading if getattr(r, f"b_{n}") is None else heading.replace(f"W_{n}", f"W_{n} + b_{n}")


def cells(values, slots, show) -> list[str]:
    return ["…" if s is None else show(values[s]) for s in slots]


def matrix(caption: str, M, rows, cols, row_label: Callable[[int], str], col_label: Callable[[int], str],
           show=fmt, *, row_runs: Sequence[str] = (), col_runs: Sequence[str] = (),
           run_cell: Callable[[int, int], str] | None = None) -> Table:
    """M's entries at rows x cols (None: an elided run, "⋮" or "…"). `row_runs` and `col_runs` label
    the elided runs of rows and columns, one label per None in order (default "⋮" and "…");
    `run_cell(i, n)` is row i's cell under the n-th elided column run (default "…")."""
    body = []
    row_labels, col_labels = iter(row_runs), iter(col_runs)
    runs = [n for n, j in enumerate(cols) if j is None]
    for i in rows:
        if i is None:
            body.append([next(row_labels, "⋮")] + ["⋮" if j is not None else "" for j in cols])
        else:
            body.append([row_label(i)] + ["…" if j is None and run_cell is None else run_cell(i, runs.index(n))
                                          if j is None else show(M[i][j]) for n, j in enumerate(cols)])
    return Table(caption, [""] + [next(col_labels, "…") if j is None else col_label(j) for j in cols], body)


def table_html(table: Table) -> str:
    """A Table as an HTML <table>: its caption, a header row, each row headed by its label."""
    e = html.escape
    out = [f"<table>\n<caption>{e(table.caption)}</caption>",
           "<tr>" + "".join(f"<th>{e(h)}</th>" for h in table.header) + "</tr>"]
    for row in table.rows:
        out.append(f"<tr><th>{e(row[0])}</th>" + "".join(f"<td>{e(c)}</td>" for c in row[1:]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


# a notebook cell's tables: token rows and key columns shown at most (40 is the video's longest
# sentence; more when the focus row's story needs them), and vector dimensions (a real model's 384
# are elided to their head and last)
NOTEBOOK_ROWS, NOTEBOOK_KEYS, NOTEBOOK_COLS = 40, 20, 8


def notebook_focus(r) -> int:
    """The token whose weights decide what a notebook's tables elide: the last word, neither a token the
    model's tokenizer added (r.specials) nor punctuation or symbols only (the last token when none is).
    It is the video's default focus without a causal mask (attncore.focus.default_focus; both read
    attncore.tokens.words); under a causal mask it is kept too, as the last word's row is the one that
    sees every key."""
    found = words(r.tokens, r.specials)
    return found[-1] if found else r.n_tokens - 1


def story_plan(heads: Sequence, focus: int, slots: int) -> list[Slot]:
    """Token rows or key columns in `slots` slots, elided by weight (`plan_by_weight`): the story of
    the focus's row (`story_keys`: the focus, its three largest keys, every key with 3% or more) in
    each of `heads` (one head, or every head of a layer) always, in as many slots as they need; the
    rest by their weight (for several heads, their mean weight), the heaviest first."""
    S = heads[0].n_tokens
    keep = list(dict.fromkeys(j for r in heads for j in story_keys(r, focus)))
    weights = [sum(float(r.weights[focus][j]) for r in heads) / len(heads) for j in range(S)]
    return plan_by_weight(S, slots, weights, keep, most=S)


def run_share(heads: Sequence, focus: int, keys: Sequence[int]) -> float:
    """The share of the focus's attention that the tokens `keys` take together (for several heads,
    the mean over the heads): what an elided run's label says."""
    return sum(float(r.weights[focus][j]) for r in heads for j in keys) / len(heads)


def run_labels(heads: Sequence, focus: int, slots: Sequence[Slot], mark: str, h: dict) -> list[str]:
    """The label of each elided run of a token plan, in order: `mark` ("⋮", "…"), how many tokens it
    holds and their share of the focus's attention ("⋮ 4 tokens, 3.1%"), in the catalogue `h`."""
    return [f"{mark} " + (h["run_one"] if len(keys) == 1 else h["run"]).format(n=len(keys), pct=pct(run_share(heads, focus, keys)))
            for keys in elided_runs(heads[0].n_tokens, slots)]


def elision_note(heads: Sequence, focus: int, h: dict, *plans: Sequence[Slot]) -> str | None:
    """One line saying how the token rows and key columns were elided, when any of `plans` elides."""
    if not any(None in plan for plan in plans):
        return None
    return h["elided" if len(heads) == 1 else "elided_heads"].format(token=heads[0].tokens[focus], index=focus)


def result_tables(r, focus: int | None = None) -> list[Table]:
    """An AttentionResult's matrices as tables, headed as `python -m attncore` heads them; long token
    axes elided by the weights of `focus` (default `notebook_focus`)."""
    from .strings import catalogue

    h = catalogue("en")
    S, token = r.n_tokens, list(r.tokens).__getitem__
    i = notebook_focus(r) if focus is None else focus
    rows, keys = story_plan([r], i, NOTEBOOK_ROWS), story_plan([r], i, NOTEBOOK_KEYS)
    row_runs, key_runs = run_labels([r], i, rows, "⋮", h), run_labels([r], i, keys, "…", h)
    key_sets = elided_runs(S, keys)
    share = lambda q, n: pct(sum(float(r.weights[q][j]) for j in key_sets[n]))  # row q's weight on the n-th run

    def dims(n: int, prefix: str):
        return plan_axis(n, NOTEBOOK_COLS), (lambda j: f"{prefix}{j + 1}")

    tables = []
    for name, M, heading, prefix in (("X", r.X, h["X"].format(s=S, d=r.d_model), "d"),
                                     ("Q", r.Q, h["Q"].format(s=S, d=r.d_k), "k"),
                                     ("K", r.K, h["K"].format(s=S, d=r.d_k), "k"),
                                     ("V", r.V, h["V"].format(s=S, d=r.d_v), "v")):
        cols, label = dims(M.shape[1], prefix)
        tables.append(matrix(plus_bias(r, heading, name) if name != "X" else heading, M, rows, cols, token, label,
                             row_runs=row_runs))
    tables.append(matrix(h["scores"].format(s=S), r.scores, rows, keys, token, token, row_runs=row_runs,
                         col_runs=key_runs))
    tables.append(matrix(h["weights"] + (h["causal"] if r.causal else ""), r.weights, rows, keys, token, token, pct,
                         row_runs=row_runs, col_runs=key_runs, run_cell=share))
    cols, label = dims(r.d_v, "v")
    tables.append(matrix(h["output"].format(s=S, d=r.d_v), r.output, rows, cols, token, label, row_runs=row_runs))
    return tables


NOTEBOOK_STYLE = ("<style>.attncore table{border-collapse:collapse;margin:.3em 0 .9em}"
                  ".attncore caption{text-align:left;font-weight:bold}"
                  ".attncore th,.attncore td{border:1px solid #ccc;padding:.1em .5em;text-align:right;"
                  "font-variant-numeric:tabular-nums}</style>")


def result_html(r) -> str:
    """A result for a notebook cell: where it comes from, the sentence, the shapes, the tables."""
    from .strings import catalogue

    e = html.escape
    shapes = (f"X {r.n_tokens} × {r.d_model}, Q/K {r.n_tokens} × {r.d_k}, V {r.n_tokens} × {r.d_v}, "
              f"scores {r.n_tokens} × {r.n_tokens}, √d_k = {fmt(r.scale)}" + (", causal" if r.causal else ""))
    head = [f"<p><b>{e(r.source)}</b></p>"] if r.source else []
    if r.sentence is not None:
        head.append(f"<p>“{e(r.sentence)}”: {r.n_tokens} tokens</p>")
    head.append(f"<p>{e(shapes)}</p>")
    i = notebook_focus(r)
    note = elision_note([r], i, catalogue("en"), story_plan([r], i, NOTEBOOK_ROWS), story_plan([r], i, NOTEBOOK_KEYS))
    if note:
        head.append(f"<p>{e(note)}</p>")
    return (f'<div class="attncore">{NOTEBOOK_STYLE}' + "\n".join(head)
            + "\n".join(table_html(t) for t in result_tables(r)) + "</div>")


def multihead_html(m) -> str:
    """A MultiHeadResult for a notebook cell: each head's weights, W_O, and the output."""
    from .strings import catalogue

    h, e = catalogue("en"), html.escape
    first = m.heads[0]
    S, token = len(m.tokens), list(m.tokens).__getitem__
    i = notebook_focus(first)
    dims = plan_axis(m.d_model, NOTEBOOK_COLS)
    dim = lambda j: f"d{j + 1}"
    tables = []
    for r in m.heads:  # each head's weights elided by its own focus row; its runs' shares of that row
        rows, keys = story_plan([r], i, NOTEBOOK_ROWS), story_plan([r], i, NOTEBOOK_KEYS)
        key_sets = elided_runs(S, keys)
        share = lambda q, n, r=r, key_sets=key_sets: pct(sum(float(r.weights[q][j]) for j in key_sets[n]))
        tables.append(matrix(h["head"].format(h=r.head, n=m.n_heads, d=m.d_head), r.weights, rows, keys, token, token,
                             pct, row_runs=run_labels([r], i, rows, "⋮", h), col_runs=run_labels([r], i, keys, "…", h),
                             run_cell=share))
    tables.append(matrix(h["W_O"].format(r=m.d_model, c=m.d_model), m.W_O, plan_axis(m.d_model, NOTEBOOK_COLS), dims,
                         dim, dim))
    rows = story_plan(m.heads, i, NOTEBOOK_ROWS)
    tables.append(matrix(h["multi" if m.b_O is None else "multi_bias"].format(s=S, d=m.d_model), m.output, rows, dims,
                         token, dim, row_runs=run_labels(m.heads, i, rows, "⋮", h)))
    head = f"<p><b>{e(first.model)} layer {first.layer}</b></p>" if first.model else ""
    sentence = f"<p>“{e(first.sentence)}”: {S} tokens, {m.n_heads} heads of {m.d_head}</p>" if first.sentence else ""
    plans = [rows, *(story_plan([r], i, n) for r in m.heads for n in (NOTEBOOK_ROWS, NOTEBOOK_KEYS))]
    note = elision_note(m.heads, i, h, *plans)
    note = f"<p>{e(note)}</p>" if note else ""
    return (f'<div class="attncore">{NOTEBOOK_STYLE}{head}{sentence}{note}' + "\n".join(table_html(t) for t in tables)
            + "</div>")
