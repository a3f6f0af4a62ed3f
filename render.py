"""Render the self-attention explainer video for a sentence.

    python render.py                                  # "I have a cat", all stages, low quality
    python render.py --sentence "The cat sat" --focus cat --quality high --output cat.mp4
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

import click

import attncore
from attncore import InputError
from attncore.numbers import write_atomically
from scenes import STAGE_NAMES

MAX_TOKENS = 40  # longer sentences are refused: past this even the elided grids say little
QUALITIES = {"low": "low_quality", "medium": "medium_quality", "high": "high_quality", "4k": "fourk_quality"}
FORMATS = (".mp4", ".gif", ".webm", ".mov")


class OneLineErrors(click.Command):
    """Every error, click's or ours, as one line `error: ...` and a non-zero exit; never a traceback."""

    def main(self, *args, **kwargs):
        kwargs.pop("standalone_mode", None)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as e:
            click.echo(f"error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except Exception as e:  # a failure inside rendering: still one line, unless debugging
            if os.environ.get("ATTENTION_DEBUG"):
                raise
            click.echo(f"error: rendering failed: {type(e).__name__}: {e} (ATTENTION_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)


def default_output(sentence: str, stages: tuple[str, ...]) -> Path:
    """media/<sentence-slug>[-<stages>].mp4; non-ASCII sentences get a short stable code."""
    ascii_ = unicodedata.normalize("NFKD", sentence).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:40]
    if len(slug) < len(sentence) // 2:
        slug = (slug + "-" if slug else "") + hashlib.blake2b(sentence.encode(), digest_size=4).hexdigest()
    suffix = "" if stages == STAGE_NAMES else "-" + "-".join(stages)
    return Path("media") / f"{slug or 'attention'}{suffix}.mp4"


def compute(sentence, d_model, d_k, seed, positional, causal, weights) -> attncore.AttentionResult:
    result = attncore.run(
        sentence, d_model=d_model, d_k=d_k, seed=seed, positional=positional, causal=causal, weights=weights
    )
    if result.n_tokens > MAX_TOKENS:
        raise InputError(f"sentence: {result.n_tokens} tokens; the video shows at most {MAX_TOKENS}")
    return result


def render_video(result, *, focus, stages, quality: str, output: Path) -> Path:
    """Render into a temporary folder, then move the file into place under its final name."""
    from manim import tempconfig

    from scenes.video import explainer_scene

    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=output.parent) as tmp:
        options = {
            "quality": QUALITIES[quality],
            "media_dir": tmp,
            "output_file": "video",
            "format": output.suffix.lstrip("."),
            "disable_caching": True,
            "verbosity": "WARNING",
            "progress_bar": "display",
        }
        with tempconfig(options):  # the scene reads the config when it is created
            explainer_scene(result, focus=focus, stages=stages).render()
        produced = [p for p in Path(tmp).rglob(f"video{output.suffix}") if "partial_movie_files" not in p.parts]
        if not produced:
            raise click.ClickException(f"rendering produced no {output.suffix} file")
        staged = output.with_name(f".{output.name}.part")
        shutil.move(str(produced[0]), staged)
        staged.replace(output)
    return output


