"""manim's configuration for a render: the quality, the folder, the format, the encoder settings."""

from __future__ import annotations

from pathlib import Path

from ..view import QUALITIES as QUALITY_NAMES

QUALITIES = dict(zip(QUALITY_NAMES, ("low_quality", "medium_quality", "high_quality", "fourk_quality")))
# libx264's settings, chosen by measuring (benchmarks/encoder_bench.py, docs/speed-and-cache.md): on the
# video's flat colours and text "superfast" encodes 1080p 2.2x as fast as manim's default "medium",
# at 44.5 dB PSNR (medium: 44.3) and 1.7x its size (about 4 MB a minute at 1080p60).
ENCODER_OPTIONS = {"crf": "23", "preset": "superfast"}


def render_options(quality: str, tmp: str | Path, suffix: str, texts: str | Path | None = None) -> dict:
    """manim's config for rendering into the folder `tmp` (no bars of its own: see scenes.production.Progress),
    with manim's text cache in `texts` (default: inside `tmp`)."""
    # verbosity first: manim's warning that WebM "can be slower" would land on stdout among the paths
    options = {"verbosity": "ERROR", "quality": QUALITIES[quality], "media_dir": str(tmp), "output_file": "video",
               "format": suffix.lstrip("."), "disable_caching": True,
               "progress_bar": "none", "video_encoder_options": dict(ENCODER_OPTIONS),
               # keep every partial movie: past 100 (manim's default) a long scene, the slides, lost its first ones
               "max_files_cached": -1}
    if texts is not None:
        options["text_dir"] = str(texts)
    return options
