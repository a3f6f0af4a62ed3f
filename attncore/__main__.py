"""python -m attncore "I have a cat": print every stage as a table labelled by token."""

from __future__ import annotations

import argparse
import sys
import unicodedata

from . import InputError, run
from .attention import AttentionResult
from .formatting import fmt, pct


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


def report(r: AttentionResult) -> str:
    """Every stage of `r`, as the tables a student reads top to bottom."""
    toks = list(r.tokens)
    dims = lambda n, p: [f"{p}{i + 1}" for i in range(n)]  # noqa: E731
    S, dm, dk, dv = r.n_tokens, r.d_model, r.d_k, r.d_v
    parts = [f"tokens ({S}): " + " | ".join(toks)]
    if r.positional:
        parts.append(table(f"embeddings ({S} x {dm})", r.embeddings, toks, dims(dm, "d")))
        parts.append(table(f"positional encoding ({S} x {dm})", r.positional_encoding, toks, dims(dm, "d")))
    parts += [
        table(f"X ({S} x {dm}, tokens x d_model)", r.X, toks, dims(dm, "d")),
        table(f"W_Q ({dm} x {dk})", r.W_Q, dims(dm, "d"), dims(dk, "k")),
        table(f"W_K ({dm} x {dk})", r.W_K, dims(dm, "d"), dims(dk, "k")),
        table(f"W_V ({dm} x {dv})", r.W_V, dims(dm, "d"), dims(dv, "v")),
        table(f"Q = X W_Q ({S} x {dk})", r.Q, toks, dims(dk, "k")),
        table(f"K = X W_K ({S} x {dk})", r.K, toks, dims(dk, "k")),
        table(f"V = X W_V ({S} x {dv})", r.V, toks, dims(dv, "v")),
        table(f"scores = Q K^T ({S} x {S}, rows: queries, columns: keys)", r.scores, toks, toks),
        table(f"scaled = scores / sqrt({dk}) = scores / {r.scale:.3f}", r.scaled, toks, toks),
    ]
    weights = table(
        "weights = softmax(scaled) per row" + (" (causal: later tokens masked)" if r.causal else ""),
        [[*row, row.sum()] for row in r.weights],
        toks,
        [*toks, "sum"],
        cell=pct,
    )
    parts += [weights, table(f"output Z = weights V ({S} x {dv})", r.output, toks, dims(dv, "v"))]
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
    print(r.to_json() if args.json else report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
