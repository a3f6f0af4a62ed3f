"""Manim scenes for the attention explainer. Importing this package alone does not import manim."""

# The stages of the video in order; scenes.stages holds one class per name.
STAGE_NAMES = ("title", "embeddings", "projection", "scores", "softmax", "weighted-sum", "summary")