def render_stills(result, *, focus, stages, quality: str, folder: Path) -> list[Path]:
    """Save each stage's key moment and last frame as PNG, plus `stages.png`, a contact sheet of the
    key moments (two columns of half-size pictures). Animations are skipped: this is fast."""
    from manim import tempconfig
    from PIL import Image

    from scenes.theme import DEFAULT_THEME
    from scenes.video import explainer_scene

    pictures: dict[tuple[str, str], Image.Image] = {}

    def on_still(scene, stage, moment):
        pictures[stage, moment] = Image.fromarray(scene.frame()[..., :3])

    with tempfile.TemporaryDirectory(prefix=".stills-") as tmp:
        options = {"quality": QUALITIES[quality], "media_dir": tmp, "dry_run": True, "skip_animations": True,
                   "disable_caching": True, "verbosity": "WARNING", "progress_bar": "none"}
        with tempconfig(options):
            explainer_scene(result, focus=focus, stages=stages, on_still=on_still).render()
    key = [pictures.get((s, "key"), pictures[s, "end"]) for s in stages]
    w, h = key[0].size
    sheet = Image.new("RGB", (w, h // 2 * ((len(key) + 1) // 2)), DEFAULT_THEME.background)
    for n, im in enumerate(key):
        sheet.paste(im.resize((w // 2, h // 2), Image.LANCZOS), ((n % 2) * (w // 2), (n // 2) * (h // 2)))
    written = []
    for (stage, moment), im in [*pictures.items(), (("stages", ""), sheet)]:
        number = f"{STAGE_NAMES.index(stage) + 1}-" if stage in STAGE_NAMES else ""
        path = folder / f"{number}{stage}{'-' + moment if moment else ''}.png"
        buffer = io.BytesIO()
        im.save(buffer, format="PNG")
        write_atomically(path, buffer.getvalue())
        written.append(path)
    return written


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sentence", default=attncore.DEFAULT_SENTENCE, show_default=True, help="The sentence to explain.")
@click.option("--focus", default=None, help="Focus token: its text or index (0-based; -1 = last). Default: the last token.")
@click.option("--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True,
              help="low 480p15, medium 720p30, high 1080p60, 4k 2160p60 (manim's -ql/-qm/-qh/-qk).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Video file; its extension picks the format: .mp4 .gif .webm .mov. Default: media/<sentence>.mp4")
@click.option("--stage", "stages", multiple=True, type=click.Choice(STAGE_NAMES),
              help="Render only these stages, in video order (repeat the option). Default: all.")
@click.option("--d-model", type=click.IntRange(1, 1024), default=None, help="Embedding size (default 4).")
@click.option("--d-k", type=click.IntRange(1, 1024), default=None, help="Query/key size (default d_model).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Seed of the generated weights.")
@click.option("--positional", is_flag=True, help="Add sinusoidal positional encoding to X.")
@click.option("--causal", is_flag=True, help="Mask later tokens (decoder-style attention).")
@click.option("--weights", "weights_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Custom tokens/embeddings/weights, attncore's JSON or .npz.")
@click.option("--numbers", "numbers_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every intermediate to this .json file.")
@click.option("--stills", "stills_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Instead of a video, save PNG stills of each stage (key moment and end) and a contact sheet here.")
@click.option("--dry-run", is_flag=True, help="Compute and validate, print a summary, render nothing.")
def main(sentence, focus, quality, output, stages, d_model, d_k, seed, positional, causal, weights_file,
         numbers_file, stills_dir, dry_run):
    """Render a video explaining self-attention on SENTENCE with its real numbers."""
    stages = tuple(s for s in STAGE_NAMES if s in stages) or STAGE_NAMES
    if output is not None and output.suffix.lower() not in FORMATS:
        raise click.BadParameter(f"{output.name!r} has no video extension; use one of {', '.join(FORMATS)}",
                                 param_hint="--output")
    if numbers_file is not None and numbers_file.suffix.lower() != ".json":
        raise click.BadParameter(f"{numbers_file.name!r} must end in .json", param_hint="--numbers")
    try:
        numbers = attncore.load(weights_file) if weights_file is not None else None
        if numbers is not None and numbers.tokens is not None and sentence == attncore.DEFAULT_SENTENCE:
            sentence = None  # no --sentence given: the file's tokens
        result = compute(sentence, d_model, d_k, seed, positional, causal, numbers)
        from scenes.video import resolve_focus  # imports manim: only once the numbers are valid

        focus_index = resolve_focus(result, focus)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    output = output or default_output(" ".join(result.tokens), stages)
    if dry_run:
        click.echo(f"tokens ({result.n_tokens}): {' | '.join(result.tokens)}")
        click.echo(f"X {result.n_tokens}x{result.d_model}, Q/K {result.n_tokens}x{result.d_k}, "
                   f"V {result.n_tokens}x{result.d_v}, scores {result.n_tokens}x{result.n_tokens}"
                   + (", positional" if result.positional else "") + (", causal" if result.causal else ""))
        click.echo(f"focus: {result.tokens[focus_index]!r} (index {focus_index})")
        click.echo(f"stages: {', '.join(stages)}")
        click.echo(f"would write: {output}" + (f" and {numbers_file}" if numbers_file else ""))
        return
    if numbers_file is not None:
        write_atomically(numbers_file, result.to_json().encode("utf-8"))
    if stills_dir is not None:
        for path in render_stills(result, focus=focus, stages=stages, quality=quality, folder=stills_dir):
            click.echo(str(path))
        return
    path = render_video(result, focus=focus, stages=stages, quality=quality, output=output)
    click.echo(str(path))


if __name__ == "__main__":
    main()
