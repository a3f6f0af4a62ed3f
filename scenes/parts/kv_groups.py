"""Grouped-query attention in the heads stage (llama, Qwen2: fewer key/value heads than query heads):
a box per K/V head around the heat maps of the query heads that read it, and the beat that says so."""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Create, FadeIn, SurroundingRectangle, VGroup

from ..beats import Beat, play, say
from ..components import Picture
from ..context import Ctx, Source
from .head_maps import GROUP_BUFF


class KVGroups:
    """The K/V groups over a stage's grid of heads (HeadMaps)."""

    ctx: Ctx

    def groups(self, maps: VGroup) -> list[Picture]:
        """Grouped-query attention: a box per K/V head around the maps of the query heads that read it
        (their names, ticks and labels too), named above its top left corner."""
        theme, m = self.ctx.theme, self.ctx.heads
        out = []
        for g in range(m.kv_heads):
            members = VGroup(*(maps[h] for h in m.group_heads(g)))
            box = SurroundingRectangle(members, color=theme.K, buff=GROUP_BUFF, stroke_width=2, corner_radius=0.08)
            label = self.group_label(g).next_to(box, UP, buff=0.06).align_to(box, LEFT).shift(RIGHT * 0.12)
            out.append(Picture("group", box=box, label=label))
        return out

    def group_beats(self, groups: list[Picture]):
        """Grouped-query attention: the K/V groups boxed and explained."""
        ctx, r, m = self.ctx, self.ctx.result, self.ctx.heads
        n = ctx.quote(m.n_heads, Source("n_heads", of="heads", format="int"))
        kv = ctx.quote(m.kv_heads, Source("kv_heads", of="heads", format="int"))
        g = m.kv_group(r.head)
        mates = m.group_heads(g)
        yield Beat(say("say.heads.groups", n=n, kv=kv, size=self.group_size, head=r.head, group=g, first=mates[0],
                       last=mates[-1]),
                   (play(*(Create(p.box) for p in groups), *(FadeIn(p.label, shift=DOWN * 0.05) for p in groups),
                         run_time=1.0),),
                   caption=say("heads.groups", n=n, kv=kv), hold=1.6, pause=True, still="groups",
                   paced=tuple(self.head_by_head([VGroup(p.box, p.label) for p in groups])))
