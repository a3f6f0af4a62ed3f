"""Heads: every head of the layer as a small heat map (the followed head highlighted), then how the
heads are joined: their outputs side by side, times W_O. Only when the result is one of several heads
(a model's layer, or toy multi-head).

With grouped-query attention (llama, Qwen2: fewer key/value heads than query heads) the maps stand in
one box per K/V head, around the query heads that read it, and a beat shows what the sharing saves: the
KV cache's bytes per token, with and without it (attncore.multihead.kv_cache_size)."""

from __future__ import annotations

from manim import (
    DOWN,
    RIGHT,
    UP,
    Create,
    FadeIn,
    FadeOut,
    FadeToColor,
    SurroundingRectangle,
    Underline,
    VGroup,
)

from attncore import steps
from attncore.pick import looks_elsewhere
from attncore.roles import THRESHOLD, clearest, focus_look

from ..beats import Beat, Stage, play, say
from ..components import Picture, VectorRow, arrange_down, plan_axis, stagger
from ..context import Source, vector_quote
from ..layout import fit_content, font_for
from ..parts.head_maps import HeadMaps
from ..parts.kv_bytes import KVBytes
from ..parts.kv_groups import KVGroups
from ..texts import half_width, text

VECTOR_SLOTS = 8  # entries of the concatenation and the output shown at most


