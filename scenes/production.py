"""Making the video: each stage rendered as a video of its own, in parallel processes, kept in a
cache of finished stages, and the stages joined without re-encoding.

Every stage starts from a picture rebuilt from scratch (`Stage.start()`, the previous stage's
`handoff()`), so a stage renders the same frames alone as in one long scene; only a cross-fade
between stages whose pictures differ needs to know the stage before. manim writes each animation
as its own small video and joins them by remuxing (its `combine_files`); the stages' videos are
joined the same way, so a video made in parallel has the same frames as one made in one scene.

The cache (`cache_folder()`) holds finished stages under a key made of everything that decides
their frames: the numbers, the view (focus, language, head, hidden tokens), the quality, the
format, the stage and the one before it, and the code version (the source of attncore and scenes,
the versions of manim, Pango, cairo and PyAV, and the installed fonts). An unchanged re-render is
a join of cached stages. manim's Pango text cache lives there too, per code version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np

from attncore.files import write_atomically

from . import STAGE_WEIGHT
from .context import Break
from .lifecycle import die_with_parent, release_signals, signals_held

QUALITIES = {"low": "low_quality", "medium": "medium_quality", "high": "high_quality", "4k": "fourk_quality"}
# libx264's settings, chosen by measuring (benchmarks/encoder_bench.py, README "Speed"): on the
# video's flat colours and text "superfast" encodes 1080p 2.2x as fast as manim's default "medium",
# at 44.5 dB PSNR (medium: 44.3) and 1.7x its size (about 4 MB a minute at 1080p60).
ENCODER_OPTIONS = {"crf": "23", "preset": "superfast"}
CACHE_LIMIT = 2 * 1024 ** 3  # bytes of finished stages kept; the least recently used go first
ENVIRONMENT = "ATTENTION_EXPLAINER_CACHE"  # overrides the cache folder; "off" turns caching off
AUDIO_CODECS = {".mp4": "aac", ".mov": "aac", ".webm": "libopus"}  # a spoken video's sound (a GIF has none)


def render_options(quality: str, tmp: str | Path, suffix: str, texts: str | Path | None = None) -> dict:
    """manim's config for rendering into the folder `tmp` (no bars of its own: see render.Progress),
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


# ---- the cache ------------------------------------------------------------------------------------

def cache_folder() -> Path | None:
    """$ATTENTION_EXPLAINER_CACHE, else the user's cache folder (~/.cache/attention-explainer); None
    when the variable says "off"."""
    given = os.environ.get(ENVIRONMENT)
    if given:
        return None if given.lower() == "off" else Path(given)
    from platformdirs import user_cache_path

    return user_cache_path("attention-explainer")


