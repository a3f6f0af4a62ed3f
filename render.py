"""Render the self-attention explainer video for a sentence.

    python render.py                                  # "I have a cat", all stages, low quality
    python render.py --sentence "The cat sat" --focus cat --quality high --output cat.mp4
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    sys.stderr.write("error: interrupted; nothing was written\n")
    os._exit(130)


if __name__ == "__main__":  # before the slow imports: an interrupt while starting writes nothing
    for _sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(_sig) is not signal.SIG_IGN:  # a background job's ignored SIGINT stays so
            signal.signal(_sig, _interrupted_while_starting)

import hashlib
import io
import re
import time
import unicodedata
from pathlib import Path

import click

import attncore
from attncore import InputError
from scenes import SLIDE_FORMATS, STAGE_NAMES, default_stages
from scenes.lecture import script_text
from scenes.lifecycle import Staging, interruptible, scratch_folder, staged
from scenes.production import (
    QUALITIES,
    Job,
    StageCache,
    cache_folder,
    frame_rate_of,
    join,
    joined_speech,
    joined_subtitles,
    render_options,
    render_stages,
    segment_suffix,
)
from scenes.strings import LANGUAGES

MAX_TOKENS = 40  # longer sentences are refused: past this even the elided grids say little
FORMATS = (".mp4", ".gif", ".webm", ".mov")
HANDOUT_FORMATS = (".md", ".html")
ALL_WITH_ANALOGY = "all-with-analogy"  # --stage: the whole video, opening with the library analogy


class OneLineErrors(click.Command):
    """Every error, click's or ours, as one line `error: ...` and a non-zero exit; never a traceback."""

    whole_process = False  # render.py run as a program: it exits when the command ends

    def main(self, *args, **kwargs):
        kwargs.pop("standalone_mode", None)
        try:
            # SIGTERM as Ctrl-C: the work folders are removed on the way out, nothing is published
            with interruptible(to_the_end=self.whole_process):
                return super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as e:
            click.echo(f"error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("error: interrupted; nothing was written", err=True)
            sys.exit(130)
        except Exception as e:  # a failure inside rendering: still one line, unless debugging
            if os.environ.get("ATTENTION_DEBUG"):
                raise
            click.echo(f"error: rendering failed: {type(e).__name__}: {e} (ATTENTION_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)


def writable_folder(staging: Staging, path: Path, option: str) -> None:
    """Create the folder `path` will be written in and this render's work folder there (which
    checks that it can be written): one line naming it if not (before any rendering)."""
    folder = path if option == "--stills" else path.parent
    try:
        staging.reserve(folder)
    except OSError as e:
        why = "a file is in the way" if isinstance(e, (FileExistsError, NotADirectoryError)) else e.strerror or str(e)
        raise click.ClickException(f"{option}: cannot write in the folder {str(folder)!r} ({why})") from None


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by "-": "all-MiniLM-L6-v2" -> "all-minilm-l6-v2"."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")


def default_output(sentence: str, stages: tuple[str, ...], origin: str = "") -> Path:
    """media/<sentence-slug>[-<origin>][-<stages>].mp4; non-ASCII sentences get a short stable code.
    `origin` names a model's layer and head ("minilm-l5-h11") or a toy head ("heads2-h0")."""
    slug_ = slug(sentence)[:40]
    if len(slug_) < len(sentence) // 2:
        slug_ = (slug_ + "-" if slug_ else "") + hashlib.blake2b(sentence.encode(), digest_size=4).hexdigest()
    if stages in (default_stages(False), default_stages(True)):
        suffix = ""
    elif stages in (default_stages(False, analogy=True), default_stages(True, analogy=True)):
        suffix = "-with-analogy"
    else:
        suffix = "-" + "-".join(stages)
    return Path("media") / f"{slug_ or 'attention'}{'-' + origin if origin else ''}{suffix}.mp4"


def compute(sentence, d_model, d_k, seed, positional, causal, weights, model=None, layer=None, head=None,
            heads=None) -> attncore.AttentionResult | attncore.MultiHeadResult:
    """The numbers to explain: one head (AttentionResult), or with a model or `heads` every head of
    the layer (MultiHeadResult), the video following head `head` (default 0)."""
    if model is None:
        for name, given in (("layer", layer), ("head", head if heads is None else None)):
            if given is not None:
                raise InputError(f"{name}: goes with --model" + (" or --heads N" if name == "head" else ""))
    elif heads is None:
        from attncore.model import load_model

        heads = load_model(model).n_heads  # every head of the layer, for the heads stage
    result = attncore.run(sentence, d_model=d_model, d_k=d_k, seed=seed, positional=positional, causal=causal,
                          weights=weights, model=model, layer=layer or 0, heads=heads)
    if heads is not None and not 0 <= (head or 0) < heads:
        raise InputError(f"head: {head} is out of range; there are heads 0 to {heads - 1} (0-based)")
    n = len(result.tokens)
    if n > MAX_TOKENS:
        raise InputError(f"sentence: {n} tokens; the video shows at most {MAX_TOKENS}")
    return result


def origin_name(result, model, head) -> str:
    """What the default file name says about where the numbers come from."""
    if model is not None:
        from attncore.model import MODELS

        name = model if model in MODELS else slug(result.heads[0].model) or "model"
        return f"{name}-l{result.heads[0].layer}-h{head or 0}"
    if isinstance(result, attncore.MultiHeadResult):
        return f"heads{result.n_heads}-h{head or 0}"
    return ""


def subtitles_path(output: Path) -> Path:
    """The subtitles beside the video: media/cat.mp4 -> media/cat.srt."""
    return output.with_suffix(".srt")


class Progress:
    """One progress bar for a whole render, on stderr: stages done of all, the time left (from the
    stages' pace), the stages being rendered and the frames so far. When stderr is not a terminal
    (a log), one line per finished stage instead. Nothing with `quiet`."""

    def __init__(self, stages, quiet: bool, fps: float):
        from tqdm import tqdm

        self.fps = fps
        self.total = len(stages)
        self.frames: dict[str, int] = {}  # frames made so far, per stage
        self.done: set[str] = set()
        self.lines = not quiet and not sys.stderr.isatty()
        self.started = time.perf_counter()
        self.bar = None if quiet or self.lines else tqdm(
            total=len(stages), desc="rendering", unit="stage", file=sys.stderr, leave=False, dynamic_ncols=True,
            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| {elapsed}<{remaining}{postfix}")

    def on_progress(self, stage: str, seconds: float) -> None:
        """`stage` has made `seconds` of its video."""
        self.frames[stage] = round(seconds * self.fps)
        self.show()

    def on_done(self, stage: str, frames: int, cached: bool = False) -> None:
        self.frames[stage] = frames
        self.done.add(stage)
        if self.lines:
            print(f"rendering: {len(self.done)}/{self.total} stages, {stage} done ({frames} frames"
                  f"{', from the cache' if cached else ''}), {time.perf_counter() - self.started:.1f} s",
                  file=sys.stderr, flush=True)
        if self.bar is not None:
            self.bar.update(1)
        self.show()

    def show(self) -> None:
        if self.bar is not None:
            active = [s for s in self.frames if s not in self.done]
            self.bar.set_postfix_str(f"{', '.join(active) + ', ' if active else ''}{sum(self.frames.values())} frames")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def render_parts(result, *, focus, stages, quality: str, tmp: Path, suffix: str, language: str = "en",
                 head: int = 0, hide_special: bool = False, quiet: bool = True, jobs: int | None = None,
                 cache: bool = True, speech=None):
    """The one render path of the video and the slides: every stage's pieces, from the cache of
    finished stages where they are there, the others rendered in `jobs` processes into `tmp`; with
    `speech` (scenes.voice.Speech) each beat lasts as long as its speech.
    Returns (the stages' Made, manim's config of width, height and frame rate)."""
    from manim import config, tempconfig

    store = StageCache.open() if cache else None
    view = dict(focus=focus, language=language, head=head, hide_special=hide_special)
    if speech is not None:
        view["speech"] = speech.durations()
    job = Job(result, view, quality, segment_suffix(suffix), str(store.texts) if store else None)
    with tempconfig(render_options(quality, tmp, suffix)):
        fps, width, height = config.frame_rate, config.pixel_width, config.pixel_height
    progress = Progress(stages, quiet, fps)
    try:
        made = render_stages(job, stages, tmp, jobs=jobs or default_jobs(), cache=store,
                             on_progress=progress.on_progress, on_done=lambda m: progress.on_done(m.stage, m.frames, m.cached))
    finally:
        progress.close()
    if store is not None:
        store.prune()
    return made, dict(width=width, height=height, frame_rate=frame_rate_of(fps))


@staged
def render_video(result, *, output: Path, staging: Staging, subtitles: bool = False, **options):
    """Render the stages (render_parts) into `staging`'s work folder beside `output` and join them:
    the video (and with `subtitles` the .srt beside it), moved into place when `staging` publishes
    (without one, at the end of this call). Returns the stages' videos (scenes.production.Made:
    frames, wall seconds, whether cached)."""
    tmp = staging.scratch(output.parent, "stages")
    made, video_format = render_parts(result, tmp=tmp, suffix=output.suffix, **options)
    join(made, staging.place(output), **video_format, audio=sound_track(made, options.get("speech"), video_format))
    if subtitles:
        staging.place(subtitles_path(output)).write_text(joined_subtitles(made, float(video_format["frame_rate"])),
                                                         encoding="utf-8")
    return made


@staged
def render_slides(result, *, output: Path, staging: Staging, quiet: bool = True, **options):
    """The slides (a slide ends at every pause, the narration as presenter notes), cut from the same
    stage renders as the video (render_parts: parallel, cached), converted to `output` (.html, one
    offline file, or .pptx), moved into place when `staging` publishes (without one, at the end of
    this call). Returns the slides."""
    from scenes.slides import convert, cut_slides, install_reveal_assets
    from scenes.theme import DEFAULT_THEME

    if output.suffix == ".html":
        try:
            install_reveal_assets()  # before minutes of rendering: fails at once when reveal.js is missing
        except FileNotFoundError as e:
            raise click.ClickException(f"slides: {e}") from None
    tmp = staging.scratch(output.parent, "stages")
    made, video_format = render_parts(result, tmp=tmp, suffix=".mp4", quiet=quiet, **options)
    slides = cut_slides(made, staging.scratch(output.parent, "slides"), **video_format,
                        audio=sound_track(made, options.get("speech"), video_format))
    first = result.heads[0] if isinstance(result, attncore.MultiHeadResult) else result
    title = first.sentence if first.sentence is not None else attncore.join_tokens(first.tokens)
    convert(slides, staging.place(output), title=title, background=DEFAULT_THEME.background,
            resolution=(video_format["width"], video_format["height"]), quiet=quiet,
            spoken=options.get("speech") is not None)
    return slides


def sound_track(made, speech, video_format):
    """The spoken video's sound track (48 kHz mono samples), or None when it does not speak."""
    if speech is None:
        return None
    fps = video_format["frame_rate"]
    return speech.track(joined_speech(made, fps), sum(m.frames for m in made) / fps)


def prepare_speech(result, voice, *, cache: bool, quiet: bool, **options):
    """Every narration line in its spoken form, from a fast run of the stages (the words do not
    depend on the timing), synthesised by `voice` or taken from the cache (scenes.voice)."""
    from scenes.voice import VoiceError, progress_line, speech_for

    scene = fast_run(result, **options, speaking=True)
    try:
        speech = speech_for([cue.spoken for cue in scene.log.cues], voice, cache_folder() if cache else None)
    except VoiceError as e:
        raise click.ClickException(str(e)) from None
    progress_line(speech, quiet)
    return speech


def fast_run(result, *, focus, stages, quality: str, language: str, on_still=None, head: int = 0,
             hide_special: bool = False, speech=None, speaking: bool = False):
    """Play the stages with animations skipped and nothing written (seconds, not minutes): the
    stills and the script come from this (timed by `speech` when the video speaks). With `speaking`
    and no `speech`, each cue records its spoken form with the silent video's timing (prepare_speech).
    Returns the scene."""
    from manim import tempconfig

    from scenes.video import explainer_scene

    store = StageCache.open()
    with scratch_folder() as tmp:
        with tempconfig({**render_options(quality, tmp, ".mp4", store.texts if store else None), "dry_run": True}):
            scene = explainer_scene(result, focus=focus, stages=stages, language=language, on_still=on_still,
                                    skip_animations=True, head=head, hide_special=hide_special,
                                    speech=speech.durations() if speech is not None else {} if speaking else None)
            scene.render()
    return scene


def render_stills(result, *, focus, stages, quality: str, folder: Path, staging: Staging, language: str = "en",
                  head: int = 0, hide_special: bool = False):
    """Save each stage's key moment and last frame as PNG, plus `stages.png`, a contact sheet of the
    key moments (two columns of half-size pictures), moved into `folder` when `staging` publishes.
    Animations are skipped: this is fast. Returns the paths written and the scene."""
    from PIL import Image

    from scenes.theme import DEFAULT_THEME

    pictures: dict[tuple[str, str], Image.Image] = {}

    def on_still(scene, stage, moment):
        pictures[stage, moment] = Image.fromarray(scene.frame()[..., :3])

    scene = fast_run(result, focus=focus, stages=stages, quality=quality, language=language, on_still=on_still,
                     head=head, hide_special=hide_special)
    order = default_stages(scene.ctx.heads is not None)
    key = [pictures.get((s, "key"), pictures[s, "end"]) for s in stages]
    w, h = key[0].size
    sheet = Image.new("RGB", (w, h // 2 * ((len(key) + 1) // 2)), DEFAULT_THEME.background)
    for n, im in enumerate(key):
        sheet.paste(im.resize((w // 2, h // 2), Image.LANCZOS), ((n % 2) * (w // 2), (n // 2) * (h // 2)))
    written = []
    for (stage, moment), im in [*pictures.items(), (("stages", ""), sheet)]:
        number = f"{order.index(stage) + 1}-" if stage in order else ""
        path = folder / f"{number}{stage}{'-' + moment if moment else ''}.png"
        buffer = io.BytesIO()
        im.save(buffer, format="PNG")
        staging.place(path).write_bytes(buffer.getvalue())
        written.append(path)
    return written, scene


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sentence", default=attncore.DEFAULT_SENTENCE, show_default=True, help="The sentence to explain.")
@click.option("--focus", default=None, help="Focus token: its text or index (0-based; -1 = last). Default: the last token.")
@click.option("--quality", type=click.Choice(list(QUALITIES)), default="low", show_default=True,
              help="low 480p15, medium 720p30, high 1080p60, 4k 2160p60 (manim's -ql/-qm/-qh/-qk).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Video file; its extension picks the format: .mp4 .gif .webm .mov. Default: media/<sentence>.mp4")
@click.option("--stage", "stages", multiple=True, type=click.Choice([*STAGE_NAMES, ALL_WITH_ANALOGY]),
              help="Render only these stages, in video order (repeat the option). Default: the whole video, "
                   f"without the optional library analogy; {ALL_WITH_ANALOGY} is the whole video opening with it.")
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
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of everything on screen, the subtitles and the script: en (English), zh (简体中文).")
@click.option("--subtitles", is_flag=True, help="Also write the narration as subtitles beside the video (.srt, same name).")
@click.option("--script", "script_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of a video, write the narration as a Markdown script with timestamps (FILE.md).")
@click.option("--model", default=None, metavar="NAME|DIR",
              help="A pretrained model's real attention instead of the toy numbers: minilm (all-MiniLM-L6-v2, "
                   "English), m3e-small (Chinese), a folder with a BERT or GPT-2 checkpoint, or a model's name in "
                   "the local Hugging Face cache (never downloaded).")
@click.option("--layer", type=int, default=None, help="With --model: the layer, counted from 0 (default 0).")
@click.option("--head", type=int, default=None,
              help="With --model or --heads: the head the video follows, counted from 0 (default 0).")
@click.option("--heads", type=click.IntRange(1), default=None,
              help="Toy multi-head attention: N heads of d_model/N dimensions, joined by W_O.")
@click.option("--overview", is_flag=True,
              help="Render only the heads stage: every head of the layer as a heat map, to pick a head.")
@click.option("--hide-special", is_flag=True,
              help="With --model: leave [CLS] and [SEP] out of the pictures (they still take part in the softmax).")
@click.option("--slides", is_flag=True,
              help="Instead of a video, make click-through slides: a slide per pause, the narration as presenter "
                   "notes. --output NAME.html (one file that works offline; default media/<sentence>.html) or NAME.pptx.")
@click.option("--handout", "handout_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of a video, write a printable handout: every matrix as a table and the worked steps "
                   "(FILE.md or FILE.html).")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="Stages rendered at once, each in its own process. Default: the number of cores.")
@click.option("--no-cache", is_flag=True,
              help="Render every stage again instead of reusing the finished stages an earlier render left in the "
                   "cache (~/.cache/attention-explainer; ATTENTION_EXPLAINER_CACHE=off turns it off).")
@click.option("--voice", is_flag=True,
              help="The video speaks its narration in --lang, offline: each beat lasts as long as its speech. Also "
                   "with --slides and --script (their timing follows). Needs `make voice`.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--dry-run", is_flag=True, help="Compute and validate, print a summary, render nothing.")
def main(sentence, focus, quality, output, stages, d_model, d_k, seed, positional, causal, weights_file,
         numbers_file, stills_dir, language, subtitles, script_file, model, layer, head, heads, overview,
         hide_special, slides, handout_file, jobs, no_cache, voice, quiet, dry_run):
    """Render a video explaining self-attention on SENTENCE with its real numbers."""
    if overview and stages:
        raise click.UsageError("--overview is the heads stage alone; leave out --stage")
    if hide_special and model is None:
        raise click.UsageError("--hide-special goes with --model (only a model's tokenizer adds [CLS] and [SEP])")
    no_video = [name for name, given in (("--stills", stills_dir), ("--script", script_file),
                                         ("--handout", handout_file)) if given is not None]
    if subtitles and (no_video or slides):
        raise click.UsageError(f"--subtitles goes with a video; {(no_video or ['--slides'])[0]} renders none")
    if voice and (stills_dir is not None or handout_file is not None):
        raise click.UsageError(f"--voice goes with a video, --slides or --script; "
                               f"{'--stills' if stills_dir is not None else '--handout'} has no sound")
    if voice and output is not None and output.suffix.lower() == ".gif":
        raise click.UsageError("--voice: a GIF has no sound; use .mp4, .webm or .mov")
    if slides and no_video:
        raise click.UsageError(f"--slides and {no_video[0]} make different outputs; run them one at a time")
    if output is not None and slides and output.suffix.lower() not in SLIDE_FORMATS:
        raise click.BadParameter(f"{output.name!r}: slides are written as {' or '.join(SLIDE_FORMATS)}",
                                 param_hint="--output")
    if output is not None and not slides and output.suffix.lower() not in FORMATS:
        raise click.BadParameter(f"{output.name!r} has no video extension; use one of {', '.join(FORMATS)}"
                                 + (" (or --slides for .html/.pptx)" if output.suffix.lower() in SLIDE_FORMATS else ""),
                                 param_hint="--output")
    if handout_file is not None and handout_file.suffix.lower() not in HANDOUT_FORMATS:
        raise click.BadParameter(f"{handout_file.name!r} must end in {' or '.join(HANDOUT_FORMATS)}",
                                 param_hint="--handout")
    if numbers_file is not None and numbers_file.suffix.lower() != ".json":
        raise click.BadParameter(f"{numbers_file.name!r} must end in .json", param_hint="--numbers")
    if script_file is not None and script_file.suffix.lower() != ".md":
        raise click.BadParameter(f"{script_file.name!r} must end in .md", param_hint="--script")
    try:
        numbers = attncore.load(weights_file) if weights_file is not None else None
        if numbers is not None and numbers.tokens is not None and sentence == attncore.DEFAULT_SENTENCE:
            sentence = None  # no --sentence given: the file's tokens
        computed = compute(sentence, d_model, d_k, seed, positional, causal, numbers, model, layer, head, heads)
        several = isinstance(computed, attncore.MultiHeadResult)
        if overview:
            stages = ("heads",)
        elif ALL_WITH_ANALOGY in stages:
            stages = default_stages(several, analogy=True)
        else:
            stages = tuple(s for s in STAGE_NAMES if s in stages) or default_stages(several)
        from scenes.video import explainer_scene  # checks the view: stages, focus, hidden tokens

        explainer_scene(computed, focus=focus, stages=stages, language=language, head=head or 0,
                        hide_special=hide_special)
        result = computed.heads[head or 0] if several else computed
        focus_index = attncore.resolve_focus(result, focus)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    output = output or default_output(result.sentence or " ".join(result.tokens), stages,
                                      origin_name(computed, model, head)).with_suffix(".html" if slides else ".mp4")
    speaker = None
    if voice:  # at once, before any rendering: is the voice installed?
        from scenes.voice import VoiceError, find_voice, voice_language

        try:
            speaker = find_voice(voice_language(language))
        except VoiceError as e:
            raise click.ClickException(str(e)) from None
    if dry_run:
        if speaker is not None:
            click.echo(f"voice: {speaker.name}")
        if result.source is not None:
            click.echo(f"model: {result.source}")
        elif several:
            click.echo(f"heads: {computed.n_heads} of {computed.d_head} dimensions; following head {result.head}")
        click.echo(f"tokens ({result.n_tokens}): {' | '.join(result.tokens)}")
        click.echo(f"X {result.n_tokens}x{result.d_model}, Q/K {result.n_tokens}x{result.d_k}, "
                   f"V {result.n_tokens}x{result.d_v}, scores {result.n_tokens}x{result.n_tokens}"
                   + (", positional" if result.positional else "") + (", causal" if result.causal else "")
                   + (", [CLS]/[SEP] hidden" if hide_special else ""))
        click.echo(f"focus: {result.tokens[focus_index]!r} (index {focus_index})")
        click.echo(f"stages: {', '.join(stages)}")
        click.echo(f"language: {language}")
        targets = [str(output)] + ([str(subtitles_path(output))] if subtitles else [])
        if no_video:
            targets = [str(p) for p in (stills_dir, script_file, handout_file) if p is not None]
        click.echo("would write: " + ", ".join(targets + ([str(numbers_file)] if numbers_file else [])))
        return
    with Staging() as staging:
        written = make(staging, computed, no_video=no_video, stills_dir=stills_dir, script_file=script_file,
                       handout_file=handout_file, numbers_file=numbers_file, output=output, subtitles=subtitles,
                       slides=slides, speaker=speaker, quiet=quiet, jobs=jobs, no_cache=no_cache,
                       options=dict(focus=focus, stages=stages, quality=quality, language=language,
                                    head=head or 0, hide_special=hide_special))
        staging.publish(deaf_after=True)  # every output at once: until here an interruption leaves none
    for path in written:
        click.echo(str(path))


def make(staging: Staging, result, *, no_video, stills_dir, script_file, handout_file, numbers_file, output,
         subtitles, slides, speaker, quiet, jobs, no_cache, options) -> list[Path]:
    """Every output asked for, made in `staging` (published by the caller). Returns their paths."""
    for path, option in ((stills_dir, "--stills"), (script_file, "--script"), (handout_file, "--handout"),
                         (numbers_file, "--numbers"), (None if no_video else output, "--output")):
        if path is not None:
            writable_folder(staging, path, option)
    written = []
    if numbers_file is not None:  # every head, when there are several
        staging.place(numbers_file).write_bytes(result.to_json().encode("utf-8"))
    if speaker is not None:
        options["speech"] = prepare_speech(result, speaker, cache=not no_cache, quiet=quiet, **options)
    if handout_file is not None:
        if handout_file.suffix.lower() == ".html":  # the page to explore: every token and head
            from scenes.explore import page as handout
        else:  # the printed handout, in Markdown
            from scenes.handout import handout
        text = handout(result, focus=options["focus"], language=options["language"], head=options["head"],
                       hide_special=options["hide_special"])
        staging.place(handout_file).write_bytes(text.encode("utf-8"))
        written.append(handout_file)
    if stills_dir is not None or script_file is not None:
        scene = None
        if stills_dir is not None:
            paths, scene = render_stills(result, folder=stills_dir, staging=staging, **options)
            written += paths
        if script_file is not None:
            scene = scene or fast_run(result, **options)
            staging.place(script_file).write_bytes(script_text(scene.ctx, scene.log.cues).encode("utf-8"))
            written.append(script_file)
    if no_video:
        return written
    if slides:
        render_slides(result, output=output, staging=staging, quiet=quiet, jobs=jobs, cache=not no_cache, **options)
        return written + [output]
    render_video(result, output=output, staging=staging, subtitles=subtitles, quiet=quiet, jobs=jobs,
                 cache=not no_cache, **options)
    return written + ([subtitles_path(output)] if subtitles else []) + [output]


if __name__ == "__main__":
    OneLineErrors.whole_process = True
    main()