class HeadsStage(HeadMaps, KVGroups, KVBytes, Stage):
    name = "heads"
    starts_from = "z"
    ends_on = "z"
    heading_key = "heads.heading"

    def heading_line(self):
        ctx = self.ctx
        n, layer = (ctx.heads.n_heads if ctx.heads else 0), ctx.result.layer
        return say("heads.heading", n=n) if layer is None else say("heads.heading_layer", n=n, layer=layer)

    def elided(self):
        d = self.ctx.heads.d_model
        return [(plan_axis(d, VECTOR_SLOTS), d, "dims")]

    def joined(self) -> Picture:
        """The focus token's concatenated head outputs, "× W_O" and the output row, with their shapes."""
        ctx, theme, m, i = self.ctx, self.ctx.theme, self.ctx.heads, self.ctx.focus
        tok = ctx.token(i)
        slots = plan_axis(m.d_model, VECTOR_SLOTS)
        w, h = 0.85, 0.5
        size = font_for(w, h, theme)
        concat = VectorRow(ctx, m.concat[i], slots, Source("concat", (i,), of="heads"), ctx.s("heads.concat", token=tok),
                           color=theme.Z, cell_w=w, cell_h=h, font_size=size, label_width=3.2)
        parts = ctx.s("heads.parts", n=m.n_heads, dh=m.d_head, d=m.d_model)
        concat_shape = text(ctx, parts, theme.label_size, theme.dim).next_to(concat, RIGHT, buff=0.3)
        key = "heads.times_bias" if m.b_O is not None else "heads.times"
        times = text(ctx, ctx.s(key, d=m.d_model), theme.caption_size, theme.text)
        output = VectorRow(ctx, m.output[i], slots, Source("output", (i,), of="heads"), ctx.s("heads.output", token=tok),
                           color=theme.accent, cell_w=w, cell_h=h, font_size=size, label_width=3.2)
        block = arrange_down(VGroup(concat, concat_shape), times, output, buff=0.45)
        times.set_x(concat.grid.get_x())
        output.shift(RIGHT * (concat.grid.grid_box().get_left()[0] - output.grid.grid_box().get_left()[0]))
        note = None
        if ctx.result.model is not None:  # what the model does next
            key = "heads.residual_prenorm" if ctx.result.norm_first else "heads.residual"
            note = text(ctx, ctx.s(key, layer=ctx.result.layer), theme.label_size, theme.dim,
                        max_width=2 * half_width()).next_to(block, DOWN, buff=0.5)
        fit_content(VGroup(block, *([note] if note else [])))
        return Picture("joined", concat=concat, concat_shape=concat_shape, times=times, output=output,
                       **({"note": note} if note else {}))

    def roles_line(self):
        """The narration of the role labels: the rule, and the head whose role is the clearest (the
        largest share on a fixed place), if any head has such a place."""
        ctx = self.ctx
        threshold = f"{THRESHOLD:.0%}"
        best = clearest(self.roles)
        if best is None:
            return say("say.heads.roles_none", threshold=threshold)
        role = self.roles[best]
        share = ctx.quote(role.share, Source("share", step=("head_role",), format="pct", of=best))
        hidden = role.role == "sink" and role.token in {ctx.result.tokens[j] for j in ctx.hidden}
        return say("say.heads.roles", threshold=threshold, head=best, pct=share,
                   place=ctx.s("heads.place.sink_hidden" if hidden else f"heads.place.{role.role}", token=role.token or ""))

    def named(self, j: int) -> str:
        """Token j as the narration and captions name it: a special token the video hides only as such."""
        return self.ctx.s("heads.special") if j in self.ctx.hidden else self.ctx.token(j)

    def other_head(self, top_chosen: int) -> int:
        """The head that most clearly looks elsewhere (attncore.pick.looks_elsewhere: the largest share on
        another token than the followed head's favourite, a word before a sink)."""
        return looks_elsewhere(self.ctx.heads, self.ctx.result.head, self.ctx.focus)

    def sizes(self) -> dict:
        """The layer's sizes as the narration quotes them: n heads of d_head out of d_model (kv: the K/V
        heads, under grouped-query attention)."""
        ctx, m = self.ctx, self.ctx.heads
        quote = lambda name: ctx.quote(getattr(m, name), Source(name, of="heads", format="int"))
        return {"n": quote("n_heads"), "dh": quote("d_head"), "d": quote("d_model"),
                "kv": quote("kv_heads") if m.grouped_query else None}

    def explain(self, start):
        heading = self.heading()
        maps = self.maps()
        q = self.sizes()
        legend = self.legend(heading)
        if legend.get_left()[0] < heading.get_right()[0] + 0.2:  # no room beside the heading: none (the cells show numbers)
            legend = VGroup()
        yield from self.intro(start, heading, maps, legend, q)
        groups = self.groups(maps) if q["kv"] is not None else []
        if groups:
            yield from self.group_beats(groups)
        named = yield from self.roles_beat(maps)
        marks = yield from self.chosen_beat(maps, named)
        showing = VGroup(maps, legend, *marks, *groups)
        if groups and self.ctx.heads.kv_cache is not None:  # what the sharing saves
            showing = yield from self.cache_beat(showing)
        joined = yield from self.joined_beat(showing, q)
        yield from self.end(heading, joined, reveal=True)

    def intro(self, start, heading, maps: VGroup, legend: VGroup, q: dict):
        """The heat maps come in: each head in turn, then the rows (queries), then the focus token's rows
        outlined, while the layer's sizes are said."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        tok = ctx.token(ctx.focus)
        n, dh, d, kv = q["n"], q["dh"], q["d"], q["kv"]
        # the toy numbers say why there are several heads and how they split d_model; a model's layer says its size
        intro = say("say.heads.intro", n=n, dh=dh, d=d, token=tok) if r.layer is None else \
            say("say.heads.intro_layer", n=n, dh=dh, layer=r.layer, token=tok) if kv is None else \
            say("say.heads.intro_grouped", n=n, dh=dh, layer=r.layer, token=tok, kv=kv)
        drawn = [VGroup(*(part for key, part in p.parts.items() if key not in ("role", "focus_row"))) for p in maps]
        # while it is said: each head in turn, then the rows (queries), then the focus token's rows outlined
        rows = SurroundingRectangle(maps[0].query_ticks, color=theme.accent, buff=0.08) if len(maps[0].query_ticks) else None
        yield Beat(intro, (play(FadeOut(start), FadeIn(heading), run_time=0.6),
                           play(stagger((FadeIn(p, shift=UP * 0.1) for p in drawn), 0.08), *([FadeIn(legend)] if len(legend) else []),
                                run_time=1.6)),
                   caption=say("heads.caption", token=tok, d=d, n=n, dh=dh), hold=1.0,
                   paced=(*self.head_by_head([VGroup(p.name, p.frame) for p in maps], rows),
                          play(*([FadeOut(rows)] if rows else []), *(FadeIn(p.focus_row) for p in maps),
                               run_time=0.6)))

    def roles_beat(self, maps: VGroup):
        """Each head's role comes in, the places the rule measures outlined on the clearest head's map (the
        followed head's, without one); returns the clearest role's words, left in the accent colour."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        best = clearest(self.roles)
        shown = maps[r.head if best is None else best]  # where the places the rule measures are outlined
        named = [maps[best].role[0]] if best is not None else []  # the clearest role's words, in the accent colour
        yield Beat(self.roles_line(), (play(stagger([FadeIn(p.role, shift=UP * 0.05) for p in maps], 0.05), run_time=1.0),),
                   caption=say("heads.roles", token=ctx.token(ctx.focus)), hold=1.2, pause=True,
                   paced=(*self.places(shown), *(play(FadeToColor(w, theme.accent), run_time=0.5) for w in named)))
        return named

    def chosen_beat(self, maps: VGroup, named: list):
        """Where the focus token looks in the followed head and in the head that most clearly looks
        elsewhere, each underlined with its row framed; returns those marks."""
        ctx, theme, r, m = self.ctx, self.ctx.theme, self.ctx.result, self.ctx.heads
        i, tok = ctx.focus, ctx.token(ctx.focus)
        top = steps.strongest(r, i)
        other = self.other_head(top)
        o = m.heads[other]
        otop = steps.strongest(o, i)
        quote = lambda res, j: ctx.quote(res.weights[i, j], Source("weights", (i, j), format="pct", of=res.head))
        line = "say.heads.chosen" if otop != top else "say.heads.chosen_same"  # every head's favourite is the same
        # is the followed row's choice its own, or does every token look there (attncore.roles.focus_look)?
        look = focus_look(r, i, top)
        others = None if look.others is None else \
            ctx.quote(look.others, Source("others", step=("focus_look", i, top), format="pct"))
        special = look.special or others is None
        caption = say("heads.chosen" if others is None else "heads.chosen_special" if special else "heads.chosen_shared",
                      head=r.head, token=tok, top=self.named(top), pct=quote(r, top), others=others)
        line += "" if others is None else "_special" if special else "_shared"
        # where the focus token looks in the followed head and its row there, then in the other head (the role's
        # box gone)
        looks = [Underline(maps[h].below, color=theme.accent, buff=0.04) for h in (r.head, other)]  # its role is just above
        rows = [SurroundingRectangle(maps[h].focus_row, color=theme.accent, buff=0.04) for h in (r.head, other)]
        yield Beat(say(line, head=r.head, token=tok, top=self.named(top), pct=quote(r, top), others=others,
                       other=other, otop=self.named(otop), opct=quote(o, otop)),
                   caption=caption, hold=1.6, still=True, pause=True,
                   paced=(play(*(FadeToColor(w, theme.text) for w in named), Create(looks[0]), run_time=0.5),
                          play(Create(rows[0]), run_time=0.5), play(Create(looks[1]), run_time=0.5),
                          play(Create(rows[1]), run_time=0.5)))
        return [*looks, *rows]

    def joined_beat(self, showing, q: dict):
        """The heads' outputs side by side, times W_O, the output (and what the model does with it), brought
        in as they are said; returns that picture."""
        ctx, m, i = self.ctx, self.ctx.heads, self.ctx.focus
        joined = self.joined()
        vector = vector_quote(ctx, m.output[i], Source("output", (i,), of="heads"), plan_axis(m.d_model, VECTOR_SLOTS))
        line = "say.heads.joined_bias" if m.b_O is not None else "say.heads.joined"
        yield Beat(say(line, token=ctx.token(i), n=q["n"], dh=q["dh"], d=q["d"], vector=vector),
                   (play(FadeOut(showing), run_time=0.6),
                    play(FadeIn(joined.concat, shift=DOWN * 0.1), FadeIn(joined.concat_shape, shift=DOWN * 0.1), run_time=0.8)),
                   caption=say("heads.join"), hold=1.6, pause=True, still="joined",
                   paced=tuple(play(FadeIn(p, shift=DOWN * 0.1), run_time=0.6)
                               for p in (joined.times, joined.output, *([joined.note] if "note" in joined.parts else []))))
        return joined
