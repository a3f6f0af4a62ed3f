"""The printable handout (`render.py --handout FILE.md`; FILE.html is the page to explore, explore.py): the sentence and its tokens,
every matrix as a labelled table (long ones elided as on screen), and one projection entry, one
score and the focus row's softmax worked out step by step, in the video's language.

Every number is attncore's, formatted with `fmt`/`pct` as on screen; nothing is computed here
(the worked steps come from `attncore.steps`). No video is rendered: it takes a second or two.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from attncore import AttentionResult, fmt, pct, steps
from attncore.tables import Table, cells, matrix, table_html

from ..context import Ctx
from ..elision import runs_line
from ..layout import Layout
from ..view import View
from .base import Making, Output


@dataclass(frozen=True)
class Doc:
    """The handout as blocks: ("h1" | "h2" | "p" | "code", text) or a Table."""

    language: str
    title: str
    blocks: list


def worked(dot: steps.DotProduct, slots, a_name: str, b_name: str, bias_name: str = "") -> str:
    """a · b = a_0 × b_0 + a_1 × b_1 + … (+ bias) = total, each term from attncore.steps."""
    terms = ["…" if m is None else f"{fmt(dot.a[m])} × {fmt(dot.b[m])}" for m in slots]
    bias = f" + {fmt(dot.bias)} ({bias_name})" if bias_name else ""
    return f"{a_name} · {b_name} = " + " + ".join(terms) + bias + f" = {fmt(dot.total)}"


def build(result: AttentionResult, focus: int, language: str, hidden=frozenset(), keep=frozenset()) -> Doc:
    ctx = Ctx(result, focus, language=language, hidden=frozenset(hidden), keep=frozenset(keep))
    r, s = result, ctx.s
    i, tok = focus, result.tokens[focus]
    blocks = intro_blocks(ctx)
    blocks += [("h2", s("handout.tokens", n=r.n_tokens)),
               ("p", " | ".join(f"{k}: {t}" for k, t in enumerate(r.tokens))),
               ("p", s("handout.focus", token=tok, index=i)),
               ("p", s("handout.sizes", d_model=r.d_model, d_k=r.d_k, d_v=r.d_v, scale=fmt(r.scale))),
               ("h2", s("handout.matrices")), ("p", s("handout.elided"))]
    blocks += matrix_blocks(ctx)
    blocks.append(("h2", s("handout.worked")))
    blocks += worked_blocks(ctx)
    return Doc(language, s("script.title", sentence=ctx.sentence()), blocks)


def intro_blocks(ctx: Ctx) -> list:
    """What the handout is, and where a model's numbers come from."""
    r, s = ctx.result, ctx.s
    blocks: list = [("p", s("handout.intro"))]
    if r.source is not None:
        blocks.append(("p", s("handout.source", source=s("title.model", model=r.model, layer=r.layer, head=r.head))))
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
    for which in "QKV":
        M = getattr(r, which)
        blocks.append(matrix(s(f"handout.{which}", s=M.shape[0], d=M.shape[1]), M, rows, lay.qkv_dims(M.shape[1]),
                             token, dim))
    cols = lay.token_cols
    blocks.append(matrix(s("handout.scores", s=r.n_tokens), r.scores, rows, cols, token, token))
    if r.causal:
        blocks.append(("p", s("handout.masked")))
    blocks.append(matrix(s("handout.weights", s=r.n_tokens), r.weights, rows, cols, token, token, show=pct))
    blocks.append(matrix(s("handout.Z", s=r.n_tokens, d=r.d_v), r.output, rows, lay.qkv_dims(r.d_v), token, dim))
    return blocks


def worked_blocks(ctx: Ctx) -> list:
    """Worked by hand for the focus token: Q[i, j], the focus token's score with itself, its row's
    softmax, and where its attention goes most."""
    lay, r, s = Layout(ctx), ctx.result, ctx.s
    i, tok, hidden = ctx.focus, ctx.token(ctx.focus), ctx.hidden
    token = lambda k: r.tokens[k]
    cols = lay.token_cols
    j = next(c for c in lay.proj_dims(r.d_k) if c is not None)
    blocks: list = [("p", s("handout.projection", token=tok, j=j)),
                    ("code", worked(steps.projection_entry(r, "Q", i, j), lay.proj_dims(r.d_model),
                                    s("handout.x_row", token=tok), s("handout.w_col", j=j),
                                    "" if r.b_Q is None else f"b_Q[{j}]"))]
    blocks += [("p", s("handout.score", token=tok)),
               ("code", worked(steps.score_entry(r, i, i), lay.dims(r.d_k), f"q_{tok}", f"k_{tok}"))]
    sm = steps.softmax_row(r, i)
    allowed = steps.allowed(r, i)
    x_show = lambda k: fmt(sm.x[k]) if allowed[k] else "−∞"
    exp_label = s("softmax.exp") if sm.shift == 0 else s("softmax.exp_shifted", shift=fmt(sm.shift))
    steps_rows = [[s("handout.row_scores")] + cells(r.scores[i], cols, fmt),
                  [s("handout.row_scaled", scale=fmt(r.scale))] + ["…" if k is None else x_show(k) for k in cols],
                  [exp_label] + cells(sm.exps, cols, fmt),
                  [s("handout.row_share", total=fmt(sm.total))] + cells(sm.weights, cols, pct)]
    blocks += [("p", s("handout.softmax", token=tok, scale=fmt(r.scale), total=fmt(sm.total))),
               Table(s("handout.softmax_table", token=tok), [""] + ["…" if k is None else token(k) for k in cols],
                     steps_rows)]
    if None in cols:  # what each "…" of the row holds
        blocks.append(("p", s("handout.elided_runs", token=tok, runs=runs_line(ctx, i, lay.runs(cols)))))
    if hidden:
        blocks.append(("p", s("softmax.hidden", tokens=" ".join(sorted({r.tokens[k] for k in hidden})))))
    top = steps.strongest(r, i)
    key = "softmax.top_self" if top == i else "softmax.top"
    blocks.append(("p", s(key, token=tok, top=token(top), pct=pct(r.weights[i, top]))))
    return blocks


def markdown(doc: Doc) -> str:
    def esc(t: str) -> str:
        return t.replace("|", "\\|")

    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Table):
            out += [f"**{block.caption}**", "", "| " + " | ".join(esc(h) for h in block.header) + " |",
                    "|" + "---|" * len(block.header)]
            out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in block.rows]
            out.append("")
        else:
            kind, text = block
            out += [{"h1": "# ", "h2": "## ", "p": "", "code": "    "}[kind] + text, ""]
    return "\n".join(out)


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


def handout(view: View) -> str:
    """The printed handout of `view` (its followed head) as Markdown text. (Its HTML form is the
    page to explore, scenes.outputs.explore.page.)"""
    return markdown(build(view.result, view.focus, view.language, view.hidden, view.keep))


def make(making: Making, path: Path) -> list[Path]:
    making.staging.place(path).write_bytes(handout(making.view).encode("utf-8"))
    return [path]


OUTPUT = Output("handout", "--handout", (".md",), make, "--handout",
                help="Instead of a video, write a printable handout: every matrix as a table and the worked steps "
                     "(FILE.md or FILE.html).")