@functools.lru_cache(maxsize=None)
def code_version() -> str:
    """A digest of everything besides the inputs that decides the frames."""
    import av
    import cairo
    import manim
    import manimpango

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for package in ("attncore", "scenes"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    versions = (manim.__version__, manimpango.__version__, manimpango.pango_version(), av.__version__,
                cairo.version, cairo.cairo_version_string())
    digest.update(repr(versions).encode())
    digest.update(fonts_fingerprint().encode())
    return digest.hexdigest()


def fonts_fingerprint() -> str:
    """The installed font files, with their sizes and times: a font added, removed or updated
    changes it."""
    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True,
                                timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "no fc-list"
    entries = []
    for name in sorted(set(listed.split("\n")) - {""}):
        try:
            st = os.stat(name)
            entries.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            entries.append(name)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


class StageCache:
    """Finished stages in `folder`/stages: `<key><ext>` (the video) and `<key>.json` (its frame
    count and subtitles), the JSON written last; manim's text SVGs in `folder`/texts-<version>."""

    def __init__(self, folder: Path, limit: int = CACHE_LIMIT):
        self.stages = folder / "stages"
        self.texts = folder / f"texts-{code_version()[:16]}"
        self.limit = limit
        for f in (self.stages, self.texts):
            f.mkdir(parents=True, exist_ok=True)

    @classmethod
    def open(cls) -> "StageCache | None":
        """The user's cache, or None when it is turned off or cannot be written (no error: it only
        makes re-renders faster)."""
        folder = cache_folder()
        if folder is None:
            return None
        try:
            cache = cls(folder)
            with tempfile.TemporaryFile(dir=cache.stages):
                pass
            return cache
        except OSError:
            return None

    def get(self, key: str, ext: str, into: Path) -> "Made | None":
        """The stage cached under `key`, its pieces copied into the folder `into` (so that no other
        render's pruning or rewriting touches what this one joins); None when it is not there, or
        when a piece's size or hash differs from its record: then the entry is dropped, with one
        line on stderr, and the stage is rendered again."""
        meta = self.stages / f"{key}.json"
        info: dict = {}
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            pieces = []
            into.mkdir(parents=True, exist_ok=True)
            for n, piece in enumerate(info["pieces"]):
                data = (self.stages / f"{key}-{n}{ext}").read_bytes()  # read once: checked, then copied
                if len(data) != piece["size"] or hashlib.sha256(data).hexdigest() != piece["sha256"]:
                    raise ValueError("damaged")
                copy = into / f"piece-{n}{ext}"
                copy.write_bytes(data)
                pieces.append(Piece(copy, piece["frames"], piece["notes"], piece["pause"]))
            now = time.time()
            for p in (meta, *(self.stages / f"{key}-{n}{ext}" for n in range(len(pieces)))):
                os.utime(p, (now, now))  # recently used
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.drop(key)
            stage = info.get("stage", "?") if isinstance(info, dict) else "?"  # the record itself may be the damage
            print(f"cache: a damaged entry for the stage {stage} was dropped; rendering it again", file=sys.stderr)
            return None
        return Made(info["stage"], tuple(pieces), info["frames"], info["subtitles"], 0.0, cached=True,
                    speech=tuple((at, text) for at, text in info["speech"]))

    def put(self, key: str, made: "Made") -> "Made":
        """Copy a rendered stage in (its pieces first, each under a temporary name then renamed, then
        the JSON that marks it complete, with each piece's size and hash). A cache that cannot be
        written (a full disk, a folder gone) is skipped: the render goes on with its own files."""
        try:
            records = []
            for n, piece in enumerate(made.pieces):
                data = piece.path.read_bytes()
                write_atomically(self.stages / f"{key}-{n}{piece.path.suffix}", data)
                records.append({"frames": piece.frames, "notes": piece.notes, "pause": piece.pause,
                                "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
            info = {"stage": made.stage, "frames": made.frames, "subtitles": made.subtitles, "pieces": records,
                    "speech": made.speech}
            write_atomically(self.stages / f"{key}.json", json.dumps(info, ensure_ascii=False).encode("utf-8"))
        except OSError:
            self.drop(key)
        return made

    def drop(self, key: str) -> None:
        """Remove an entry: its record first, so that no render takes its pieces for complete."""
        for path in sorted(self.stages.glob(f"{key}*"), key=lambda p: p.suffix != ".json"):
            path.unlink(missing_ok=True)

    def prune(self) -> None:
        """Remove the least recently used stages while the folder holds more than the limit."""
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.stages.iterdir() if p.is_file()]
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.limit:
                break
            path.unlink(missing_ok=True)
            total -= size


def stage_keys(computed, stages: tuple[str, ...], view: dict, quality: str, suffix: str) -> list[str]:
    """One cache key per stage: what decides its frames (see the module's docstring)."""
    base = hashlib.sha256()
    base.update(code_version().encode())
    base.update(pickle.dumps(computed, protocol=4))
    base.update(json.dumps({"view": view, "quality": quality, "suffix": suffix, "encoder": ENCODER_OPTIONS},
                           sort_keys=True, default=str).encode())
    keys = []
    for i, stage in enumerate(stages):
        digest = base.copy()
        digest.update(f"\0{stage}\0{stages[i - 1] if i else ''}".encode())
        keys.append(digest.hexdigest())
    return keys


# ---- rendering the stages ------------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """A stretch of a stage's video between two places a lecturer pauses (or the stage's start or
    end): one file, starting on a key frame, with the presenter notes of the beats it plays."""

    path: Path
    frames: int
    notes: str
    pause: bool  # ends where a lecturer pauses (a slide ends here); False for a stage's tail


@dataclass(frozen=True)
class Made:
    """One stage's video, as its pieces in order: its frames, its subtitles (SRT, timed from the
    stage's start), the wall seconds it took to render (0 from the cache)."""

    stage: str
    pieces: tuple[Piece, ...]
    frames: int
    subtitles: str
    wall: float
    cached: bool = False
    speech: tuple[tuple[float, str], ...] = ()  # (seconds from the stage's start, spoken text) per cue

    @property
    def paths(self) -> list[Path]:
        return [p.path for p in self.pieces]


@dataclass(frozen=True)
class Job:
    """What every stage of one video shares: the numbers, the view (explainer_scene's options),
    the quality and the segment container."""

    computed: object
    view: dict
    quality: str
    segment: str  # ".mp4", ".webm" or ".mov"
    texts: str | None  # manim's text cache folder


def segment_suffix(suffix: str) -> str:
    """The container the stages are rendered in: a GIF is made from MP4 stages at the join."""
    return ".mp4" if suffix == ".gif" else suffix


def render_stage(job: Job, stage: str, previous: str | None, folder: Path,
                 on_progress: Callable[[str, float], None] | None = None) -> Made:
    """Render `stage` alone (cross-fading from `previous` when their pictures differ) into `folder`."""
    from manim import config, tempconfig

    from .lecture import slide_notes
    from .video import explainer_scene

    started = time.perf_counter()
    with tempconfig(render_options(job.quality, folder, job.segment, job.texts)):
        scene = explainer_scene(job.computed, stages=(stage,), previous_stage=previous, on_progress=on_progress,
                                **job.view)
        scene.render()
        fps, width, height = config.frame_rate, config.pixel_width, config.pixel_height
    produced = [p for p in folder.rglob(f"video{job.segment}") if "partial_movie_files" not in p.parts]
    if not produced:
        raise RuntimeError(f"the stage {stage} produced no {job.segment} file")
    srt_file = produced[0].with_suffix(".srt")
    subtitles = srt_file.read_text(encoding="utf-8") if srt_file.exists() else ""
    # the stage's pieces: manim's own small videos (one per animation, each from a key frame)
    # between the breaks, joined by the same remux as the whole video
    partial = scene.renderer.file_writer.partial_movie_files
    cues = scene.log.cues
    ends = [*scene.breaks, Break(len(partial), scene.driver.clock, len(cues), pause=False)]
    pieces, before = [], Break(0, 0.0, 0, pause=False)
    for end in ends:
        files = [f for f in partial[before.files:end.files] if f is not None]
        frames = round(end.clock * fps) - round(before.clock * fps)
        if files and frames > 0:
            path = folder / f"piece-{len(pieces)}{job.segment}"
            join_files(files, path, width=width, height=height, frame_rate=frame_rate_of(fps))
            pieces.append(Piece(path, frames, slide_notes(scene.ctx, cues[before.cues:end.cues]), end.pause))
        elif pieces and end.pause:  # nothing played since the last break: the slide ends there
            pieces[-1] = replace(pieces[-1], pause=True)
        before = end
    total = round(scene.driver.clock * fps)
    speech = tuple((cue.start, cue.spoken) for cue in cues if cue.spoken)
    return Made(stage, tuple(pieces), total, subtitles, time.perf_counter() - started, speech=speech)


def frame_rate_of(fps: float):
    """manim's frame rate as the exact fraction the encoders and the join take (30000/1001 stays so)."""
    return Fraction(fps).limit_denominator(1001)


_worker: dict = {}  # in a pool's process: the job and the progress queue


def _start_worker(job: Job, queue, parent: int) -> None:
    # the parent stops its workers when it is interrupted: they end at once, and quietly; and they
    # die with it when it is killed (forked with the signals held: none comes before this is set)
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    release_signals()
    _worker.update(job=job, queue=queue)


def _render_in_worker(stage: str, previous: str | None, folder: str) -> Made:
    queue = _worker["queue"]
    return render_stage(_worker["job"], stage, previous, Path(folder),
                        on_progress=lambda name, seconds: queue.put((name, seconds)))


def render_stages(job: Job, stages: tuple[str, ...], folder: Path, *, jobs: int, cache: StageCache | None,
                  on_progress: Callable[[str, float], None] | None = None,
                  on_done: Callable[[Made], None] | None = None) -> list[Made]:
    """Every stage's video, in video order: from the cache when there, else rendered in `folder`,
    by `jobs` processes at once (in this process when 1, or when one stage is left to render)."""
    keys = stage_keys(job.computed, stages, job.view, job.quality, job.segment)
    made: dict[str, Made] = {}
    todo = []
    for i, (stage, key) in enumerate(zip(stages, keys)):
        hit = cache.get(key, job.segment, folder / f"cached-{stage}") if cache is not None else None
        if hit is not None:
            made[stage] = hit
            if on_done is not None:
                on_done(hit)
        else:
            todo.append((stage, stages[i - 1] if i else None, key))

    def finished(one: Made, key: str) -> None:
        made[one.stage] = cache.put(key, one) if cache is not None else one
        if on_done is not None:
            on_done(made[one.stage])

    if jobs <= 1 or len(todo) <= 1:
        for stage, previous, key in todo:
            finished(render_stage(job, stage, previous, folder / stage, on_progress), key)
    else:
        run_parallel(job, todo, folder, jobs, on_progress, finished)
    return [made[s] for s in stages]


def run_parallel(job: Job, todo, folder: Path, jobs: int, on_progress, finished) -> None:
    """Render `todo` in `jobs` forked processes, the longest stages first; progress reports come
    back through a queue. An interrupt or a failure stops every process."""
    context = multiprocessing.get_context("fork")  # the workers share what is imported and cached
    queue = context.SimpleQueue()
    with signals_held():  # the threads and the forked workers start with SIGINT and SIGTERM held
        listener = threading.Thread(target=_listen, args=(queue, on_progress), daemon=True)
        listener.start()
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                                   initializer=_start_worker, initargs=(job, queue, os.getpid()))
    try:
        order = sorted(todo, key=lambda t: -STAGE_WEIGHT.get(t[0], 1))
        with signals_held():  # the first submit forks every worker
            pending = {pool.submit(_render_in_worker, stage, previous, str(folder / stage)): key
                       for stage, previous, key in order}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                finished(future.result(), pending.pop(future))
    except BaseException:
        for process in list((pool._processes or {}).values()):  # no waiting for stages nobody will see
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        queue.put(None)
        listener.join()


