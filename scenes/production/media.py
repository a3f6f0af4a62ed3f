"""A stage's video as pieces, and joining videos: the stages into the video (without re-encoding,
by manim's remux), the sound track, the index first, a GIF's palette; the stages' subtitles and
speech moved to where each stage starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..cache_writes import failure

AUDIO_CODECS = {".mp4": "aac", ".mov": "aac", ".webm": "libopus"}  # a spoken video's sound (a GIF has none)


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
    # the failure to write a cache of the process that made it ("" when none): a pool's worker says
    # nothing, the main process says it once (scenes.cache_writes)
    uncached: str = field(default_factory=failure)

    @property
    def paths(self) -> list[Path]:
        return [p.path for p in self.pieces]


def segment_suffix(suffix: str) -> str:
    """The container the stages are rendered in: a GIF is made from MP4 stages at the join."""
    return ".mp4" if suffix == ".gif" else suffix


def frame_rate_of(fps: float):
    """manim's frame rate as the exact fraction the encoders and the join take (30000/1001 stays so)."""
    return Fraction(fps).limit_denominator(1001)


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
    from ..manim_adapter import combine

    combine(files, output, width=width, height=height, frame_rate=frame_rate, segment=segment_suffix(output.suffix))


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
