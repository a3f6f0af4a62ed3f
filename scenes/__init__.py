"""Manim scenes for the attention explainer. Importing this package alone does not import manim."""

from __future__ import annotations

import itertools
from typing import NamedTuple


class StageFacts(NamedTuple):
    """What the rest of the program knows of a stage without importing it (scenes.stages finds its
    class, of the same name, in the module named after it: "weighted-sum" -> stages/weighted_sum.py).

    An entry with none of the conditions below joins EVERY default video (render.py with no --stage):
    every default render, its golden frames (tests/frames), its slide count and its stills change. Each
    condition keeps the stage out of the default video unless the computation has what it shows;
    `--stage NAME` asks for any stage by name (View.resolve refuses one whose condition fails)."""

    name: str
    # relative render time (benchmarks/render_bench.py): the longest start first, so that parallel
    # jobs end close together
    weight: int
    several_heads: bool = False  # needs every head of a layer (a model's, or toy multi-head)
    on_request: bool = False  # in the video only when its input is given (the contrast stage: --contrast SENTENCE)
    # its stills are numbered by its place among the numbered stages (1-title-key.png, 2-embeddings-key.png, ...); the
    # analogy, an unnumbered opening like its heading, is not: the numbered names stay those docs and scripts link
    numbered: bool = True
    rope: bool = False  # about rotary positions: in the video only for a head that has them (a llama or Qwen2 model's)
    generating: bool = False  # generates a next token: in the video only for a decoder model that predicts one
    toy: bool = False  # about the toy numbers: in the video only for them (a model's head is a trained one already)


# The stages of the video, in order: every fact about them is here, and this is the one declaration of their order.
STAGE_FACTS = (
    StageFacts("title", 1),
    StageFacts("analogy", 3, numbered=False),  # the library analogy (seed 000): the video's opening
    StageFacts("embeddings", 2),
    StageFacts("projection", 4),
    StageFacts("rope", 3, numbered=False, rope=True),  # RoPE turns q and k by position (decoders like llama, Qwen2)
    StageFacts("scores", 4),
    StageFacts("softmax", 5),
    StageFacts("weighted-sum", 4),
    StageFacts("heads", 3, several_heads=True),
    StageFacts("kv-cache", 3, numbered=False, generating=True),  # the next token against the KV cache (decoders)
    StageFacts("contrast", 2, on_request=True),
    StageFacts("summary", 3),
    # the toy's weights were not learned; a trained head's row for the same idea (attncore.lessons.trained)
    StageFacts("trained", 2, numbered=False, toy=True),
)
STAGE_NAMES = tuple(s.name for s in STAGE_FACTS)
SEVERAL_HEADS = tuple(s.name for s in STAGE_FACTS if s.several_heads)
ON_REQUEST = tuple(s.name for s in STAGE_FACTS if s.on_request)
ROPE = tuple(s.name for s in STAGE_FACTS if s.rope)
GENERATING = tuple(s.name for s in STAGE_FACTS if s.generating)
TOY = tuple(s.name for s in STAGE_FACTS if s.toy)
NUMBERED = tuple(s.name for s in STAGE_FACTS if s.numbered)
STAGE_WEIGHT = {s.name: s.weight for s in STAGE_FACTS}
SLIDE_FORMATS = (".html", ".pptx")  # the decks scenes.production.deck writes (named here: importing it loads manim-slides)


def default_stages(several_heads: bool, contrast: bool = False, rope: bool = False,
                   generating: bool = False, model: bool = False) -> tuple[str, ...]:
    """The whole video: every stage (the library analogy opening it), those about several heads only
    when there are several, the contrast only when asked for (--contrast), RoPE only for a head with
    rotary positions (`rope`), the KV cache only for a decoder model that predicts next tokens
    (`generating`: attncore.generation.can_generate), the trained head after the toy numbers only (not
    after a `model`'s head)."""
    asked = {"contrast": contrast}
    return tuple(s for s in STAGE_NAMES
                 if (several_heads or s not in SEVERAL_HEADS) and (s not in ON_REQUEST or asked.get(s, False))
                 and (rope or s not in ROPE) and (generating or s not in GENERATING) and (not model or s not in TOY))


def all_defaults() -> frozenset[tuple[str, ...]]:
    """Every whole video default_stages gives, whatever the computation (render.py names its file by it)."""
    return frozenset(default_stages(*f) for f in itertools.product((False, True), repeat=5))
