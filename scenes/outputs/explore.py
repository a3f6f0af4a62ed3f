"""The handout as a page to explore (`render.py --handout FILE.html`): a student clicks any token, or
any head of the layer, and reads that token's worked steps, weights and links with the same numbers
as the video: the worked winning pair, the softmax, the weighted sum; with several heads, each head's
heat map labelled with what it measurably does (attncore.roles, as the video's heads stage), grouped
by the key/value head they share under grouped-query attention, with the KV cache's bytes per token; with a
contrast sentence (--contrast), the focus token's row in both sentences side by side (as the video's
contrast stage), for each head.

The page never computes. Every view (each head × each token) is made here, by the handout's own
blocks (`scenes.outputs.handout`), formatted by `fmt`/`pct` as on screen, and embedded as JSON; the script
only swaps the view in and draws the links from their precomputed labels and widths. The URL
fragment `#focus=K&head=H` (0-based, as --focus and --head) picks the view and follows the clicks.
Element `focus` holds the followed token's text, `focus-weights` its row of weights. One file, no
http(s) reference: it works offline, prints the current view, and fits a phone.
"""

from __future__ import annotations

import base64
import html
import io
import json
from decimal import Decimal
from pathlib import Path

from attncore import AttentionResult, fmt, head_role, pct, steps
from attncore.pick import moved_most
from attncore.tables import Table, table_html

from ..arithmetic import gives, value
from ..context import Ctx
from ..elision import run_share
from ..layout import Layout
from ..theme import DEFAULT_THEME, THEMES, Theme
from ..view import View
from .base import Making, Output
from .blocks import (
    FONTS,
    STYLE,
    block_html,
    changed_words,
    contrast_intro,
    contrast_lines,
    contrast_rows,
    intro_blocks,
    kv_cache_blocks,
    matrix_blocks,
    role_words,
    row_label,
    sharing_block,
    worked_blocks,
)


def weighted_block(ctx: Ctx) -> Table:
    """z of the focus token as the sum of the value vectors times its weights (elided as on screen; the
    runs' and the hidden special tokens' shares the row's rest, `run_share`). z's "Σ" is "≈ Σ" unless the
    shown weights times the shown values, added, give every shown entry of z (scenes.arithmetic)."""
    lay, r, s = Layout(ctx), ctx.result, ctx.s
    i = ctx.focus
    dims = lay.qkv_dims(r.d_v)
    head = ["", s("explore.weight")] + ["…" if d is None else str(d) for d in dims]
    rows = []
    all_runs = lay.runs(lay.weighted_rows)
    runs = iter(all_runs)
    for j in lay.weighted_rows:
        if j is None:  # an elided run: how many tokens, and their weight together
            keys = next(runs)
            rows.append(["⋮ " + s("elided.count", n=len(keys)), pct(run_share(ctx, i, keys, all_runs)[0])]
                        + ["⋮" if d is not None else "" for d in dims])
        else:
            rows.append([s("explore.v_row", token=r.tokens[j]), pct(r.weights[i, j])]
                        + ["…" if d is None else fmt(r.V[j, d]) for d in dims])
    if ctx.hidden:  # the special tokens not drawn: their share, their values not shown
        rows.append(["⋮ " + s("weighted.hidden"), pct(run_share(ctx, i, tuple(sorted(ctx.hidden)), all_runs)[0])]
                    + ["⋮" if d is not None else "" for d in dims])
    drawn = [j for j in lay.weighted_rows if j is not None]
    whole = len(drawn) == r.n_tokens  # every term shown: the sum can be checked
    exact = whole and all(gives(sum((value(pct(r.weights[i, j])) * value(fmt(r.V[j, d])) for j in drawn), Decimal(0)),
                                fmt(r.output[i, d])) for d in dims if d is not None)
    rows.append([s("explore.z_row", token=r.tokens[i]), "Σ" if exact else "≈ Σ"]
                + ["…" if d is None else fmt(r.output[i, d]) for d in dims])
    return Table(s("explore.weighted", token=r.tokens[i]), head, rows)


