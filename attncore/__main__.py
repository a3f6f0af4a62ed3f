"""python -m attncore "I have a cat": print every stage as a table labelled by token."""

from __future__ import annotations

import argparse
import sys
import unicodedata

from . import InputError, run
from .attention import AttentionResult
from .formatting import fmt, pct
from .report_strings import HEADINGS


def _width(s: str) -> int:
    """Terminal columns of `s`: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, n: int) -> str:
    return " " * (n - _width(s)) + s


def table(title: str, matrix, row_labels, col_labels, cell=fmt) -> str:
    """A right-aligned text table with a title line."""
    cells = [[cell(v) for v in row] for row in matrix]
    label_w = max(_width(r) for r in row_labels)
    widths = [max(_width(c), *(_width(row[j]) for row in cells)) for j, c in enumerate(col_labels)]
    lines = [title, " " * label_w + "  " + "  ".join(_pad(c, w) for c, w in zip(col_labels, widths))]
    for label, row in zip(row_labels, cells):
        lines.append(_pad(label, label_w) + "  " + "  ".join(_pad(c, w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def report(r: AttentionResult, language: str = "en") -> str:
    """Every stage of `r`, as the tables a student reads top to bottom, headed in `language`."""
    h = HEADINGS[language]
    toks = list(r.tokens)
    dims = lambda n, p: [f"{p}{i + 1}" for i in range(n)]  # noqa: E731
    S, dm, dk, dv = r.n_tokens, r.d_model, r.d_k, r.d_v
    parts = [f"{h['tokens']} ({S}): " + " | ".join(toks)]
    if r.positional:
        parts.append(table(h["embeddings"].format(s=S, d=dm), r.embeddings, toks, dims(dm, "d")))
        parts.append(table(h["positional"].format(s=S, d=dm), r.positional_encoding, toks, dims(dm, "d")))
    parts += [
        table(h["X"].format(s=S, d=dm), r.X, toks, dims(dm, "d")),
        table(h["W"].format(name="W_Q", r=dm, c=dk), r.W_Q, dims(dm, "d"), dims(dk, "k")),
        table(h["W"].format(name="W_K", r=dm, c=dk), r.W_K, dims(dm, "d"), dims(dk, "k")),
        table(h["W"].format(name="W_V", r=dm, c=dv), r.W_V, dims(dm, "d"), dims(dv, "v")),
        table(h["Q"].format(s=S, d=dk), r.Q, toks, dims(dk, "k")),
        table(h["K"].format(s=S, d=dk), r.K, toks, dims(dk, "k")),
        table(h["V"].format(s=S, d=dv), r.V, toks, dims(dv, "v")),
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
    parts += [weights, table(h["output"].format(s=S, d=dv), r.output, toks, dims(dv, "v"))]
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
    parser.add_argument("--lang", choices=sorted(HEADINGS), default="en", help="language of the table headings")
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
        )
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(r.to_json() if args.json else report(r, args.lang))
    return 0


if __name__ == "__main__":
    sys.exit(main())
