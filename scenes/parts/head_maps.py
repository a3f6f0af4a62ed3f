"""The heads stage's grid of heads: every head of a layer as a small heat map (rows are queries,
columns keys, the followed head framed, the focus token's row outlined), its name above, what it
measurably does (attncore.roles) and where the focus token looks below, the token ticks along the
first column and the last row, the colour bar; under grouped-query attention the maps of a K/V group
side by side in a row. HeadMaps is the heads stage's (scenes/stages/heads.py) part that draws them."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

from manim import (
    DOWN,
    LEFT,
    PI,
    RIGHT,
    UP,
    Create,
    FadeOut,
    Rectangle,
    ReplacementTransform,
    Square,
    Succession,
    SurroundingRectangle,
    Text,
    VGroup,
)

from attncore import HeadRole, head_role, pct, steps

from ..beats import play
from ..components import Picture, row_of
from ..context import Ctx, Source
from ..layout import CONTENT_BOTTOM, CONTENT_TOP, Layout
from ..pictures import hatched
from ..texts import glyph_number, half_width, number_text, text

MAP_MAX = 4.0  # the largest heat map side
GAP = 0.35  # least space between heat maps side by side
ROW_GAP = 0.25  # between a row of heat maps' labels and the next row's names
BUFF = 0.1  # between a map and its name above, its labels below
TICK_GAP = 0.08  # between a map and its token ticks
TICK_MAX = 1.0  # a token tick's longest side (a longer token is cut with "…")
CELL_NUMBERS = 0.62  # a heat map cell at least this wide also shows its percentage
CELL_PAD = 0.07  # at least this much of a cell's fill either side of its percentage
GROUP_GAP = 0.35  # grouped-query attention: more room between the K/V groups side by side in a row
GROUP_BUFF = 0.08  # between a K/V group's maps and its box
LEGEND_W = 1.5  # the heat maps' colour bar


def tick_slots(n: int, stride: int, keep) -> list[int]:
    """Which of n positions get a token tick when only every `stride`-th fits: `keep` in its order
    (the focus token, then the rest of its row's story: Layout.story), the first and the last, then
    from the start every position at least `stride` from those already chosen."""
    chosen: list[int] = []
    for p in (*keep, 0, n - 1, *range(n)):
        if all(abs(p - q) >= stride for q in chosen):
            chosen.append(p)
    return sorted(chosen)


@dataclass(frozen=True)
class Grid:
    """Where the heat maps go: `cols` maps a row, `side` of a map, `pitch` between map columns,
    the token ticks (`rotated` below the bottom row when they are wider than a column), `row_h` a
    row's name, map and labels."""

    cols: int
    rows: int
    side: float
    pitch: float
    ticks_w: float  # the column of query ticks left of the first map of each row
    ticks_h: float  # the band of key ticks under the last row's maps
    turn_wider: float  # a key tick wider than this is turned upright
    name_h: float
    line_h: float
    group: int = 0  # grouped-query attention: the query heads of a K/V group (0 without)
    band: float = 0.0  # above each row: its K/V groups' names

    def x(self, c: int) -> float:
        """Column c's distance from the first, the K/V groups side by side in a row set apart."""
        return c * self.pitch + (c // self.group * GROUP_GAP if self.group else 0.0)

    @property
    def row_h(self) -> float:
        return self.band + self.name_h + BUFF + self.side + BUFF + 2 * self.line_h + 0.06

    @property
    def reach(self) -> float:
        """How far a map's labels (as wide as its column) may stand out past its sides."""
        return max(0.0, (self.pitch - 0.15 - self.side) / 2)

    @property
    def lead(self) -> float:
        """Left of the first column: its query ticks, or its labels standing out."""
        return max(self.ticks_w, self.reach)

    @property
    def width(self) -> float:
        return self.lead + self.x(self.cols - 1) + self.side + self.reach

    @property
    def height(self) -> float:
        return self.rows * self.row_h + (self.rows - 1) * ROW_GAP + self.ticks_h


class HeadMaps:
    """The grid of heads, drawn for a stage's ctx (with several heads) and its layout."""

    ctx: Ctx
    lay: Layout

    @cached_property
    def roles(self) -> list[HeadRole]:
        """What each head measurably does (attncore.roles), in head order."""
        return [head_role(r) for r in self.ctx.heads.heads]

    def tick(self, token: str, color) -> Text:
        return text(self.ctx, token, self.ctx.theme.min_font_size, color, max_width=TICK_MAX)

    def role_words(self, h: int) -> str:
        """Head h's role as its map's label says it (what its rows do on average: the caption says so), a
        special token the video hides named only as a special token."""
        ctx, role = self.ctx, self.roles[h]
        hidden = role.role == "sink" and role.token in {ctx.result.tokens[j] for j in ctx.hidden}
        return ctx.s("heads.role.sink_hidden" if hidden else f"heads.role.{role.role}", token=role.token or "")

    def top_words(self, h: int) -> str:
        """Where the focus token looks most in head h, as its map's second label says it (“animal”, in the
        focus token's colour); a hidden special token is named only as a special token."""
        ctx, i = self.ctx, self.ctx.focus
        top = steps.strongest(ctx.heads.heads[h], i)
        if top in ctx.hidden:
            return ctx.s("heads.row_top_hidden", token=ctx.token(i))
        return ctx.s("heads.top", top=ctx.token(top))

    def role_label(self, h: int) -> Text:
        return text(self.ctx, self.role_words(h), self.ctx.theme.min_font_size)

    @property
    def group_size(self) -> int:
        """The query heads sharing a K/V head under grouped-query attention; 0 without it."""
        m = self.ctx.heads
        return m.n_heads // m.kv_heads if m.grouped_query else 0

    def group_label(self, g: int) -> Text:
        return text(self.ctx, self.ctx.s("heads.group", g=g), self.ctx.theme.label_size, self.ctx.theme.K)

    def grid(self) -> Grid:
        """The heat maps' layout: as large as the content area allows (in one, two or three rows) with
        every map's name above it, its role and where the focus token looks below it, the query ticks
        left of the first column and the key ticks under the last row (a token wider than its column
        turned upright, unless it is about as wide as tall, like a Chinese character). With grouped-query
        attention a row holds whole K/V groups (or a group whole rows), set apart, each row with a band
        above it for its groups' names."""
        ctx, theme, n = self.ctx, self.ctx.theme, self.ctx.heads.n_heads
        S = len(ctx.visible())
        ticks = [self.tick(ctx.token(i), theme.dim) for i in ctx.visible()]
        tick_w, tick_h = max(t.width for t in ticks), max(t.height for t in ticks)
        name_h = max(text(ctx, ctx.s("heads.name", head=h), theme.label_size).height for h in range(n))
        line_h = max([self.role_label(h).height for h in range(n)] + [tick_h])
        width, height = 2 * half_width(), CONTENT_TOP - CONTENT_BOTTOM - 0.1
        ticks_w = tick_w + TICK_GAP
        size = self.group_size
        group_band = self.group_label(0).height + 0.08 + GROUP_BUFF if size else 0.0
        labels_h = name_h + 2 * BUFF + 2 * line_h + 0.06 + group_band
        where = [text(ctx, self.top_words(h), theme.min_font_size).width for h in range(n)]  # the followed row's key
        wanted = max(max(self.role_label(h).width for h in range(n)), *where) + 0.75  # a label, its share and a space

        def apart(cols: int) -> float:  # the room between the K/V groups side by side in a row
            return (math.ceil(cols / size) - 1) * GROUP_GAP if size else 0.0

        def side(cols: int, rows: int, band: float) -> float:
            return min((width - ticks_w - (cols - 1) * GAP - apart(cols)) / cols,
                       (height - rows * labels_h - (rows - 1) * ROW_GAP - band) / rows, MAP_MAX)

        def layout(cols: int) -> Grid:
            rows = math.ceil(n / cols)
            squarish = 1.3 * tick_h  # a tick no wider than this stays upright (a Chinese character)
            turned = max([t.width for t in ticks if t.width > squarish] + [tick_h]) + 2 * TICK_GAP
            upright = side(cols, rows, tick_h + 2 * TICK_GAP)
            if tick_w <= 0.95 * upright / S:  # every token fits its column
                s, band, limit = upright, tick_h + 2 * TICK_GAP, math.inf
            else:
                s, band, limit = side(cols, rows, turned), turned, squarish
            grid = Grid(cols, rows, s, s + GAP, ticks_w, band, limit, name_h, line_h, size, group_band)
            if cols == 1 or grid.width >= width:
                return grid
            # the columns spread so that the labels under the maps fit beside each other, as far as the width allows
            # (the first and the last column's labels inside it too)
            fits = lambda pitch: replace(grid, pitch=pitch).width <= width
            lo, hi = s + GAP, wanted + 0.15
            if fits(hi):
                return replace(grid, pitch=max(lo, hi))
            for _ in range(30):  # the widest pitch that fits, between lo (fits) and hi (too wide)
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid)
            return replace(grid, pitch=lo)

        if size:  # whole K/V groups in a row, or a group in whole rows
            kv = n // size
            widths = {*(k * size for k in range(1, kv + 1)), *(size // k for k in range(2, size + 1) if size % k == 0)}
        else:
            widths = {math.ceil(n / rows) for rows in (1, 2, 3)}
        fewest = {}  # rows -> the fewest columns that make them
        for cols in sorted(widths):
            fewest.setdefault(math.ceil(n / cols), cols)
        grids = [layout(cols) for rows, cols in fewest.items() if rows <= 3] or [layout(max(widths))]
        # the largest maps (fewer rows on a tie) among the layouts whose labels fit beside each other uncut, if any
        return max(grids, key=lambda g: (g.pitch >= wanted + 0.15 - 1e-9, g.side - 1e-6 * g.rows))

    def legend(self, heading) -> VGroup:
        """The heat maps' colour bar, 0% to 100% (Theme.heat), in the top right corner beside the heading."""
        theme, size = self.ctx.theme, self.ctx.theme.min_font_size
        steps_ = 40
        bar = VGroup(*(Rectangle(width=LEGEND_W / steps_, height=0.16, stroke_width=0)
                       .set_fill(theme.heat((k + 0.5) / steps_), 1) for k in range(steps_))).arrange(RIGHT, buff=0)
        ends = [text(self.ctx, label, size, theme.dim) for label in (self.ctx.s("heads.legend", pct=p) for p in ("0%", "50%", "100%"))]
        for label, x in zip(ends, (0.0, 0.5, 1.0)):
            label.next_to(bar, DOWN, buff=0.06).set_x(bar.get_left()[0] + x * LEGEND_W)
        legend = VGroup(bar, *ends)
        return legend.move_to([half_width() - legend.width / 2, heading.get_y(), 0])

    def heat_map(self, h: int, g: Grid) -> Picture:
        """Head h's attention weights as coloured squares (the drawn tokens: rows are queries, columns
        keys), the focus token's row outlined, the head's name above; below, what the head does
        (attncore.roles) with its share, and the token the focus token attends to most in this head."""
        ctx, theme, i = self.ctx, self.ctx.theme, self.ctx.focus
        r = ctx.heads.heads[h]
        shown = ctx.visible()
        side = g.side
        cell = side / len(shown)
        squares, numbers, hatch = VGroup(), VGroup(), VGroup()
        # the cells' percentages, when the widest fits at the smallest size with CELL_PAD either side (never shrunk,
        # nor edge to edge: else the map shows its colours alone, the row's numbers being elsewhere); measured
        # before any is made, so that none is logged as shown and then left out
        size, font = theme.min_font_size, theme.number_font
        numbered = cell >= CELL_NUMBERS and max(glyph_number(pct(r.weights[q, k]), float(size), str(theme.text), font).width
                                                for q in shown for k in shown) <= cell - 2 * CELL_PAD
        for a, q in enumerate(shown):
            for b, k in enumerate(shown):
                masked = r.causal and not r.mask[q, k]  # grey and hatched, never a 0% cell's colour
                heat = theme.masked if masked else theme.heat(r.weights[q, k])
                sq = Square(cell, stroke_width=0).set_fill(heat, 1)
                squares.add(sq.move_to([b * cell, -a * cell, 0]))
                if masked:
                    hatch.add(hatched(sq, theme.dim))
                if numbered:  # readable on their own fill
                    t = number_text(ctx, pct(r.weights[q, k]), Source("weights", (q, k), format="pct", of=h), size,
                                    theme.readable_on(heat))
                    numbers.add(t.move_to(sq))
        chosen = h == ctx.result.head
        frame = Rectangle(width=side + 0.06, height=side + 0.06, stroke_color=theme.accent if chosen else theme.dim,
                          stroke_width=5 if chosen else 1.5).move_to(squares)
        row = shown.index(i)
        focus_row = Rectangle(width=side, height=cell, stroke_color=theme.accent, stroke_width=1.5)
        focus_row.move_to(squares).align_to(squares[row * len(shown)], UP)
        room = g.pitch - 0.15  # the labels may be wider than the map, not than its column
        name = text(ctx, ctx.s("heads.name", head=h), theme.label_size, theme.accent if chosen else theme.text,
                    max_width=room).next_to(frame, UP, buff=BUFF)
        size = theme.min_font_size
        role = self.roles[h]
        share = number_text(ctx, pct(role.share), Source("share", step=("head_role",), format="pct", of=h), size,
                            theme.heat_high)
        words = text(ctx, self.role_words(h), size, theme.text, max_width=room - share.width - 0.1)
        top = steps.strongest(r, i)
        top_share = number_text(ctx, pct(r.weights[i, top]), Source("weights", (i, top), format="pct", of=h), size,
                                theme.accent)
        where = text(ctx, self.top_words(h), size, theme.accent,
                     max_width=room - top_share.width - 0.1)
        return Picture("map", squares=squares, hatch=hatch, numbers=numbers, focus_row=focus_row, frame=frame, name=name,
                       role=row_of(words, share, buff=0.1), below=row_of(where, top_share, buff=0.1),
                       query_ticks=VGroup(), key_ticks=VGroup())

    def ticks(self, g: Grid, squares: VGroup, query: bool) -> VGroup:
        """Token labels along a map's rows (`query`: left of it) or columns (under it), every one that
        fits at the minimum font size: the focus token's always (in the accent colour), then its row's
        story (its largest keys, those of 3% or more: Layout.story) as they fit, the first, the last,
        and evenly between."""
        ctx, theme = self.ctx, self.ctx.theme
        shown = ctx.visible()
        S, cell = len(shown), g.side / len(shown)
        labels = [self.tick(ctx.token(t), theme.accent if t == ctx.focus else theme.dim) for t in shown]
        turned = [not query and t.width > g.turn_wider for t in labels]
        thick = max(t.width if not (query or turn) else t.height for t, turn in zip(labels, turned))
        out = VGroup()
        story = [shown.index(j) for j in self.lay.story()]  # the focus token's, then its largest keys'
        for p in tick_slots(S, math.ceil((thick + 0.05) / cell - 1e-9), story):
            t, sq = labels[p], squares[p * S] if query else squares[p]
            if query:
                t.next_to(sq, LEFT, buff=TICK_GAP + 0.03).set_y(sq.get_y())
            else:
                if turned[p]:
                    t.rotate(PI / 2)  # reads upwards, its end by the column
                t.next_to(squares, DOWN, buff=TICK_GAP + 0.03).set_x(sq.get_x())
            out.add(t)
        return out

    def maps(self) -> VGroup:
        """Every head's heat map on the grid: the first map of each row with the query tokens along its
        rows, the maps of the last row with the key tokens under their columns."""
        g, n = self.grid(), self.ctx.heads.n_heads
        maps = VGroup(*(self.heat_map(h, g) for h in range(n)))
        left = -g.width / 2 + g.lead
        top = (CONTENT_TOP + CONTENT_BOTTOM) / 2 + g.height / 2
        for h, m in enumerate(maps):
            r, c = divmod(h, g.cols)
            y = top - r * (g.row_h + ROW_GAP) - g.band
            m.name.move_to([left + g.x(c) + g.side / 2, y - g.name_h / 2, 0])
            box = VGroup(m.squares, m.hatch, m.numbers, m.focus_row, m.frame)
            box.shift([left + g.x(c) - m.squares.get_left()[0], y - g.name_h - BUFF - m.squares.get_top()[1], 0])
            below = m.squares.get_bottom()[1] - BUFF
            if c == 0:
                m.query_ticks.add(*self.ticks(g, m.squares, query=True))
            if r == g.rows - 1:
                m.key_ticks.add(*self.ticks(g, m.squares, query=False))
                below -= g.ticks_h
            m.role.move_to([m.squares.get_x(), below - g.line_h / 2, 0])
            m.below.move_to([m.squares.get_x(), below - g.line_h * 1.5 - 0.06, 0])
        return maps

    def head_by_head(self, heads: list, then=None) -> list:
        """Paced plays: a frame over each of `heads` in turn (one play each, or for more than four one
        sweep over all), then over `then` (if any: it stays), or gone."""
        theme = self.ctx.theme
        frames = [SurroundingRectangle(h, color=theme.accent, buff=0.08) for h in heads]
        if then is not None:
            frames.append(then)
        moves = [ReplacementTransform(a, b) for a, b in zip(frames, frames[1:])]
        if len(heads) > 4:  # the heads swept in one play, then the last move on its own
            sweep, last = moves[:len(heads) - 1], moves[len(heads) - 1:]
            moves = [Succession(*sweep)] + last
        out = [play(Create(frames[0]), run_time=0.5)]
        out += [play(m, run_time=0.25 * len(m.animations) if isinstance(m, Succession) else 0.5) for m in moves]
        if then is None:
            out.append(play(FadeOut(frames[-1]), run_time=0.4))
        return out

    def places(self, m: Picture) -> list:
        """Paced plays: on the heat map `m`, the cells of the places the role rule measures outlined
        in turn, each row's token before, itself, after (diagonals) and the first token (a column,
        when it is drawn), then gone."""
        ctx, theme = self.ctx, self.ctx.theme
        shown = ctx.visible()
        S = len(shown)
        cell = m.squares[0].width

        def outline(cells) -> VGroup:
            return VGroup(*(Square(cell, stroke_color=theme.accent, stroke_width=2.5).move_to(m.squares[a * S + b])
                            for a, b in cells))

        places = [outline([(a, a + d) for a in range(S) if 0 <= a + d < S]) for d in (-1, 0, 1)]
        if shown[0] == 0:  # the first token is drawn (a model's [CLS] may be hidden)
            places.append(outline([(a, 0) for a in range(S)]))
        places = [p for p in places if len(p)]
        if not places:
            return []
        out = [play(Create(places[0]), run_time=0.5)]
        out += [play(ReplacementTransform(a, b), run_time=0.5) for a, b in zip(places, places[1:])]
        return out + [play(FadeOut(places[-1]), run_time=0.4)]
