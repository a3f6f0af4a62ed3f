"""course.json: what each lecture's files were made from (its input key) and their SHA-256, so that a
run again skips a lecture whose files are still what was recorded."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path

from attncore.files import write_atomically

from .lectures import Item

MANIFEST = "course.json"


def sha256_of(path: Path) -> str | None:
    """A file's SHA-256, or a folder's (of its files' names and hashes); None when it is missing."""
    if path.is_dir():
        inner = [(p.relative_to(path).as_posix(), sha256_of(p)) for p in sorted(path.rglob("*")) if p.is_file()]
        return hashlib.sha256(json.dumps(inner).encode()).hexdigest()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Manifest:
    """course.json: per lecture and language (its folder, relative), the input key, its files' SHA-256
    and what the site shows (the video's length)."""

    def __init__(self, root: Path):
        self.path = root / MANIFEST
        try:
            self.records = json.loads(self.path.read_text(encoding="utf-8")).get("lectures", {})
        except (OSError, ValueError, AttributeError):
            self.records = {}

    def finished(self, item: Item) -> dict | None:
        """Its record, when its files are all there with the bytes recorded for the same key."""
        record = self.records.get(item.relative)
        if not isinstance(record, dict) or record.get("key") != item.key:
            return None
        files = record.get("files", {})
        if set(files) != {p.name for p in item.targets()}:
            return None
        if any(sha256_of(item.folder / name) != digest for name, digest in files.items()):
            return None
        return record

    def record(self, item: Item, **facts) -> dict:
        self.records[item.relative] = {"key": item.key, "files": {p.name: sha256_of(p) for p in item.targets()}, **facts}
        self.save()
        return self.records[item.relative]

    def forget_others(self, root: Path, kept: set[str]) -> list[str]:
        """Remove what it recorded of lectures no longer in the course (a lecture dropped, or renamed by
        a new sentence): each file still as recorded (one changed since is the user's, and stays), then
        the folders left empty. Returns their folders."""
        gone = sorted(set(self.records) - kept)
        for relative in gone:
            folder = root / relative
            for name, digest in self.records.pop(relative).get("files", {}).items():
                path = folder / name
                if digest is not None and sha256_of(path) == digest:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            for empty in (folder, folder.parent):
                with contextlib.suppress(OSError):
                    empty.rmdir()  # only when empty
        if gone:
            self.save()
        return gone

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps({"lectures": self.records}, ensure_ascii=False, indent=1).encode())