def _listen(queue, on_progress) -> None:
    while (message := queue.get()) is not None:
        if on_progress is not None:
            on_progress(*message)


# ---- joining --------------------------------------------------------------------------------------

def join(made: list[Made], output: Path, *, width: int, height: int, frame_rate, audio=None) -> None:
    """The stages' videos (their pieces) one after another in `output`: an .mp4 or .mov with its
    index first (faststart), a GIF with one palette and no dithering; with `audio` (48 kHz mono
    samples) the sound track under it."""
    join_pieces([p.path for m in made for p in m.pieces], output, width=width, height=height,
                frame_rate=frame_rate, audio=audio)


def join_pieces(files: list[Path], output: Path, *, width: int, height: int, frame_rate, audio=None,
                faststart: bool = True) -> None:
    """Videos one after another in `output` (see `join`): the video's and each slide's (a slide,
    inlined in a deck, needs no `faststart`). One remux joins them; a second one only to add the
    sound or move the index first."""
    faststart = faststart and output.suffix in (".mp4", ".mov")
    if output.suffix not in (".gif", ".webm") and audio is None and not faststart:  # a WebM: see remux
        join_files([str(f) for f in files], output, width=width, height=height, frame_rate=frame_rate)
        return
    joined = output.with_name(f".{output.stem}.joined{segment_suffix(output.suffix)}")
    join_files([str(f) for f in files], joined, width=width, height=height, frame_rate=frame_rate)
    if output.suffix == ".gif":
        gif(joined, output, frame_rate)
    else:
        remux(joined, output, audio, faststart)
    joined.unlink()


