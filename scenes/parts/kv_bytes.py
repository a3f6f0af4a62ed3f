"""What grouped-query attention saves, in the heads stage: the KV cache's bytes per token of the model
(attncore.multihead.kv_cache_size), with the sharing and with one K/V head per query head, as bars."""

from __future__ import annotations

from manim import DOWN, LEFT, ORIGIN, RIGHT, UP, Create, FadeIn, FadeOut, Rectangle, VGroup

from ..beats import Beat, play, say
from ..components import Picture
from ..context import Ctx, Source
from ..formulas import rich_line
from ..layout import fit_content
from ..texts import half_width

BAR_MAX = 5.0  # the KV cache's bars: the longer one (one K/V head per query head)


class KVBytes:
    """The KV cache's bytes per token, for a stage's ctx (a grouped-query model's layer)."""

    ctx: Ctx

    def cache(self) -> Picture:
        """What grouped-query attention saves: the KV cache's bytes per token of this model (its layers x
        K/V heads x d_head x 2 (K and V) x the bytes of a number), beside what one K/V head per query head
        would take, each with a bar as long as its bytes, and how many times smaller the cache is."""
        ctx, theme = self.ctx, self.ctx.theme
        kv = ctx.heads.kv_cache
        q = self.cache_numbers()
        size = theme.caption_size
        title = rich_line(ctx, "heads.cache_title", size, theme.text)
        dtype = rich_line(ctx, "heads.cache_dtype", theme.label_size, theme.dim, max_width=2 * half_width(), dtype=kv.dtype,
                          value_bytes=q["value_bytes"])
        rule = rich_line(ctx, "heads.cache_rule", theme.label_size, theme.dim, max_width=2 * half_width())
        rows = []
        for label, heads, total, color, bytes_ in (
                (rich_line(ctx, "heads.cache_gqa", size, theme.text, kv=q["kv"]), q["kv"], q["total"], theme.K, kv.per_token),
                (rich_line(ctx, "heads.cache_mha", size, theme.text), q["n"], q["full"], theme.dim, kv.per_token_mha)):
            product = rich_line(ctx, "heads.cache_product", size, theme.text, layers=q["layers"], heads=heads, dh=q["dh"],
                                value_bytes=q["value_bytes"], total=total)
            bar = Rectangle(width=BAR_MAX * bytes_ / kv.per_token_mha, height=0.22, stroke_width=0).set_fill(color, 1)
            rows.append((label, product, bar))
        lines = VGroup()
        for label, product, bar in rows:
            label.move_to(ORIGIN, aligned_edge=RIGHT).shift(LEFT * 0.2)
            product.move_to(ORIGIN, aligned_edge=LEFT).shift(RIGHT * 0.2)
            bar.next_to(product, DOWN, buff=0.15, aligned_edge=LEFT)
            lines.add(VGroup(label, product, bar))
        lines.arrange(DOWN, buff=0.4)
        for line in lines:  # the labels' right edges, and the products' left edges, on one line
            line[0].align_to(lines[0][0], RIGHT)
            line[1].align_to(lines[0][1], LEFT)
            line[2].align_to(lines[0][1], LEFT)
        ratio = rich_line(ctx, "heads.cache_ratio", size, theme.accent, full=q["full"], total=q["total"], ratio=q["ratio"],
                          n=q["n"], kv=q["kv"])
        fit_content(VGroup(title, dtype, rule, lines, ratio).arrange(DOWN, buff=0.3))
        return Picture("cache", title=title, dtype=dtype, rule=rule, gqa=lines[0], mha=lines[1], ratio=ratio)

    def cache_numbers(self) -> dict:
        """The KV cache's numbers (attncore.multihead.KVCacheSize), quoted with their sources."""
        kv, ctx = self.ctx.heads.kv_cache, self.ctx
        quote = lambda name: ctx.quote(getattr(kv, name), Source(f"kv_cache.{name}", of="heads", format="int"))
        return {"layers": quote("layers"), "n": quote("heads"), "kv": quote("kv_heads"), "dh": quote("d_head"),
                "value_bytes": quote("value_bytes"), "total": quote("per_token"), "full": quote("per_token_mha"),
                "ratio": quote("ratio")}

    def cache_beat(self, leaving: VGroup):
        """Grouped-query attention: the KV cache's bytes per token, with the sharing and without."""
        q = self.cache_numbers()
        cache = self.cache()
        yield Beat(say("say.heads.cache", dtype=self.ctx.heads.kv_cache.dtype, **q),
                   (play(FadeOut(leaving), run_time=0.6),
                    play(FadeIn(cache.title, shift=DOWN * 0.1), FadeIn(cache.dtype, shift=DOWN * 0.1),
                         FadeIn(cache.rule, shift=DOWN * 0.1), run_time=0.8)),
                   caption=say("heads.cache", ratio=q["ratio"]), hold=2.0, pause=True, still="cache",
                   paced=(play(FadeIn(cache.gqa[0]), FadeIn(cache.gqa[1]), run_time=0.6),
                          play(Create(cache.gqa[2]), run_time=0.5),
                          play(FadeIn(cache.mha[0]), FadeIn(cache.mha[1]), run_time=0.6),
                          play(Create(cache.mha[2]), run_time=0.8),
                          play(FadeIn(cache.ratio, shift=UP * 0.05), run_time=0.6)))
        return cache
