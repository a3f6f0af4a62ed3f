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

from pathlib import Path

import click

import attncore
from attncore import InputError
from attncore.strings import catalogue
from attncore.tables import origin
from scenes import STAGE_NAMES, outputs
from scenes.outputs import OptionError, Settings
from scenes.production.lifecycle import Staging, interruptible
from scenes.production.names import default_output, origin_name
from scenes.production.voice import VoiceError
from scenes.resolve import ALL_WITH_ANALOGY, AUTO, resolve_view, video_stages
from scenes.strings import LANGUAGES
from scenes.view import QUALITIES, THEMES, View

# --help's sections: every option is in one (tests/test_render.py)
GROUPS = {"Input": ("--sentence", "--focus", "--keep", "--weights", "--d-model", "--d-k", "--seed", "--positional", "--causal",
                    "--heads"),
          "Model": ("--model", "--layer", "--head", "--contrast", "--hide-special"),
          "Outputs": (*outputs.options(), "--subtitles", "--voice", "--dry-run"),
          "Video": ("--stage", "--overview", "--lang", "--quality", "--theme"),
          "Course": ("--course", "--cluster"),
          "Live": ("--live", "--port", "--host", "--remote-render"),
          "Performance": ("--jobs", "--no-cache", "--quiet", "--help")}


class HeadChoice(click.ParamType):
    """--head: a head's number (0-based) or auto."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == AUTO:
            return value
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a head's number nor {AUTO}", param, ctx)


class OneLineErrors(click.Command):
    """Every error, click's or ours, as one line `error: ...` and a non-zero exit; never a traceback.
    --help lists the options by purpose (GROUPS)."""

    whole_process = False  # render.py run as a program: it exits when the command ends

    def main(self, *args, **kwargs):
        kwargs.pop("standalone_mode", None)
        try:
            # SIGTERM as Ctrl-C: the work folders are removed on the way out, nothing is published
            with interruptible(to_the_end=self.whole_process):
                return super().main(*args, standalone_mode=False, **kwargs)
        except OptionError as e:  # a clash of options, named as click names its own
            error = click.BadParameter(str(e), param_hint=e.option) if e.option else click.UsageError(str(e))
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except (InputError, VoiceError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except click.ClickException as e:
            click.echo(f"error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("error: interrupted; nothing was written", err=True)
            sys.exit(130)
        except Exception as e:  # a failure inside rendering: still one line, unless debugging
            if caused_by_interrupt(e):
                click.echo("error: interrupted; nothing was written", err=True)
                sys.exit(130)
            if os.environ.get("ATTENTION_DEBUG"):
                raise
            click.echo(f"error: rendering failed: {type(e).__name__}: {e} (ATTENTION_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)

    def format_options(self, ctx, formatter):
        records = [(p, p.get_help_record(ctx)) for p in self.get_params(ctx)]
        for group, names in GROUPS.items():
            with formatter.section(group):
                formatter.write_dl([r for p, r in records if r and set(p.opts) & set(names)])


def caused_by_interrupt(error):
    """Whether an interrupt lies under this error: Python 3.11 wraps one raised during a class body's
    __set_name__ (a signal landing while scipy imports, say) in a RuntimeError."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def output_options(command):
    """An option for each output of the registry (scenes.outputs): a file, a folder, or a flag."""
    for option, output in outputs.options().items():  # the last one applied is listed first
        kind = dict(is_flag=True) if output.flag else dict(type=click.Path(  # --output: --course's folder too
            file_okay=not output.folder, dir_okay=output.folder or option == "--output", path_type=Path), default=None)
        command = click.option(option, **kind, help=output.help)(command)
    return command


def summary(view: View, speaker, targets: list[Path]) -> None:
    """--dry-run: what would be explained and written."""
    r = view.result
    if speaker is not None:
        click.echo(f"voice: {speaker.name}")
    if r.source is not None:  # and a GGUF file's quantization, the K/V head a grouped head reads
        source, *more = origin(r, catalogue("en"), view.computed.n_heads if view.several else None)
        click.echo("\n".join([f"model: {source}", *more]))
    elif view.several:
        click.echo(f"heads: {view.computed.n_heads} of {view.computed.d_head} dimensions; following head {r.head}")
    click.echo(f"tokens ({r.n_tokens}): {' | '.join(r.tokens)}")
    click.echo(f"X {r.n_tokens}x{r.d_model}, Q/K {r.n_tokens}x{r.d_k}, V {r.n_tokens}x{r.d_v}, scores "
               f"{r.n_tokens}x{r.n_tokens}" + (", positional" if r.positional else "") + (", causal" if r.causal else "")
               + (f", {'/'.join(dict.fromkeys(r.tokens[i] for i in sorted(view.hidden)))} hidden" if view.hide_special else ""))
    click.echo(f"focus: {r.tokens[view.focus]!r} (index {view.focus})")
    if view.contrast is not None:
        click.echo(f"contrast: {' | '.join(view.contrast_result.tokens)}")
    if view.pick is not None:
        click.echo("head: " + view.pick.describe(r.tokens, view.contrast_result.tokens if view.contrast else None))
    if view.keep:
        click.echo("keep: " + ", ".join(f"{r.tokens[k]!r} (index {k})" for k in sorted(view.keep)))
    click.echo(f"stages: {', '.join(view.stages)}")
    click.echo(f"language: {view.language}")
    click.echo(f"theme: {view.theme}")
    click.echo("would write: " + ", ".join(map(str, targets)))


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sentence", default=attncore.DEFAULT_SENTENCE, show_default=True, help="The sentence to explain.")
@click.option("--focus", default=None, help="Focus token: its text or index (0-based; -1 = last). Default: the last word; with causal attention a word in the middle, whose row has later tokens masked.")
@click.option("--keep", multiple=True, metavar="TOKEN",
              help="Keep this token (text or index, as --focus) in every picture where long sentences are elided; "
                   "repeat the option. The focus token's largest weights are always kept.")
