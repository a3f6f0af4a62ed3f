"""A render's life: its signals, its processes and its files, so that nothing is lost or left at
any moment.

- Signals. SIGINT (a terminal's Ctrl-C, sent to the whole process group) and SIGTERM (`kill`) end
  a render as one KeyboardInterrupt in the main process; the first one also makes the render deaf
  to the next, so that its clean-up is not itself interrupted. A SIGINT the render was started
  with ignored (a background job, as POSIX wants) stays ignored.
- Processes. A helper process (a stage's worker, a voice) dies with the render, even one killed
  by SIGKILL: Linux's parent-death signal (`die_with_parent`).
- Files. Every output is made in a work folder beside its final name (`Staging`) and moved into
  place, all of them at once, at the very end: a render interrupted before then leaves nothing, and
  once the outputs are in place the render is finished (later signals are ignored). A work folder
  is locked (`flock`) by its render and its workers while they live; a render that was killed
  leaves its folder unlocked, and the next render in that folder removes it (`sweep`).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
WORK_PREFIX = ".render-"  # a render's work folder in an output's folder
# a scratch folder in the system's temporary folder, which every program shares: a name of our own,
# so that a sweep there never takes another program's folder for a dead render's
SCRATCH_PREFIX = "attention-explainer-"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the render ends, nothing is written."""


def _deafen() -> None:
    """Ignore SIGINT and SIGTERM from now on (a pending one is discarded)."""
    for sig in INTERRUPTS:
        signal.signal(sig, signal.SIG_IGN)


def _interrupt(signum, frame):
    _deafen()  # the clean-up runs to its end
    raise Interrupted


@contextlib.contextmanager
def interruptible(to_the_end: bool = False):
    """SIGINT and SIGTERM raise Interrupted in the main thread while inside (a SIGINT ignored since
    the start stays ignored); the previous handlers are back afterwards, except with `to_the_end`
    (the process ends with this block) once the render was published or interrupted: it stays deaf
    to its exit (Python puts back the default, deadly, action only for a handler of its own)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in INTERRUPTS}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if not (to_the_end and signal.getsignal(sig) is signal.SIG_IGN):
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def signals_held():
    """SIGINT and SIGTERM held back in this thread while inside (delivered on leaving): a process
    forked inside starts with them held, until it has set up its own handlers (`release_signals`)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)


def release_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)


def interrupt_pending() -> bool:
    return bool(set(signal.sigpending()) & set(INTERRUPTS))


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when the one that made it ends, however it ends (SIGKILL
    and the OOM killer included); exit at once if it has already ended. For a forked worker and
    (as a Popen preexec_fn) for a program the render runs. Elsewhere than Linux: nothing."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # it died before the prctl
        os._exit(1)


def child_of_this_process():
    """A preexec_fn for subprocess.Popen: the program dies with this process."""
    parent = os.getpid()
    return lambda: die_with_parent(parent)


# ---- work folders ------------------------------------------------------------------------------------

def _lock(path: Path) -> int | None:
    """An open descriptor of the folder `path` holding its exclusive lock, or None when another
    process holds it or the folder is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:  # still the folder we opened
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _remove(path: Path, fd: int) -> None:
    """Remove the locked folder `path`, then let its lock go."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(fd)


def sweep(folder: Path, prefix: str = WORK_PREFIX) -> list[Path]:
    """Remove the work folders (named `prefix`...) in `folder` whose renders are dead (their lock is
    free); a live render's folder is never touched. Returns the folders removed."""
    removed = []
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in entries:
        fd = _lock(path)
        if fd is not None:
            _remove(path, fd)
            removed.append(path)
    return removed


def work_folder(folder: Path, prefix: str = WORK_PREFIX) -> tuple[Path, int]:
    """A new work folder in `folder`, locked by this process (and the workers it forks) until the
    returned descriptor is closed; the dead renders' folders there are swept first."""
    sweep(folder, prefix)
    while True:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
        fd = _lock(path)
        if fd is not None:  # else a sweep took it between its making and our lock: make another
            return path, fd


@contextlib.contextmanager
def scratch_folder(parent: Path | None = None):
    """A locked work folder for intermediate files (in the system's temporary folder by default),
    removed on leaving; one left by a killed render is swept by the next that makes one there."""
    path, fd = work_folder(Path(parent) if parent is not None else Path(tempfile.gettempdir()), SCRATCH_PREFIX)
    try:
        yield path
    finally:
        _remove(path, fd)


class Staging:
    """Every output of one render: made under a work folder beside its final name, then moved into
    place all at once by `publish`. Leaving the `with` block removes the work folders and, after a
    failure, the folders it made for the outputs (when still empty)."""

    def __init__(self):
        self.work: dict[Path, tuple[Path, int]] = {}  # output folder -> (work folder, its lock)
        self.made: list[Path] = []  # output folders this render created
        self.moves: list[tuple[Path, Path]] = []
        self.count = 0

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.close(failed=kind is not None)

    def reserve(self, folder: Path) -> Path:
        """The work folder in `folder` (made, with `folder` itself when missing). Raises OSError
        when `folder` cannot be written."""
        folder = Path(folder).absolute()
        if folder not in self.work:
            missing = []
            for parent in (folder, *folder.parents):
                if parent.is_dir():
                    break
                missing.append(parent)
            folder.mkdir(parents=True, exist_ok=True)
            self.made += reversed(missing)
            self.work[folder] = work_folder(folder)
        return self.work[folder][0]

    def place(self, final: Path) -> Path:
        """Where to write the output `final`: a fresh path in the work folder beside it, moved to
        `final` by `publish`."""
        final = Path(final).absolute()
        self.count += 1
        made = self.reserve(final.parent) / f"{self.count}-{final.name}"
        self.moves.append((made, final))
        return made

    def scratch(self, folder: Path, name: str) -> Path:
        """A new empty folder for intermediate files in the work folder of `folder`."""
        self.count += 1
        path = self.reserve(folder) / f"{self.count}-{name}"
        path.mkdir()
        return path

    def publish(self, deaf_after: bool = False) -> None:
        """Move every output into place. Signals are held meanwhile: one that came before is an
        interruption (nothing is moved). With `deaf_after` (a command's end) the render is
        finished once they are moved, and SIGINT and SIGTERM are ignored from then on (see
        `interruptible`)."""
        with signals_held():
            if interrupt_pending():
                raise Interrupted
            for made, final in self.moves:
                os.replace(made, final)
            if deaf_after:
                _deafen()
        self.moves = []

    def close(self, failed: bool = False) -> None:
        for path, fd in self.work.values():
            _remove(path, fd)
        self.work = {}
        if failed:
            for folder in reversed(self.made):  # the deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
        self.made = []


def staged(make):
    """For a function `make(..., staging)` that makes its outputs in `staging`: called without one,
    it publishes them itself at its end (as a library call wants); with one, the caller does."""

    @functools.wraps(make)
    def call(*args, staging: Staging | None = None, **kwargs):
        if staging is not None:
            return make(*args, staging=staging, **kwargs)
        with Staging() as own:
            made = make(*args, staging=own, **kwargs)
            own.publish()
        return made

    return call
