"""Manim scenes for the attention explainer. Importing this package alone does not import manim."""

from __future__ import annotations

from typing import NamedTuple


class StageFacts(NamedTuple):
    """What the rest of the program knows of a stage without importing it (scenes.stages holds its
    class, of the same name)."""

    name: str
    # relative render time (benchmarks/render_bench.py): the longest start first, so that parallel
    # jobs end close together
    weight: int
    several_heads: bool = False  # needs every head of a layer (a model's, or toy multi-head)
    optional: bool = False  # in the video only when asked for (--stage analogy, --stage all-with-analogy; --contrast)


# The stages of the video, in order: every fact about them is here.
STAGE_FACTS = (
    StageFacts("title", 1),
    StageFacts("analogy", 2, optional=True),
    StageFacts("embeddings", 2),
    StageFacts("projection", 4),
    StageFacts("scores", 4),
    StageFacts("softmax", 5),
    StageFacts("weighted-sum", 4),
    StageFacts("heads", 3, several_heads=True),
    StageFacts("contrast", 2, optional=True),
    StageFacts("summary", 3),
)
STAGE_NAMES = tuple(s.name for s in STAGE_FACTS)
SEVERAL_HEADS = tuple(s.name for s in STAGE_FACTS if s.several_heads)
OPTIONAL = tuple(s.name for s in STAGE_FACTS if s.optional)
STAGE_WEIGHT = {s.name: s.weight for s in STAGE_FACTS}
SLIDE_FORMATS = (".html", ".pptx")  # the decks scenes.production.deck writes (named here: importing it loads manim-slides)


def default_stages(several_heads: bool, analogy: bool = False, contrast: bool = False) -> tuple[str, ...]:
    """The whole video: every stage, those about several heads only when there are several, the
    library analogy and the contrast (--contrast) only when asked for."""
    asked = {"analogy": analogy, "contrast": contrast}
    return tuple(s for s in STAGE_NAMES
                 if (several_heads or s not in SEVERAL_HEADS) and (s not in OPTIONAL or asked.get(s, False)))
