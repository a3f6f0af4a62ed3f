"""Manim scenes for the attention explainer. Importing this package alone does not import manim."""

# The stages of the video in order; scenes.stages holds one class per name.
STAGE_NAMES = ("title", "embeddings", "projection", "scores", "softmax", "weighted-sum", "heads", "summary")
SEVERAL_HEADS = ("heads",)  # stages that need every head of a layer (a model's, or toy multi-head)


def default_stages(several_heads: bool) -> tuple[str, ...]:
    """The whole video: every stage, those about several heads only when there are several."""
    return tuple(s for s in STAGE_NAMES if several_heads or s not in SEVERAL_HEADS)