def remux(source: Path, target: Path, audio: np.ndarray | None = None, faststart: bool = True) -> None:
    """Copy `source`'s video into `target` without re-encoding, with the sound track `audio` (48 kHz
    mono samples; AAC in .mp4/.mov, Opus in .webm) when given, and with `faststart` an .mp4/.mov's
    index first, so that a web page's player starts before the download ends. A WebM is written
    bit-exact: Matroska's segment UID is otherwise random, and the same video other bytes each time."""
    import av

    options = {"movflags": "+faststart"} if faststart and target.suffix in (".mp4", ".mov") else {}
    if target.suffix == ".webm":
        options["fflags"] = "+bitexact"
    with av.open(str(source)) as src, av.open(str(target), "w", options=options) as out:
        out.metadata.update(src.metadata)
        video = src.streams.video[0]
        vout = out.add_stream_from_template(template=video)
        sound = encode_audio(out, audio, target.suffix) if audio is not None else []
        for packet in src.demux(video):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            at = float(packet.dts * video.time_base)
            while sound and float(sound[0].dts * sound[0].time_base) <= at:
                out.mux(sound.pop(0))
            packet.stream = vout
            out.mux(packet)
        for packet in sound:
            out.mux(packet)


def encode_audio(out, audio: np.ndarray, suffix: str) -> list:
    """`audio` encoded for the container `out`: its packets, in order."""
    import av

    from .voice import RATE

    stream = out.add_stream(AUDIO_CODECS[suffix], rate=RATE, layout="mono")
    stream.codec_context.bit_rate = 96000
    packets = []
    step = 4800
    for i in range(0, audio.size, step):
        frame = av.AudioFrame.from_ndarray(audio[None, i:i + step].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = RATE
        frame.pts = i
        frame.time_base = Fraction(1, RATE)
        packets += stream.encode(frame)
    packets += stream.encode(None)
    return packets


def gif(video: Path, output: Path, frame_rate, colours: int = 64) -> None:
    """A GIF of `video`: one palette of `colours` for the whole video (the theme's flat colours and
    their anti-aliased edges), no dithering, so a held picture repeats the same pixels and each
    frame stores only the rectangle that changed; the frame timing is the video's."""
    import av

    with av.open(str(video)) as source, av.open(str(output), "w") as target:
        stream = source.streams.video[0]
        out = target.add_stream("gif", rate=frame_rate)
        out.width, out.height, out.pix_fmt = stream.codec_context.width, stream.codec_context.height, "pal8"
        out.codec_context.time_base = 1 / Fraction(frame_rate)  # one tick a frame
        graph = av.filter.Graph()
        buffer = graph.add_buffer(template=stream)
        split = graph.add("split")
        palettegen = graph.add("palettegen", f"max_colors={colours}:stats_mode=full")
        paletteuse = graph.add("paletteuse", "dither=none:diff_mode=rectangle")
        sink = graph.add("buffersink")
        buffer.link_to(split)
        split.link_to(palettegen, 0, 0)
        split.link_to(paletteuse, 1, 0)
        palettegen.link_to(paletteuse, 0, 1)
        paletteuse.link_to(sink)
        graph.configure()
        for frame in source.decode(stream):
            graph.push(frame)
        graph.push(None)
        written = 0
        while True:
            try:
                frame = graph.pull()
            except (av.error.EOFError, av.error.BlockingIOError):
                break
            frame.time_base = out.codec_context.time_base
            frame.pts = written
            written += 1
            target.mux(out.encode(frame))
        target.mux(out.encode(None))


def join_files(files: list[str], output: Path, *, width: int, height: int, frame_rate) -> None:
    """Videos one after another in `output` (.mp4, .webm or .mov), by manim's own join: a remux.
    (A GIF is made by `join`, from such a join, with `gif`.)"""
    from manim.scene.scene_file_writer import SceneFileWriter
    writer = SimpleNamespace(  # what combine_files reads of a SceneFileWriter
        _concat_manifest_bytes=SceneFileWriter._concat_manifest_bytes,
        output_spec=SimpleNamespace(transparent=False, segment_extension=segment_suffix(output.suffix)),
        video_encoder=SimpleNamespace(width=width, height=height, frame_rate=frame_rate))
    SceneFileWriter.combine_files(writer, [str(f) for f in files], output, create_gif=False)


def joined_speech(made: list[Made], frame_rate: float) -> list[tuple[float, str]]:
    """What the voice says and when, in the whole video: each stage's moved to where it starts."""
    placed, start = [], 0
    for m in made:
        placed += [(start / frame_rate + at, text) for at, text in m.speech]
        start += m.frames
    return placed


def joined_subtitles(made: list[Made], frame_rate: float) -> str:
    """The stages' subtitles as one SRT, each stage's moved to where it starts in the video."""
    import srt

    cues, start = [], 0
    for m in made:
        shift = timedelta(seconds=start / frame_rate)
        for cue in srt.parse(m.subtitles):
            cues.append(srt.Subtitle(0, cue.start + shift, cue.end + shift, cue.content))
        start += m.frames
    return srt.compose(cues)
