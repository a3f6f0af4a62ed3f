"""Manim scenes for the attention explainer. Importing this package alone does not import manim."""

# The stages of the video in order; scenes.stages holds one class per name.
STAGE_NAMES = ("title", "analogy", "embeddings", "projection", "scores", "softmax", "weighted-sum", "heads", "summary")
SEVERAL_HEADS = ("heads",)  # stages that need every head of a layer (a model's, or toy multi-head)
OPTIONAL = ("analogy",)  # in the video only when asked for (--stage analogy, --stage all-with-analogy)


def default_stages(several_heads: bool, analogy: bool = False) -> tuple[str, ...]:
    """The whole video: every stage, those about several heads only when there are several, the
    library analogy only when asked for."""
    return tuple(s for s in STAGE_NAMES
                 if (several_heads or s not in SEVERAL_HEADS) and (analogy or s not in OPTIONAL))
