"""The KV cache: a decoder generating its next token. The model's top predictions after the sentence,
with their probabilities (the final norm and the LM head, a softmax over the whole vocabulary); that
token fed back in gets its own q, k and v in the shown head; its k and v join the cached K and V of the
sentence (the cache grows by one row); its q meets every cached key and its own: one new row of the
score grid, not the whole grid again.

Every number is attncore's: the head's K and V, and attncore.generation's NextStep (`r.next`, computed
once when this stage is asked for: View.resolve)."""

from __future__ import annotations

from manim import (
    LEFT,
    RIGHT,
    Create,
    FadeIn,
    FadeOut,
    Indicate,
    ReplacementTransform,
    Succession,
    SurroundingRectangle,
    VGroup,
)

from attncore.tables import STORY_SHARE, STORY_TOP, plan_axis, plan_by_weight

from ..beats import Beat, Stage, play, say
from ..components import stagger
from ..context import Source, step_source
from ..layout import CONTENT_TOP
from ..parts.kv_cache_pictures import KVCachePictures
from ..texts import half_width, text

ROWS, ROWS_MOST = 10, 11  # cache rows shown (the rest elided, by the new token's weights)
DIMS = 3  # a cache's dimensions shown


class KVCacheStage(KVCachePictures, Stage):
    name = "kv-cache"
    starts_from = "z"
    ends_on = "z"
    heading_key = "kv.heading"

    def rows(self) -> list:
        """The cache rows shown, of the S + 1 after the new token joins (its own last), elided by the new
        token's weights: it, its top keys and every key with STORY_SHARE or more kept."""
        ctx, nxt = self.ctx, self.ctx.result.next
        S = ctx.result.n_tokens
        w = nxt.weights
        order = sorted((j for j in range(S + 1) if j not in ctx.hidden), key=lambda j: (-w[j], j))
        story = [S, *order[:STORY_TOP], *(j for j in order[STORY_TOP:] if w[j] >= STORY_SHARE)]
        return plan_by_weight(S + 1, ROWS, w, list(dict.fromkeys(story)), ROWS_MOST, ctx.hidden)

    def elided(self):
        rows = self.rows()
        return [(rows, self.ctx.result.n_tokens + 1, "tokens"), (self.dims(), self.ctx.result.d_k, "dims")]

    def dims(self):
        return plan_axis(self.ctx.result.d_k, DIMS)

    def explain(self, start):
        heading = self.heading()
        shown = yield from self.predict_beat(start, heading)
        rows = self.rows()
        caches, qkv, s = yield from self.cache_beat(shown, rows)
        grown = yield from self.grow_beat(caches, qkv, s)
        leaving = yield from self.row_beat(caches[2], qkv, rows, grown)
        yield from self.end(heading, caches[2].whole, caches[3].whole, *leaving, reveal=True)

    def predict_beat(self, start, heading):
        """The prediction: the top tokens after the sentence and their probabilities. Returns what it leaves."""
        ctx, theme, nxt = self.ctx, self.ctx.theme, self.ctx.result.next
        new = nxt.token
        vocab = ctx.quote(nxt.vocabulary, step_source("next_step", "vocabulary", format="int"))
        p = ctx.quote(nxt.probabilities[0], step_source("next_step", "probabilities", 0, format="pct"))
        sentence = text(ctx, ctx.s("kv.after", sentence=ctx.sentence()), theme.caption_size, theme.text,
                        max_width=2 * half_width() - 0.4)
        sentence.move_to([0, CONTENT_TOP - 0.2, 0])
        candidates = self.candidates(sentence.get_bottom()[1] - 0.5)
        top_frame = SurroundingRectangle(candidates[0], color=theme.accent, buff=0.1)
        yield Beat(say("say.kv.predict", vocab=vocab, token=new, p=p),
                   (play(FadeOut(start), FadeIn(heading), run_time=0.6), play(FadeIn(sentence), run_time=0.5)),
                   caption=say("kv.predict", token=new, p=p, vocab=vocab), hold=1.0, still="prediction",
                   paced=(*(play(FadeIn(c, shift=RIGHT * 0.2), run_time=0.6) for c in reversed(candidates)),
                          play(Create(top_frame), run_time=0.5)))
        return VGroup(sentence, candidates, top_frame)

    def cache_beat(self, leaving, rows):
        """The sentence's K and V, cached; the new token's q, k and v. Returns the caches (K and V before
        and after the new token joins), its q, k, v and the sentence's length as quoted."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        S, nxt = r.n_tokens, r.next
        cached_rows = [j for j in rows if j != S]  # the same slots but the new token's (a "⋮" before it stays)
        K_old, V_old = self.cache("K", cached_rows), self.cache("V", cached_rows)
        K_new, V_new = self.cache("K", rows), self.cache("V", rows)
        self.place(K_old, V_old, K_new, V_new)
        qkv = self.new_vectors()
        s = ctx.quote(S, Source("n_tokens", format="int"))
        pos = ctx.quote(nxt.position, step_source("next_step", "position", format="int"))
        cached = [SurroundingRectangle(g.grid.grid_box(), color=theme.accent, buff=0.08) for g in (K_old, V_old)]
        yield Beat(say("say.kv.cache", token=nxt.token, position=pos, s=s),
                   (play(FadeOut(leaving), run_time=0.5),
                    play(FadeIn(K_old.whole), FadeIn(V_old.whole), run_time=0.8)),
                   caption=say("kv.cached", s=s), hold=0.8,
                   paced=(play(Create(cached[0]), run_time=0.5), play(ReplacementTransform(*cached), run_time=0.5),
                          play(FadeOut(cached[1]), FadeIn(qkv[0]), run_time=0.6),
                          play(FadeIn(qkv[1]), run_time=0.5), play(FadeIn(qkv[2]), run_time=0.5)))
        return (K_old, V_old, K_new, V_new), qkv, s

    def grow_beat(self, caches, qkv, s):
        """The cache grows by one row: the new k and v join it. Returns the cache's rows as quoted."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        S, (K_old, V_old, K_new, V_new) = r.n_tokens, caches
        grown = ctx.quote(r.next.cache_rows, step_source("next_step", "cache_rows", format="int"))
        into = [ReplacementTransform(qkv[n].cells[0, c], grid.grid.cells[S, c]) for n, grid in ((1, K_new), (2, V_new))
                for c in self.dims() if c is not None]
        labels = [grid.grid.row_labels[S] for grid in (K_new,) if S in grid.grid.row_labels]
        yield Beat(say("say.kv.grow", s=s, grown=grown),
                   (play(*into, FadeOut(VGroup(qkv[1].label, qkv[1].grid.brackets, qkv[1].grid.marks,
                                               qkv[2].label, qkv[2].grid.brackets, qkv[2].grid.marks)),
                         # the cached rows replaced, not morphed (their families differ in order): out, then in
                         Succession(FadeOut(VGroup(K_old.whole, V_old.whole), run_time=0.5),
                                    FadeIn(VGroup(K_new.rest, V_new.rest), run_time=0.7)),
                         FadeIn(VGroup(*labels)), run_time=1.2),),
                   caption=say("kv.grow", s=s, grown=grown), hold=1.0,
                   paced=(play(Indicate(K_new.grid.row(S), color=theme.accent), Indicate(V_new.grid.row(S), color=theme.accent),
                               run_time=0.8),))
        return grown

    def row_beat(self, K_new, qkv, rows, grown):
        """One new row of the score grid: q against every cached key and its own. Returns what it leaves."""
        ctx, theme, r = self.ctx, self.ctx.theme, self.ctx.result
        S, nxt = r.n_tokens, r.next
        new = nxt.token
        scores, weights, heads = self.columns(K_new, rows)
        mini = self.mini()
        strongest = nxt.strongest
        w_top = ctx.quote(nxt.weights[strongest], step_source("next_step", "weights", strongest, format="pct"))
        top_name = new if strongest == S else ctx.token(strongest)
        frame = SurroundingRectangle(weights[strongest], color=theme.accent, buff=0.06) if strongest in weights else None
        yield Beat(say("say.kv.row", token=new, grown=grown, top=top_name, w=w_top),
                   (play(FadeOut(qkv[0]), FadeIn(mini.old), FadeIn(mini.labels[0]), run_time=0.8),),
                   caption=say("kv.row", token=new, grown=grown), hold=1.2, still=True, pause=True,
                   paced=(play(FadeIn(heads[0]), stagger((FadeIn(c, shift=LEFT * 0.1) for c in scores.values()), 0.06),
                               run_time=1.0),
                          play(FadeIn(mini.new), FadeIn(mini.labels[1]), run_time=0.6),
                          play(FadeIn(heads[1]), stagger((FadeIn(c) for c in weights.values()), 0.06), run_time=1.0),
                          *((play(Create(frame), run_time=0.5),) if frame is not None else ())))
        return [heads, *scores.values(), *weights.values(), mini, *([frame] if frame is not None else [])]
