"""manim's Pango text cache made safe to share between renders running at once.

manim keeps each laid-out text as an SVG under `text_dir` (one file per text, font and size) and
uses a file when it exists. Three things break when several renders share that folder: Pango
writes the file progressively, so another render can find it half-written; manim rewrites every
file it uses (`PangoUtils.remove_last_M`, truncating then writing), so a reader can find it empty;
and SVGMobject parses each file through a copy beside it with one fixed name (`<name>_.svg`), which
another render may delete first. Here a new file is written under a name of its own, trimmed, then
renamed into place (a rename is atomic), the trim rewrites nothing when there is nothing to remove,
and the parsing copy stays in memory: a file under its final name is complete and never changes
again. When the shared folder is full, texts are laid out in the private folder.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing.util
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import manimpango
import svgelements as se
from manim import RIGHT, SVGMobject
from manim.mobject.text import text_mobject
from manimpango import MarkupUtils

_LAST_M = re.compile(r'Z M [^A-Za-z]*? "\/>')


def _trim(path: str) -> None:
    """PangoUtils.remove_last_M, written atomically and only when it changes something."""
    with open(path, encoding="utf-8") as f:
        content = f.read()
    trimmed = _LAST_M.sub('Z "/>', content)
    if trimmed != content:
        part = f"{path}.{os.getpid()}.part"
        try:
            with open(part, "w", encoding="utf-8") as f:
                f.write(trimmed)
            os.replace(part, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise


def _private() -> Path:
    """This process's own folder for texts the shared cache cannot take."""
    folder = Path(tempfile.gettempdir()) / f"attention-texts-{os.getpid()}"
    if not folder.exists():
        folder.mkdir()
        # removed when the process ends, a forked worker too (multiprocessing runs these, not atexit's)
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True},
                                      exitpriority=0)
    return folder


def _atomic(text2svg, name_at: int):
    """`text2svg` writing to a private name, checked complete, trimmed, then renamed to the file name
    it was given (its positional argument `name_at`). When the shared folder cannot take it (a full
    disk, a folder made read-only), the file goes to a private folder instead: the render goes on."""

    def make(args, kwargs, path: str) -> None:
        text2svg(*args[:name_at], path, *args[name_at + 1:], **kwargs)
        with open(path, "rb") as f:
            if b"</svg>" not in f.read():
                raise OSError(f"{path}: Pango wrote an incomplete SVG")
        _trim(path)

    def write(*args, **kwargs):
        final = args[name_at]
        part = f"{final}.{os.getpid()}.part.svg"
        try:
            make(args, kwargs, part)
            os.replace(part, final)
            return final
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(part)
        path = str(_private() / Path(final).name)
        make(args, kwargs, path)
        return path

    return write


class _Markup:
    """manimpango's MarkupUtils as manim's MarkupText uses it, its text2svg made atomic."""

    validate = staticmethod(MarkupUtils.validate)
    text2svg = staticmethod(_atomic(MarkupUtils.text2svg, 7))


class _Pango:
    remove_last_M = staticmethod(_trim)


def _generate_mobject(self):
    """SVGMobject.generate_mobject, its modified copy parsed from memory instead of a file beside the original."""
    file_path = self.get_file_path()
    new_tree = self.modify_xml_tree(ET.parse(file_path))
    modified = io.BytesIO()  # parsed from memory: no file another render could delete
    new_tree.write(modified)
    modified.seek(0)
    svg = se.SVG.parse(modified)
    mobjects, mobject_dict = self.get_mobjects_from(svg)
    self.add(*mobjects)
    self.id_to_vgroup_dict = mobject_dict
    self.flip(RIGHT)  # y grows downwards in SVG
    return self


def install() -> None:
    """Put the atomic writers where manim's Text and MarkupText look them up (once per process)."""
    if getattr(manimpango.text2svg, "atomic", False):
        return
    SVGMobject.generate_mobject = _generate_mobject
    plain = _atomic(manimpango.text2svg, 4)
    plain.atomic = True
    manimpango.text2svg = plain
    text_mobject.MarkupUtils = _Markup
    text_mobject.PangoUtils = _Pango
