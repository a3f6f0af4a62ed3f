"""What a lecture shows of a computation, resolved and checked once: the followed head, the focus
token, the tokens left out of the pictures, the stages, the language, the quality, the theme and,
when the video speaks, how long each spoken text lasts. The scenes, the outputs and the cache key all take a
View; none of them resolves an option again. Importing this module does not import manim."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field, replace
from typing import Mapping

from attncore import AttentionResult, InputError, MultiHeadResult, lessons, resolve_focus, special_tokens
from attncore.generation import can_generate, with_next
from attncore.pick import Pick, check_pair

from . import GENERATING, ROPE, SEVERAL_HEADS, STAGE_NAMES, TOY, default_stages
from .strings import CATALOGUES

MAX_TOKENS = 40  # longer sentences are refused: past this even the elided grids say little
QUALITIES = ("low", "medium", "high", "4k")  # 480p15, 720p30, 1080p60, 2160p60 (scenes.production.options)
THEMES = ("dark", "light")  # --theme: each one's colours are scenes.theme.THEMES[name]; the first is the default


def whole_video(computed: AttentionResult | MultiHeadResult, result: AttentionResult, contrast: bool) -> tuple[str, ...]:
    """The stages of the whole video of `result`, one head of `computed` (default_stages): the several
    heads' stages when `computed` has several, the contrast when a minimal pair is `contrast`-ed, RoPE
    for rotary positions, the KV cache for a model that predicts next tokens, the trained head after the toy
    numbers."""
    several = isinstance(computed, MultiHeadResult) and computed.n_heads > 1
    return default_stages(several, contrast=contrast, rope=result.rope is not None, generating=can_generate(result),
                          model=result.model is not None)


@dataclass(frozen=True)
class View:
    """Build it with `View.resolve`, which validates; `replace` only narrows a resolved view."""

    computed: AttentionResult | MultiHeadResult  # every head of the layer, or the one head
    head: int  # the followed head (0 with one head)
    focus: int  # the focus token's index
    hidden: frozenset[int]  # tokens left out of the pictures (the special tokens a model's tokenizer added); still in the softmax
    stages: tuple[str, ...]
    language: str = "en"
    quality: str = "low"
    # seconds each spoken text lasts when the video speaks ({}: it speaks, timed as a silent video;
    # None: silent) and the speech itself (scenes.production.voice.Speech), for the sound track
    timing: Mapping[str, float] | None = None
    speech: object = field(default=None, compare=False, repr=False)
    # tokens kept in every picture besides the focus row's story (attncore.tables.story_keys): --keep
    keep: frozenset[int] = frozenset()
    # --contrast: the contrast sentence's computation (shaped as `computed`, the same layer), compared
    # token by token with the sentence's; and why the followed head was chosen (attncore.pick.Pick), if it was
    contrast: AttentionResult | MultiHeadResult | None = None
    pick: Pick | None = None
    theme: str = THEMES[0]  # a name of THEMES: every output's colours (scenes.theme.THEMES)

    @classmethod
    def resolve(cls, computed: AttentionResult | MultiHeadResult, *, focus: str | int | None = None,
                stages=None, language: str = "en", head: int = 0, hide_special: bool = False,
                quality: str = "low", keep=(), contrast: AttentionResult | MultiHeadResult | None = None,
                pick: Pick | None = None, theme: str = THEMES[0]) -> "View":
        """The view of `computed`: `focus` a token's text or index (default attncore.default_focus: the last word; a middle one under causal attention), `stages`
        in the order given (default the whole video), `head` the head followed through a
        MultiHeadResult, `hide_special` leaving a model's special tokens out of the pictures, `keep`
        tokens (texts or indices, as `focus`) shown in every picture even where others are elided,
        `contrast` a minimal pair's other sentence computed alike (the contrast stage), `pick` why the
        head was chosen (attncore.pick), `theme` the colours every output is drawn in (THEMES).
        Raises InputError, one line naming the option, for anything that cannot be shown."""
        several = isinstance(computed, MultiHeadResult)
        if several:
            computed.check_head(head)
        if not several and head != 0:
            raise InputError(f"head: {head!r} is out of range; there is one head (0)")
        result = computed.heads[head] if several else computed
        if result.n_tokens > MAX_TOKENS:
            raise InputError(f"sentence: {result.n_tokens} tokens; the video shows at most {MAX_TOKENS}")
        generating = can_generate(result)
        stages = whole_video(computed, result, contrast is not None) if stages is None else tuple(stages)
        unknown = [s for s in stages if s not in STAGE_NAMES]
        if unknown:
            raise InputError(f"stage: unknown stage {unknown[0]!r}; choose from {', '.join(STAGE_NAMES)}")
        # each condition of STAGE_FACTS checked once, for every stage that has it, named in the message
        flagged = lambda names: next((s for s in stages if s in names), None)
        if (name := flagged(SEVERAL_HEADS)) and several and computed.n_heads < 2:
            raise InputError(f"stage: {name!r} compares several heads; --heads 1 has one")
        if (name := flagged(SEVERAL_HEADS)) and not several:
            raise InputError(f"stage: {name!r} shows several heads; use --heads N (toy numbers) or --model")
        if (name := flagged(ROPE)) and result.rope is None:
            raise InputError(f"stage: {name!r} shows rotary positions (RoPE), which this head does not have; use a llama "
                             "or Qwen2 model (--model smollm2-135m, qwen2.5-coder-0.5b)")
        if (name := flagged(GENERATING)) and not generating:
            raise InputError(f"stage: {name!r} generates a next token, which needs a decoder model that predicts one "
                             "(--model smollm2-135m, qwen2.5-coder-0.5b or a GPT-2 folder)")
        if (name := flagged(TOY)) and result.model is not None:
            raise InputError(f"stage: {name!r} follows the toy numbers with a trained head; {result.model}'s head is "
                             "one already")
        if "contrast" in stages and contrast is None:
            raise InputError("stage: 'contrast' compares two sentences; give the second with --contrast SENTENCE")
        if contrast is not None and isinstance(contrast, MultiHeadResult) != several:
            raise InputError("contrast: must be computed as the sentence is (every head of the layer, or one head)")
        if language not in CATALOGUES:
            raise InputError(f"lang: unknown language {language!r}; choose from {', '.join(CATALOGUES)}")
        if quality not in QUALITIES:
            raise InputError(f"quality: unknown quality {quality!r}; choose from {', '.join(QUALITIES)}")
        if theme not in THEMES:
            raise InputError(f"theme: unknown theme {theme!r}; choose from {', '.join(THEMES)}")
        hidden = frozenset(special_tokens(result) if hide_special else ())
        if hide_special and not hidden:  # written once: render.py, a course and the Python API come here
            raise InputError("hide-special: goes with --model (only a model's tokenizer adds tokens to hide)"
                             if result.model is None else f"hide-special: {result.model} adds no special tokens to hide")
        index = resolve_focus(result, focus)
        if index in hidden:
            raise InputError(f"focus: {result.tokens[index]!r} is hidden by --hide-special; choose another token")
        kept = frozenset(keep_token(result, token, hidden) for token in keep)
        if contrast is not None:
            check_pair(result.tokens, contrast.tokens, index)
        if flagged(GENERATING) and result.next is None:  # the next token, computed once, last: the whole model, its LM head
            computed = with_next(computed, head if several else 0)
        return cls(computed, head if several else 0, index, hidden, stages, language, quality, keep=kept,
                   contrast=contrast, pick=pick, theme=theme)

    @property
    def result(self) -> AttentionResult:
        """The followed head."""
        return self._followed(self.computed)

    @property
    def heads(self) -> MultiHeadResult | None:
        """Every head of the layer, when there are several."""
        return self.computed if self.several else None

    @property
    def contrast_result(self) -> AttentionResult | None:
        """The followed head in the contrast sentence (--contrast)."""
        return None if self.contrast is None else self._followed(self.contrast)

    def _followed(self, computed):
        return computed.heads[self.head] if self.several else computed

    @property
    def several(self) -> bool:
        return isinstance(self.computed, MultiHeadResult)

    @property
    def hide_special(self) -> bool:
        return bool(self.hidden)

    def speaking(self) -> "View":
        """The view of a video that speaks, each cue with its spoken form, timed as a silent video."""
        return replace(self, timing={})

    def spoken(self, speech) -> "View":
        """The view of a video that speaks `speech` (scenes.production.voice.Speech): each beat lasts
        as long as its speech."""
        return replace(self, timing=speech.durations(), speech=speech)

    def key(self) -> dict:
        """What of the view decides the frames, for the cache of finished stages (the numbers and
        the stages are keyed apart)."""
        contrast = None if self.contrast is None else hashlib.sha256(pickle.dumps(self.contrast, protocol=4)).hexdigest()
        return {"head": self.head, "focus": self.focus, "hidden": sorted(self.hidden), "language": self.language,
                "quality": self.quality, "timing": self.timing, "keep": sorted(self.keep), "contrast": contrast,
                "pick": repr(self.pick), "theme": self.theme,
                # the trained stage draws its head's row, or says its model is not installed: which one, by the model's
                # presence here (a stage made before it was installed is not reused after)
                "trained": lessons.installed(lessons.example_for(self.language)) if set(self.stages) & set(TOY) else None}


def keep_token(result: AttentionResult, token: str | int, hidden: frozenset[int]) -> int:
    """The index of a token to keep shown (--keep: its text, its last occurrence, or its index, as
    --focus). Raises InputError, one line, for a token not in the sentence or hidden."""
    try:
        index = resolve_focus(result, token)
    except InputError as e:  # resolve_focus names the option it resolves: focus
        raise InputError("keep" + str(e).removeprefix("focus")) from None
    if index in hidden:
        raise InputError(f"keep: {result.tokens[index]!r} is hidden by --hide-special; choose another token")
    return index
