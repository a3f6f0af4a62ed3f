"""python -m attncore "I have a cat": print every stage as a table labelled by token. A long table
leaves tokens out by the weights of the focus token (--focus; default the last word), as the video
does: its three largest keys and every key with 3% or more are always shown, and each run of tokens
left out says how many and their share of the focus's attention."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import unicodedata
from functools import partial

from . import InputError, resolve_focus, run, tables
from .attention import AttentionResult
from .formatting import fmt, pct
from .multihead import MultiHeadResult
from .strings import LANGUAGES, catalogue


def _width(s: str) -> int:
    """Terminal columns of `s`: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, n: int) -> str:
    return " " * (n - _width(s)) + s


MAX_COLUMNS = 8  # a vector table wider than this (a real model's 384 dimensions) shows 6, "…", the last
MAX_ROWS = 12  # a vector table taller than this: its dimension rows show 10, "⋮", the last; its token rows are
# elided by weight (tables.story_plan), the focus row's story kept in as many rows as it needs


def _elide(items: list, most: int, mark) -> list:
    """`items` in at most `most` places, as the handout and the screen elide dimensions (tables.plan_axis)."""
    return [mark if slot is None else items[slot] for slot in tables.plan_axis(len(items), most)]


def table(title: str, matrix, row_labels, col_labels, cell=fmt, elide: bool = False, rows=None, runs=()) -> str:
    """A right-aligned text table with a title line. With `elide`, long vectors are shortened:
    more than MAX_COLUMNS columns keep their head and their last entry; rows too past MAX_ROWS, unless
    `rows` plans them (token rows elided by weight: tables.story_plan, None for an elided run) and
    `runs` labels each elided run ("⋮ 4 tokens, 3.1%")."""
    cells = [[cell(v) for v in row] for row in matrix]
    row_labels, col_labels = list(row_labels), list(col_labels)
    if elide:
        cells = [_elide(row, MAX_COLUMNS, "…") for row in cells]
        col_labels = _elide(col_labels, MAX_COLUMNS, "…")
        if rows is None:
            rows, runs = tables.plan_axis(len(cells), MAX_ROWS), ()
        labels = iter(runs)
        cells = [["⋮"] * len(col_labels) if slot is None else cells[slot] for slot in rows]
        row_labels = [next(labels, "⋮") if slot is None else row_labels[slot] for slot in rows]
    label_w = max(_width(r) for r in row_labels)
    widths = [max(_width(c), *(_width(row[j]) for row in cells)) for j, c in enumerate(col_labels)]
    lines = [title, " " * label_w + "  " + "  ".join(_pad(c, w) for c, w in zip(col_labels, widths))]
    for label, row in zip(row_labels, cells):
        lines.append(_pad(label, label_w) + "  " + "  ".join(_pad(c, w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def wrapped(line: str, columns: int = 100) -> str:
    """A long line in lines of at most `columns` terminal columns: between words, or, in a line with
    CJK characters (two columns each, no spaces between words), between any two characters."""
    if not any(_width(c) == 2 for c in line):
        return "\n".join(textwrap.wrap(line, columns))
    lines = [""]
    for c in line:
        if _width(lines[-1] + c) > columns:
            lines.append("")
        lines[-1] += c
    return "\n".join(lines)


def token_rows(heads, focus: int | None, language: str) -> dict:
    """How a vector table's token rows are elided: by the weights of `focus` (default: the last word,
    tables.notebook_focus, as in a notebook) in `heads` (one head or every head of the layer), each run labelled; and
    the line that says so, when anything is left out."""
    h = catalogue(language)
    i = tables.notebook_focus(heads[0]) if focus is None else focus
    rows = tables.story_plan(heads, i, MAX_ROWS)
    note = tables.elision_note(heads, i, h, rows)
    return {"rows": rows, "runs": tables.run_labels(heads, i, rows, "⋮", h), "note": note and wrapped(note)}


def report(r: AttentionResult, language: str = "en", focus: int | None = None, n_heads: int | None = None) -> str:
    """Every stage of `r`, as the tables a student reads top to bottom, headed in `language`; long
    token axes elided by the weights of `focus` (default: the last word, tables.notebook_focus). A model's
    head says where it comes from first (`tables.origin`; `n_heads`: its layer's query heads)."""
    h = catalogue(language)
    plus_bias = partial(tables.plus_bias, r)  # a real model's head: Q = X W_Q + b_Q
    toks = list(r.tokens)
    dims = lambda n, p: [f"{p}{i + 1}" for i in range(n)]
    S, dm, dk, dv = r.n_tokens, r.d_model, r.d_k, r.d_v
    plan = token_rows([r], focus, language)
    note = plan.pop("note")
    parts = [f"{h['tokens']} ({S}): " + " | ".join(toks) + (f"\n{note}" if note else "")]
    parts[0] = "\n".join([*map(wrapped, tables.origin(r, h, n_heads)), parts[0]])
    if r.positional:
        parts.append(table(h["embeddings"].format(s=S, d=dm), r.embeddings, toks, dims(dm, "d"), elide=True, **plan))
        parts.append(table(h["positional"].format(s=S, d=dm), r.positional_encoding, toks, dims(dm, "d"), elide=True,
                           **plan))
    parts += [
        table(h["X"].format(s=S, d=dm), r.X, toks, dims(dm, "d"), elide=True, **plan),
        table(h["W"].format(name="W_Q", r=dm, c=dk), r.W_Q, dims(dm, "d"), dims(dk, "k"), elide=True),
        table(h["W"].format(name="W_K", r=dm, c=dk), r.W_K, dims(dm, "d"), dims(dk, "k"), elide=True),
        table(h["W"].format(name="W_V", r=dm, c=dv), r.W_V, dims(dm, "d"), dims(dv, "v"), elide=True),
        *(table(h["bias"].format(name=f"b_{n}", c=len(b)), [b], [f"b_{n}"], dims(len(b), p), elide=True)
          for n, b, p in (("Q", r.b_Q, "k"), ("K", r.b_K, "k"), ("V", r.b_V, "v")) if b is not None),
        # with rotary positions, X W (+ b) is Q and K before RoPE turns them (r.rope), the turned ones after
        table(plus_bias(h["Q"], "Q").format(s=S, d=dk), r.Q if r.rope is None else r.rope.Q_raw, toks, dims(dk, "k"),
              elide=True, **plan),
        table(plus_bias(h["K"], "K").format(s=S, d=dk), r.K if r.rope is None else r.rope.K_raw, toks, dims(dk, "k"),
              elide=True, **plan),
        *(table(h["rope"].format(name=n, half=dk // 2, theta=f"{r.rope.theta:.0f}" if r.rope.theta.is_integer() else f"{r.rope.theta:g}", s=S, d=dk), M, toks, dims(dk, "k"),
                elide=True, **plan) for n, M in (("Q", r.Q), ("K", r.K)) if r.rope is not None),
        table(plus_bias(h["V"], "V").format(s=S, d=dv), r.V, toks, dims(dv, "v"), elide=True, **plan),
        table(h["scores"].format(s=S), r.scores, toks, toks),
        table(h["scaled"].format(dk=dk, scale=f"{r.scale:.3f}"), r.scaled, toks, toks),
    ]
    weights = table(
        h["weights"] + (h["causal"] if r.causal else ""),
        [[*row, row.sum()] for row in r.weights],
        toks,
        [*toks, h["sum"]],
        cell=pct,
    )
    parts += [weights, table(h["output"].format(s=S, d=dv), r.output, toks, dims(dv, "v"), elide=True, **plan)]
    return "\n\n".join(parts)


def report_heads(m: MultiHeadResult, language: str = "en", focus: int | None = None) -> str:
    """A multi-head result: each head's attention weights, W_O, the concatenation and the output; the
    token rows of the last two elided by the weights of `focus` in every head (runs: the mean share)."""
    h = catalogue(language)
    toks, S, d = list(m.tokens), len(m.tokens), m.d_model
    dims = [f"d{i + 1}" for i in range(d)]
    first = m.heads[0]
    plan = token_rows(m.heads, focus, language)
    note = plan.pop("note")
    parts = ["\n".join([*map(wrapped, tables.origin(first, h, m.n_heads, layer_only=True)),
                         f"{h['tokens']} ({S}): " + " | ".join(toks)])
             + (f"\n{note}" if note else "")]
    parts += [table(h["head"].format(h=r.head, n=m.n_heads, d=m.d_head), r.weights, toks, toks, cell=pct) for r in m.heads]
    parts += [
        table(h["W_O"].format(r=d, c=d), m.W_O, dims, dims, elide=True),
        table(h["concat"].format(last=m.n_heads - 1, s=S, d=d), m.concat, toks, dims, elide=True, **plan),
        table(h["multi" if m.b_O is None else "multi_bias"].format(s=S, d=d), m.output, toks, dims, elide=True, **plan),
    ]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attncore", description=__doc__)
    parser.add_argument("sentence", nargs="?", default=None, help='default: "I have a cat"')
    parser.add_argument("--d-model", type=int, default=None)
    parser.add_argument("--d-k", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--positional", action="store_true")
    parser.add_argument("--causal", action="store_true")
    parser.add_argument("--weights", metavar="FILE", help="custom numbers, JSON or .npz")
    parser.add_argument("--json", action="store_true", help="print the full export as JSON instead")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the table headings")
    parser.add_argument("--focus", default=None, metavar="TOKEN",
                        help="the token whose weights decide which tokens a long table leaves out: its text or index "
                             "(0-based; -1 = last), as render.py's --focus. Default: the last word, whose row sees every "
                             "token")
    parser.add_argument("--model", default=None, metavar="NAME|DIR",
                        help="a pretrained model's head instead of the toy numbers: minilm (all-MiniLM-L6-v2), "
                             "m3e-small (Chinese), the decoders smollm2-135m and qwen2.5-coder-0.5b (4-bit GGUF), a "
                             "BERT, GPT-2, llama or Qwen2 folder, a GGUF file, or a name in the local Hugging Face cache")
    parser.add_argument("--layer", type=int, default=0, help="with --model: the layer, from 0")
    parser.add_argument("--head", type=int, default=0, help="with --model: the head, from 0")
    parser.add_argument("--heads", type=int, default=None,
                        help="multi-head attention: N heads (toy: d_model divisible by N; --model: all the heads of --layer)")
    args = parser.parse_args(argv)
    sentence = args.sentence
    if sentence is None and args.weights is None:
        sentence = "I have a cat"
    try:
        r = run(
            sentence,
            d_model=args.d_model,
            d_k=args.d_k,
            seed=args.seed,
            positional=args.positional,
            causal=args.causal,
            weights=args.weights,
            model=args.model,
            layer=args.layer,
            head=args.head,
            heads=args.heads,
        )
        several = isinstance(r, MultiHeadResult)
        focus = None if args.focus is None else resolve_focus(r.heads[0] if several else r, args.focus)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        text = r.to_json()
    elif several:
        text = report_heads(r, args.lang, focus)
    else:
        n_heads = None
        if r.model is not None:
            from .model import load_model

            n_heads = load_model(args.model).n_heads  # loaded already: whether the head shares its K and V
        text = report(r, args.lang, focus, n_heads)
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `python -m attncore --json | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 1  # as render.py (click) and Python's own recipe: the output was cut
    return 0


if __name__ == "__main__":
    sys.exit(main())
