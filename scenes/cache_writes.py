"""Every cache is optional: writing a cache entry (the stages, manim's texts, the typeset formulas,
the speech), and what happens when one cannot be written (a full disk, a folder made read-only).

The first failure is said once, one line on stderr, by the render's main process, and from then on
the process writes no cache (it still reads one): each text is laid out in a private folder of its
own, a stage or a clip is simply not kept. A pool's worker says nothing (the workers would each say
it, through the progress bar): it keeps its failure, and each stage it renders carries it back
(`Made.uncached`) to the main process, which says it (`StageCache.put`). An entry is written whole
under a temporary name and renamed, so a failure never leaves a half-written one under its name.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from attncore.files import write_atomically

_failure = ""  # this process's first failure to write a cache, as the line names it ("" while none)
_told = False  # whether this process has said it


def failure() -> str:
    """This process's first failure to write a cache ("" while none): a worker's travels back in its stages."""
    return _failure


def caching() -> bool:
    """Whether this process still writes its caches (not after a failure)."""
    return not _failure


def could_not_cache(where: Path | str, error: OSError | str) -> None:
    """Note that the cache at `where` could not be written (`error`: the OSError, or a worker's
    failure as `failure()` gave it): the process writes no cache from now on, and the main process
    says so, once."""
    global _failure
    if not _failure:
        _failure = error if isinstance(error, str) else f"{error.strerror or error}: {where}"
    if multiprocessing.parent_process() is None:  # not a pool's (or a Dask cluster's) worker
        tell(_failure)


def tell(failure: str) -> None:
    """The one line, once per process (nothing for ""): above a progress bar, when one is drawn."""
    global _told, _failure
    if not failure or _told:
        return
    _told = True
    _failure = _failure or failure  # a worker's failure: this process stops writing too
    from tqdm import tqdm

    tqdm.write(f"cache: could not cache ({failure}); the render goes on without caching", file=sys.stderr)


def keep(path: Path, data: bytes) -> bool:
    """Write the cache entry `path` whole; False when it was not (this process no longer caches, or
    the write failed: then noted)."""
    if _failure:
        return False
    try:
        write_atomically(path, data)
        return True
    except OSError as e:
        could_not_cache(path.parent, e)
        return False


def holds(path: Path, data: bytes) -> bool:
    """Whether the file `path` holds `data` (not when it is missing, damaged or unreadable)."""
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def private_folder() -> Path:
    """This process's own folder for the texts and formulas the shared cache cannot take, removed when
    the process ends (a forked worker too: multiprocessing runs its finalizers, not atexit's)."""
    folder = Path(tempfile.gettempdir()) / f"attention-texts-{os.getpid()}"
    if not folder.exists():
        folder.mkdir()
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True},
                                      exitpriority=0)
    return folder
