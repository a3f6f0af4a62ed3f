"""The cache of finished stages (`cache_folder()`): each stage's video kept under a key made of
everything that decides its frames: the numbers, the view (focus, language, head, hidden tokens,
speech timing, quality), the format, the stage and the one before it, and the code version (the
source of attncore and scenes, the versions of manim, Pango, cairo and PyAV, and the installed
fonts). An unchanged re-render is a join of cached stages. manim's Pango text cache lives there
too, per code version."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..cache_writes import caching, could_not_cache, keep, tell
from ..view import View
from .media import Made, Piece
from .options import ENCODER_OPTIONS

CACHE_LIMIT = 2 * 1024 ** 3  # bytes of finished stages kept; the least recently used go first
ENVIRONMENT = "ATTENTION_EXPLAINER_CACHE"  # overrides the cache folder; "off" turns caching off

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
    root = Path(__file__).resolve().parents[2]
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
        """The user's cache, or None when it is turned off or cannot be written (said once, no error:
        it only makes re-renders faster)."""
        folder = cache_folder()
        if folder is None:
            return None
        try:
            cache = cls(folder)
            with tempfile.TemporaryFile(dir=cache.stages):
                pass
            return cache
        except OSError as e:
            could_not_cache(folder, e)
            return None

    def has(self, key: str) -> bool:
        """Whether a finished stage is recorded under `key` (`get` still checks its pieces)."""
        return key in _UNKEPT or (self.stages / f"{key}.json").is_file()

    def get(self, key: str, ext: str, into: Path) -> "Made | None":
        """The stage cached under `key`, its pieces copied into the folder `into` (so that no other
        render's pruning or rewriting touches what this one joins); None when it is not there, or
        when a piece's size or hash differs from its record: then the entry is dropped, with one
        line on stderr, and the stage is rendered again. A stage this process could not write to
        the cache is taken from its own files while they last (`_UNKEPT`)."""
        if key in _UNKEPT:
            info, paths = _UNKEPT[key]
            try:
                return self._made(info, paths, into)
            except (OSError, ValueError):
                del _UNKEPT[key]  # its files are gone: rendered again
        meta = self.stages / f"{key}.json"
        info: dict = {}
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            paths = [self.stages / f"{key}-{n}{ext}" for n in range(len(info["pieces"]))]
            made = self._made(info, paths, into)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.drop(key)
            stage = info.get("stage", "?") if isinstance(info, dict) else "?"  # the record itself may be the damage
            print(f"cache: a damaged entry for the stage {stage} was dropped; rendering it again", file=sys.stderr)
            return None
        now = time.time()
        for p in (meta, *paths):
            with contextlib.suppress(OSError):  # a read-only cache is still read
                os.utime(p, (now, now))  # recently used
        return made

    @staticmethod
    def _made(info: dict, paths: list[Path], into: Path) -> "Made":
        """The stage `info` records, its pieces read from `paths`, checked against their sizes and
        hashes (ValueError when one differs), and copied into `into`."""
        pieces = []
        into.mkdir(parents=True, exist_ok=True)
        for n, (piece, path) in enumerate(zip(info["pieces"], paths, strict=True)):
            data = path.read_bytes()  # read once: checked, then copied
            if len(data) != piece["size"] or hashlib.sha256(data).hexdigest() != piece["sha256"]:
                raise ValueError("damaged")
            copy = into / f"piece-{n}{path.suffix}"
            copy.write_bytes(data)
            pieces.append(Piece(copy, piece["frames"], piece["notes"], piece["pause"]))
        return Made(info["stage"], tuple(pieces), info["frames"], info["subtitles"], 0.0, cached=True,
                    speech=tuple((at, text) for at, text in info["speech"]))

    def put(self, key: str, made: "Made") -> "Made":
        """Copy a rendered stage in (its pieces first, each under a temporary name then renamed, then
        the JSON that marks it complete, with each piece's size and hash). A cache that cannot be
        written (a full disk, a folder made read-only) is said once (`cache_writes`), and the stage
        is remembered by its own files instead: the render goes on. So is a worker's failure to
        write its texts, which `made` carries."""
        tell(made.uncached)
        records, written = [], caching()
        for n, piece in enumerate(made.pieces):
            data = piece.path.read_bytes()
            written = written and keep(self.stages / f"{key}-{n}{piece.path.suffix}", data)
            records.append({"frames": piece.frames, "notes": piece.notes, "pause": piece.pause,
                            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        info = {"stage": made.stage, "frames": made.frames, "subtitles": made.subtitles, "pieces": records,
                "speech": made.speech}
        if not (written and keep(self.stages / f"{key}.json", json.dumps(info, ensure_ascii=False).encode("utf-8"))):
            self.drop(key)
            _UNKEPT[key] = (info, [piece.path for piece in made.pieces])
        return made

    def drop(self, key: str) -> None:
        """Remove an entry: its record first, so that no render takes its pieces for complete (what
        cannot be removed, in a read-only cache, stays)."""
        with contextlib.suppress(OSError):
            for path in sorted(self.stages.glob(f"{key}*"), key=lambda p: p.suffix != ".json"):
                path.unlink(missing_ok=True)

    def prune(self) -> None:
        """Remove the least recently used stages while the folder holds more than the limit (a file
        another render removed first, or a read-only folder, is no error)."""
        files = []
        with contextlib.suppress(OSError):
            for p in self.stages.iterdir():
                with contextlib.suppress(OSError):
                    if p.is_file():
                        st = p.stat()
                        files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.limit:
                break
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            total -= size


# the stages this process rendered but could not write to the cache: {key: (their record, their
# pieces' files)}, so that a later output of the same run (a course's lecture) joins them instead of
# rendering them again, while their files last
_UNKEPT: dict[str, tuple[dict, list[Path]]] = {}


def stage_keys(view: View, suffix: str) -> list[str]:
    """One cache key per stage of `view`: what decides its frames (see the module's docstring)."""
    base = hashlib.sha256()
    base.update(code_version().encode())
    base.update(pickle.dumps(view.computed, protocol=4))
    base.update(json.dumps({"view": view.key(), "suffix": suffix, "encoder": ENCODER_OPTIONS},
                           sort_keys=True, default=str).encode())
    keys, stages = [], view.stages
    for i, stage in enumerate(stages):
        digest = base.copy()
        digest.update(f"\0{stage}\0{stages[i - 1] if i else ''}".encode())
        keys.append(digest.hexdigest())
    return keys