@click.option("--quality", type=click.Choice(QUALITIES), default="low", show_default=True,
              help="low 480p15, medium 720p30, high 1080p60, 4k 2160p60 (manim's -ql/-qm/-qh/-qk).")
@click.option("--theme", type=click.Choice(THEMES), default=THEMES[0], show_default=True,
              help="The colours of every output: dark (a screen in a dark room), or light (a white background for a "
                   "washed-out projector or for print). Every text meets WCAG AA contrast in both.")
@click.option("--stage", "stages", multiple=True, type=click.Choice([*STAGE_NAMES, ALL_WITH_ANALOGY]),
              help="Render only these stages, in video order (repeat the option). Default: the whole video, "
                   f"opening with the library analogy ({ALL_WITH_ANALOGY}: the same, kept for old commands).")
@output_options
@click.option("--d-model", type=click.IntRange(1, 1024), default=None, help="Embedding size (default 4).")
@click.option("--d-k", type=click.IntRange(1, 1024), default=None, help="Query/key size (default d_model).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Seed of the generated weights.")
@click.option("--positional", is_flag=True, help="Add sinusoidal positional encoding to X.")
@click.option("--causal", is_flag=True, help="Mask later tokens (decoder-style attention).")
@click.option("--weights", "weights_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Custom tokens/embeddings/weights, attncore's JSON or .npz.")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of everything on screen, the subtitles and the script: en (English), zh (简体中文).")
@click.option("--subtitles", is_flag=True, help="Also write the narration as subtitles beside the video (.srt, same name).")
@click.option("--model", default=None, metavar="NAME|DIR",
              help="A pretrained model's real attention instead of the toy numbers: minilm (all-MiniLM-L6-v2, "
                   "English), m3e-small (Chinese), the decoders smollm2-135m (English) and qwen2.5-coder-0.5b "
                   "(Chinese too), 4-bit GGUF files; a folder with a BERT, RoBERTa, GPT-2, llama or Qwen2 checkpoint, a GGUF "
                   "file, or a model's name in the local Hugging Face cache (never downloaded).")
@click.option("--layer", type=int, default=None, help="With --model: the layer, counted from 0 (default 0).")
@click.option("--head", type=HeadChoice(), default=None,
              help="With --model or --heads: the head the video follows, counted from 0, or auto: the head (of every "
                   "layer, or of --layer) whose focus row gives one content word the largest share. Default: auto with "
                   "--model and no --layer, else 0.")
@click.option("--contrast", default=None, metavar="SENTENCE",
              help="With --model or --heads: a minimal pair, the sentence with a word changed (as many tokens, the focus "
                   "at the same place). Follows the head whose focus row moves most between the two (of --layer, or "
                   "--head itself, when given) and adds the contrast stage: both rows side by side.")
@click.option("--heads", type=click.IntRange(1), default=None,
              help="Toy multi-head attention: N heads of d_model/N dimensions, joined by W_O.")
@click.option("--overview", is_flag=True,
              help="Render only the heads stage: every head of the layer as a heat map, to pick a head.")
@click.option("--hide-special", is_flag=True,
              help="With --model: leave the special tokens its tokenizer adds around the sentence out of the pictures "
                   "(they still take part in the softmax).")
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
@click.option("--course", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Render a course: every lecture of a TOML file (docs/course.md) as one batch into --output FOLDER "
                   "(default media/<course title>), with an offline site (index.html). Resumes where a run stopped.")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="With --course: render the stages on a Dask cluster (its scheduler's address, e.g. "
                   "tcp://10.0.0.5:8786; default $DASK_SCHEDULER_ADDRESS). Needs the cluster extra.")
@click.option("--live", is_flag=True, help="Start the live classroom page (docs/live.md): type a sentence, see every "
              "head at once; prints its address and serves until Ctrl-C. Models: the installed ones and --model.")