def html_of(block) -> str:
    """A handout block as HTML; a table scrolls sideways on a narrow screen instead of widening the page."""
    return f'<div class="scroll">{table_html(block)}</div>' if isinstance(block, Table) else block_html(block)


def view_of(result: AttentionResult, focus: int, language: str, hidden: frozenset[int],
            keep: frozenset[int] = frozenset()) -> dict:
    """One token's view: its text and index line, its row of weights (cells), the worked steps
    (HTML, elided by the token's own weights, `keep` always shown), and its links: [token, label,
    width in px] for every token it may attend to."""
    ctx = Ctx(result, focus, language=language, hidden=hidden, keep=keep)
    r, shown = result, ctx.visible()
    allowed = steps.allowed(r, focus)
    worked = worked_blocks(ctx) + [weighted_block(ctx)]
    return {"t": r.tokens[focus], "i": ctx.s("explore.index", index=focus),
            "w": "".join(f"<td>{pct(r.weights[focus, k])}</td>" for k in shown),
            "k": "\n".join(html_of(b) for b in worked),
            "a": [[k, pct(r.weights[focus, k]), round(1 + 14 * float(r.weights[focus, k]), 1)]
                  for k in shown if allowed[k]]}


def heat_png(result: AttentionResult, shown: list[int], theme: Theme = DEFAULT_THEME) -> str:
    """A head's weights (visible rows and columns) as a small PNG, the video's heat colours in its
    `theme` (theme.heat, computed for the whole grid at once), masked cells in the masked colour: a data URI."""
    import numpy as np
    from manim import ManimColor
    from PIL import Image

    stops = np.array([ManimColor(c).to_rgb() for c in theme.heat_stops])  # (n, 3)
    w = result.weights[np.ix_(shown, shown)]
    t = np.clip(w, 0.0, 1.0) ** theme.heat_power * (len(stops) - 1)
    k = np.minimum(t.astype(int), len(stops) - 2)
    alpha = (t - k)[..., None]
    rgb = stops[k] * (1 - alpha) + stops[k + 1] * alpha  # as manim's interpolate_color
    allowed = np.array([steps.allowed(result, i)[shown] for i in shown])
    rgb[~allowed] = ManimColor(theme.masked).to_rgb()
    image = Image.fromarray(np.round(255 * rgb).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def contrast_svg(ctx: Ctx) -> str:
    """The contrast stage's picture as SVG: the focus token on either side, linked to every token it
    may attend to in the middle column, each link as thick as its share (of the larger of the two
    rows' largest), the percentages either side (left: the sentence; right: the contrast sentence), the
    token whose share moved most framed."""
    e, r, b, i = html.escape, ctx.result, ctx.contrast, ctx.focus
    rows, key = contrast_rows(ctx), moved_most(r, b, i)
    was, now = changed_words(ctx)
    width, mid, share_dx, edge, top, pitch = 640, 320, 120, 262, 44, 26
    focus_y = top + pitch * (len(rows) - 1) / 2
    strongest = max(max(r.weights[i, j], b.weights[i, j]) for j in rows)
    out = [f'<text x="{mid - 190}" y="16" text-anchor="middle" class="side">{e(ctx.s("contrast.side", word=was))}</text>',
           f'<text x="{mid + 190}" y="16" text-anchor="middle" class="side accent">{e(ctx.s("contrast.side", word=now))}</text>']
    for n, j in enumerate(rows):
        y = top + n * pitch
        swapped = r.tokens[j] != b.tokens[j]
        if j == key:
            out.append(f'<rect class="moved" x="{mid - 70}" y="{y - pitch / 2 + 2}" width="140" height="{pitch - 4}" rx="4"/>')
        out.append(f'<text x="{mid}" y="{y + 4}" text-anchor="middle" class="token{" accent" if swapped or j == i else ""}"'
                   f' data-k="{j}">{e(row_label(ctx, j))}</text>')
        for side, result, name in ((-1, r, "a"), (1, b, "b")):
            w = float(result.weights[i, j])
            strength = w / strongest if strongest > 0 else 0.0
            x0, x1 = mid + side * (edge - 44), mid + side * (share_dx + 28)
            out.append(f'<line x1="{x0}" y1="{focus_y}" x2="{x1}" y2="{y}" stroke-width="{round(1 + 8 * strength, 1)}" '
                       f'stroke-opacity="{round(0.25 + 0.75 * strength, 2)}"/>')
            out.append(f'<text x="{mid + side * share_dx}" y="{y + 4}" text-anchor="middle" class="share" '
                       f'data-side="{name}" data-k="{j}">{e(pct(w))}</text>')
    for side in (-1, 1):
        out.append(f'<rect class="focus" x="{mid + side * edge - 40}" y="{focus_y - 12}" width="80" height="24" rx="4"/>'
                   f'<text x="{mid + side * edge}" y="{focus_y + 5}" text-anchor="middle" class="accent">'
                   f"{e(ctx.token(i))}</text>")
    height = top + pitch * len(rows)
    return (f'<svg class="pair" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            + "".join(out) + "</svg>")


def contrast_section(view: View, heads: list[AttentionResult]) -> list[str]:
    """With --contrast: the pair, then for each head (shown with its head) the focus token's row in
    both sentences side by side, the token that moved most and how far the row moved."""
    if view.contrast is None:
        return []
    others = list(view.contrast.heads) if view.several else [view.contrast]
    language, hidden, keep, i = view.language, view.hidden, view.keep, view.focus
    ctxs = [Ctx(h, i, language=language, hidden=hidden, keep=keep, contrast=o, pick=view.pick) for h, o in zip(heads, others)]
    out = ['<section id="contrast">', *(block_html(b) for b in contrast_intro(ctxs[view.head]))]
    for n, ctx in enumerate(ctxs):
        out.append(f'<div class="head-contrast" data-head="{n}"{"" if n == view.head else " hidden"}>'
                   f'<div class="scroll">{contrast_svg(ctx)}</div>'
                   + "\n".join(block_html(b) for b in contrast_lines(ctx, followed=n == view.head)) + "</div>")
    return out + ["</section>"]


def page(view: View) -> str:
    """The whole page: the printed handout's blocks for `view`, with every other token and head
    embedded."""
    heads = list(view.heads.heads) if view.several else [view.result]
    head, hidden, i, language, keep = view.head, view.hidden, view.focus, view.language, view.keep
    chosen = heads[head]
    ctx = Ctx(chosen, i, language=language, hidden=hidden, keep=keep)
    s, e, r = ctx.s, html.escape, chosen
    shown = ctx.visible()
    views = [[view_of(h, k, language, hidden, keep) if k in shown else None for k in range(r.n_tokens)] for h in heads]
    several = len(heads) > 1
    theme = THEMES[view.theme]
    head_names = [s("heads.name", head=h.head if h.head is not None else n) for n, h in enumerate(heads)]
    data = {"focus": i, "head": head, "order": shown, "tokens": list(r.tokens), "heads": head_names, "views": views}

    title = e(s("script.title", sentence=ctx.sentence()))
    out = [f'<!doctype html>\n<html lang="{"zh-Hans" if language == "zh" else "en"}">\n<head>\n<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{title}</title>",
           f"<style>{STYLE}{FONTS[language]}{EXPLORE_STYLE}</style>\n</head>\n<body>", f"<h1>{title}</h1>",
           *(block_html(b) for b in intro_blocks(ctx))]
    out += [f"<h2>{e(s('handout.tokens', n=r.n_tokens))}</h2>",
            f'<p class="controls">{e(s("explore.choose"))}</p>',
            '<div class="tokens" id="tokens">' + "".join(
                f'<button type="button" data-k="{k}" aria-pressed="{str(k == i).lower()}">'
                f'<small>{k}</small> {e(r.tokens[k])}</button>' for k in shown) + "</div>",
            f'<p class="controls hint">{e(s("explore.link"))}</p>',
            f"<p>{e(s('handout.sizes', d_model=r.d_model, d_k=r.d_k, d_v=r.d_v, scale=fmt(r.scale)))}</p>"]
    if several:
        roles = [head_role(h) for h in heads]
        button = lambda n: (
            f'<button type="button" data-h="{n}" aria-pressed="{str(n == head).lower()}"><img alt="" src="{heat_png(heads[n], shown, theme)}">'
            f'<span>{e(head_names[n])}</span><small class="role">{e(role_words(ctx, roles[n]))} '
            f'<b>{e(pct(roles[n].share))}</b></small></button>')
        m = view.heads
        if m.grouped_query:  # a box per key/value head around the query heads that share it
            buttons = "".join(f'<fieldset class="group" data-g="{g}"><legend>{e(s("heads.group", g=g))}</legend>'
                              + "".join(button(n) for n in m.group_heads(g)) + "</fieldset>" for g in range(m.kv_heads))
        else:
            buttons = "".join(button(n) for n in range(len(heads)))
        out += [f'<h2 class="controls">{e(s("explore.heads"))}</h2>', f'<div class="heads controls" id="heads">{buttons}</div>',
                f'<p class="controls hint">{e(s("explore.roles"))}</p>']
        if m.grouped_query:
            hctx = Ctx(chosen, i, language=language, hidden=hidden, keep=keep, heads=m)
            out += [html_of(b) for b in (sharing_block(hctx), *kv_cache_blocks(hctx))]
    v = views[head][i]
    out += ['<section id="current">',
            f'<h2>{e(s("explore.current"))} “<span id="focus">{e(v["t"])}</span>” <span id="focus-index">{e(v["i"])}</span>'
            + (f' · <span id="head-name">{e(head_names[head])}</span>' if several else "") + "</h2>",
            f"<p>{e(s('explore.weights'))}</p>",
            '<div class="scroll"><table class="weights"><tr>' + "".join(f"<th>{e(r.tokens[k])}</th>" for k in shown)
            + f'</tr><tr id="focus-weights">{v["w"]}</tr></table></div>',
            f"<p>{e(s('explore.links'))}</p>",
            '<div class="scroll"><svg id="links" role="img"></svg></div>',
            f'<h2>{e(s("handout.worked"))}</h2>', f'<div id="worked">{v["k"]}</div>', "</section>",
            *contrast_section(view, heads),
            f"<h2>{e(s('handout.matrices'))}</h2>", f"<p>{e(s('handout.elided'))}</p>"]
    for n, h in enumerate(heads):
        blocks = matrix_blocks(Ctx(h, i, language=language, hidden=hidden, keep=keep))
        out.append(f'<div class="head-matrices" data-head="{n}"{"" if n == head else " hidden"}>'
                   + "\n".join(html_of(b) for b in blocks) + "</div>")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    out += [f'<script type="application/json" id="explore-data">{payload}</script>', f"<script>{LINKS}{SCRIPT}</script>",
            "</body>\n</html>\n"]
    return "\n".join(out)


EXPLORE_STYLE = """
.tokens, .heads { display: flex; flex-wrap: wrap; gap: 0.35em; margin: 0.4em 0; }
.tokens button { font: inherit; padding: 0.25em 0.6em; border: 1px solid #999; border-radius: 0.4em;
                 background: #fff; cursor: pointer; }
.tokens button small { color: #888; }
.tokens button[aria-pressed="true"] { background: #FFD166; border-color: #b88a00; font-weight: bold; }
.heads button { font: inherit; padding: 0.2em; border: 2px solid transparent; background: none; cursor: pointer;
                display: flex; flex-direction: column; align-items: center; }
.heads button[aria-pressed="true"] { border-color: #E8743B; }
.heads img { width: 5.5em; height: 5.5em; image-rendering: pixelated; }
.heads fieldset.group { display: flex; flex-wrap: wrap; gap: 0.35em; margin: 0; padding: 0.2em 0.4em 0.4em;
                        border: 1.5px solid #5E9E48; border-radius: 0.4em; }
.heads fieldset.group legend { color: #3F7A2E; font-weight: bold; padding: 0 0.3em; }
.heads .role { color: #555; font-size: 0.8em; max-width: 7em; line-height: 1.2; }
.heads .role b { color: #8a3b12; font-weight: normal; }
svg.pair { display: block; }
svg.pair text { font-size: 13px; }
svg.pair .side { font-weight: bold; }
svg.pair .accent { fill: #b88a00; font-weight: bold; }
svg.pair line { stroke: #E8743B; }
svg.pair rect.focus, svg.pair rect.moved { fill: none; stroke: #E8743B; stroke-width: 1.5; }
.hint { color: #666; font-size: 0.9em; }
.scroll { overflow-x: auto; max-width: 100%; }
.weights th, .weights td { white-space: nowrap; }
#links { display: block; }
#links path { fill: none; stroke: #E8743B; stroke-opacity: 0.8; }
#links text { font-size: 13px; }
#links .label { fill: #8a3b12; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
#links .focus { fill: #b88a00; font-weight: bold; }
#current { border-top: 3px solid #FFD166; }
@media (max-width: 40em) { body { margin: 0.6em; font-size: 15px; } }
@media print { .controls, .hint, .heads, .tokens { display: none; } #current { border: none; } }
"""

# the links picture, drawAttentionLinks(svg, order, tokens, focus, links): also the live page's (scenes.live)
LINKS = (Path(__file__).parent / "links.js").read_text(encoding="utf-8")

SCRIPT = r"""
(() => {
  const data = JSON.parse(document.getElementById("explore-data").textContent);
  const state = {head: data.head, focus: data.focus};
  const several = data.views.length > 1;

  function fromHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    if (p.has("head")) {
      const h = Number(p.get("head"));
      if (Number.isInteger(h) && h >= 0 && h < data.views.length) state.head = h;
    }
    if (p.has("focus")) {
      let f = Number(p.get("focus"));
      if (Number.isInteger(f) && f < 0) f += data.tokens.length;
      if (Number.isInteger(f) && data.views[state.head][f]) state.focus = f;
    }
  }

  function drawLinks(v) {
    drawAttentionLinks(document.getElementById("links"), data.order, data.tokens, state.focus, v.a);
  }

  function show(write) {
    const v = data.views[state.head][state.focus];
    document.getElementById("focus").textContent = v.t;
    document.getElementById("focus-index").textContent = v.i;
    document.getElementById("focus-weights").innerHTML = v.w;
    document.getElementById("worked").innerHTML = v.k;
    const name = document.getElementById("head-name");
    if (name) name.textContent = data.heads[state.head];
    drawLinks(v);
    for (const b of document.querySelectorAll("#tokens button"))
      b.setAttribute("aria-pressed", String(Number(b.dataset.k) === state.focus));
    for (const b of document.querySelectorAll("#heads button"))
      b.setAttribute("aria-pressed", String(Number(b.dataset.h) === state.head));
    for (const d of document.querySelectorAll(".head-matrices, .head-contrast")) d.hidden = Number(d.dataset.head) !== state.head;
    if (write) {
      const hash = "#focus=" + state.focus + (several ? "&head=" + state.head : "");
      if (location.hash !== hash) history.replaceState(null, "", hash);
    }
  }

  document.getElementById("tokens").addEventListener("click", event => {
    const b = event.target.closest("button");
    if (b) { state.focus = Number(b.dataset.k); show(true); }
  });
  const heads = document.getElementById("heads");
  if (heads) heads.addEventListener("click", event => {
    const b = event.target.closest("button");
    if (b) { state.head = Number(b.dataset.h); show(true); }
  });
  window.addEventListener("hashchange", () => { fromHash(); show(false); });
  fromHash();
  show(false);
})();
"""


def make(making: Making, path: Path) -> list[Path]:
    making.staging.place(path).write_bytes(page(making.view).encode("utf-8"))
    return [path]


OUTPUT = Output("explore", "--handout", (".html",), make, "--handout")