@click.option("--port", type=click.IntRange(0, 65535), default=8737, show_default=True, help="With --live: the port.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="With --live: the address to listen on (0.0.0.0: every computer on the network may open it).")
@click.option("--remote-render", is_flag=True, help="With --live: other computers may ask for videos too (off: only this one).")
def main(sentence, focus, keep, quality, theme, stages, d_model, d_k, seed, positional, causal, weights_file, language, subtitles,
         model, layer, head, heads, overview, hide_special, jobs, no_cache, voice, quiet, dry_run, contrast=None,
         course=None, cluster=None, live=False, port=8737, host="127.0.0.1", remote_render=False, **asked):
    """Render a video explaining self-attention on SENTENCE with its real numbers."""
    if live:
        return main_live(host, port, model, remote_render, quality, theme, dict(
            sentence=sentence, model=model, lang=language, layer=layer, head=head, contrast=contrast, causal=causal,
            positional=positional, stages=video_stages(stages, overview=False)))
    if course is not None or cluster is not None:
        return main_course(course, cluster, asked.get("output"), Settings(quiet=quiet, jobs=jobs, cache=not no_cache),
                           dry_run)
    if overview and stages:
        raise click.UsageError("--overview is the heads stage alone; leave out --stage")
    if asked.get("output") is not None and asked["output"].is_dir():  # a folder only with --course
        raise click.BadParameter(f"{str(asked['output'])!r} is a folder; name a file", param_hint="'--output'")
    flags = frozenset(name for name, given in (("voice", voice), ("subtitles", subtitles)) if given)
    chosen = outputs.choose(outputs.asked(asked), flags)  # the clashes of options, before any computing
    view = resolve_view(sentence, focus=focus, keep=keep, quality=quality, stages=video_stages(stages, overview),
                        d_model=d_model, d_k=d_k, seed=seed, positional=positional, causal=causal, weights=weights_file,
                        language=language, model=model, layer=layer, head=head, heads=heads, hide_special=hide_special,
                        contrast=contrast, theme=theme)
    default = default_output(view.result.sentence or " ".join(view.result.tokens), view.stages, origin_name(view, model))
    chosen = [(o, p or default.with_suffix(o.suffixes[0])) for o, p in chosen]
    speaker = None
    if voice:  # at once, before any rendering: is the voice installed?
        from scenes.production.voice import voice_for

        speaker = voice_for(language)
    settings = Settings(quiet=quiet, jobs=jobs, cache=not no_cache, subtitles=subtitles)
    if dry_run:
        return summary(view, speaker, [t for o, p in chosen for t in o.targets(p, settings)])
    with Staging() as staging:
        written = outputs.make_all(view, chosen, staging, settings, speaker)
        staging.publish(deaf_after=True)  # every output at once: until here an interruption leaves none
    for path in written:
        click.echo(str(path))


# what --live goes with: where it listens, and what the page opens on (the sentence, model, language, layer, head,
# pair, the toy's switches; the videos' quality and stages); anything else is refused (docs/live.md)
LIVE_OPTIONS = ("live", "port", "host", "remote_render", "sentence", "model", "language", "layer", "head", "contrast",
                "causal", "positional", "quality", "theme", "stages")


def main_live(host, port, model, remote_render, quality, theme, given):
    """--live: the page (scenes.live.serve), opening on the options given on the command line."""
    ctx = click.get_current_context()
    typed = {p.name for p in ctx.command.params
             if ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE}
    refused = [p for p in ctx.command.params if p.name in typed and p.name not in LIVE_OPTIONS]
    if refused:
        raise click.UsageError(f"--live does not take {refused[0].opts[-1]}: the page chooses the rest (docs/live.md); "
                               "leave it out")
    from scenes.live import serve

    names = {"language": "lang"}
    given = {names.get(k, k): v for k, v in given.items() if k in typed or (k == "lang" and "language" in typed)}
    serve(host, port, (model,) if model else (), remote_render, quality=quality, given=given, theme=theme)


COURSE_OPTIONS = ("course", "cluster", "output", "quiet", "jobs", "no_cache", "dry_run")  # what --course goes with


def main_course(course, cluster, folder, settings, dry_run):
    """--course: every lecture of the file (scenes.course); the other options of a lecture are the file's."""
    if course is None:
        raise click.UsageError("--cluster goes with --course")
    ctx = click.get_current_context()
    given = [p for p in ctx.command.params if p.name not in COURSE_OPTIONS
             and ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE]
    if given:
        raise click.UsageError(f"--course takes every lecture's options from the file; leave out {given[0].opts[-1]}")
    from scenes.course import run_course

    cluster = cluster or os.environ.get("DASK_SCHEDULER_ADDRESS") or None  # Dask's own variable: only a course reads it
    status = run_course(course, folder=folder, cluster=cluster, settings=settings, dry_run=dry_run)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    OneLineErrors.whole_process = True
    try:
        main()
    except SystemExit as status:
        if status.code == 130:  # interrupted, its work folders removed: no teardown of the interpreter
            from scenes.production.lifecycle import end_now

            end_now(130)
        raise
