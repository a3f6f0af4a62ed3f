"""A render's life: its signals, its processes and its files, so that nothing is lost or left at
any moment.

- Signals. SIGINT (a terminal's Ctrl-C, sent to the whole process group) and SIGTERM (`kill`) end
  a render as one KeyboardInterrupt in the main process; the first one also makes the render deaf
  to the next, so that its clean-up is not itself interrupted. A SIGINT the render was started
  with ignored (a background job, as POSIX wants) stays ignored. A render run as a program is
  also watched (`_Watchman`): a thread woken by the signal itself, whatever the main thread is
  doing, ends the process GRACE seconds later if its own clean-up has not (an interrupt swallowed
  by a library, a wait that never returns, a long call that holds the main thread).
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
import time
from pathlib import Path

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
WORK_PREFIX = ".render-"  # a render's work folder in an output's folder
# a scratch folder in the system's temporary folder, which every program shares: a name of our own,
# so that a sweep there never takes another program's folder for a dead render's
SCRATCH_PREFIX = "attention-explainer-"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
GRACE = 1.0  # seconds an interrupted render has to end by its own clean-up before it is ended at once
FAREWELL = "error: interrupted; nothing was written"
INTERRUPTED = 130  # the exit status of an interrupted render (128 + SIGINT, as a shell's)

_ending = threading.Lock()  # held while outputs move into place, and by whatever ends the process
# held while this process forks workers that do not exec, and while a thread of it starts a program:
# a worker forked while another thread's subprocess.Popen waited for its program to start kept that
# Popen's pipe open, so the Popen waited for ever (the voice, started while the stages' pool forked)
forks = threading.Lock()
_state = {"interrupted": False, "finished": False, "farewell": FAREWELL}
_live: dict[Path, bool] = {}  # this process's work folders (True) and the output folders it made (False)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the render ends, nothing is written."""


def _ignore(signum, frame) -> None:
    """Deaf while Python code runs: a handler that does nothing (SIG_IGN would make CPython report a
    signal a library's thread had already taken as "ignored due to race condition")."""


def _deafen() -> None:
    """Ignore SIGINT and SIGTERM from now on."""
    for sig in INTERRUPTS:
        signal.signal(sig, _ignore)


def _interrupt(signum, frame):
    _state["interrupted"] = True  # publish refuses from now on, even if a library swallows the exception
    _deafen()  # the clean-up runs to its end
    raise Interrupted


class _Watchman:
    """A thread that sees SIGINT and SIGTERM as they come, through the wake-up pipe CPython writes
    every caught signal's number to from whichever thread the kernel chose (signal.set_wakeup_fd):
    it wakes the main thread (a blocking call there returns, its handler runs), then, GRACE seconds
    later, ends the process itself unless the render has ended or finished: its work folders
    removed, the farewell line, exit 130."""

    def __init__(self):
        self.reader, writer = os.pipe()
        os.set_blocking(writer, False)
        self.writer = writer
        self.previous = signal.set_wakeup_fd(writer, warn_on_full_buffer=False)
        self.main = threading.main_thread().ident
        with signals_held():  # the kernel gives the signals to the main thread, not to this one
            threading.Thread(target=self.watch, name="interrupt-watchman", daemon=True).start()

    def watch(self) -> None:
        wanted = {int(sig) for sig in INTERRUPTS}
        while not wanted & set(data := os.read(self.reader, 64)):
            if not data:  # closed: the render ended
                return
        if not _state["finished"]:
            signal.pthread_kill(self.main, data[0])  # a wait the signal did not break, broken
            time.sleep(GRACE)
            end_now(INTERRUPTED, farewell=True)

    def close(self) -> None:
        signal.set_wakeup_fd(self.previous)
        os.close(self.writer)


def end_now(status: int, farewell: bool = False) -> None:
    """End the process at once (no teardown of the interpreter, which takes seconds for manim's
    objects on a busy machine), unless, for the watchman (`farewell`), the render published its
    outputs meanwhile. The watchman removes the work folders first and says the farewell line."""
    if not farewell:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    with _ending:
        if farewell:
            if _state["finished"]:
                return
            for path, work in reversed(list(_live.items())):  # a work folder whole; an output folder made, if empty
                if work:
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        path.rmdir()
            os.write(2, (_state["farewell"] + "\n").encode())
        os._exit(status)


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
    _state.update(interrupted=False, finished=False)
    watchman = _Watchman() if to_the_end else None
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if to_the_end and signal.getsignal(sig) is _ignore:
                signal.signal(sig, signal.SIG_IGN)
            else:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if watchman is not None and not _state["interrupted"]:
            watchman.close()
        if not to_the_end:
            _state["interrupted"] = False  # a library's next call starts afresh


@contextlib.contextmanager
def farewell(line: str):
    """The line the watchman says when it ends the process inside (a course keeps what it finished)."""
    before = _state["farewell"]
    _state["farewell"] = line
    try:
        yield
    finally:
        _state["farewell"] = before


@contextlib.contextmanager
def signals_held():
    """SIGINT and SIGTERM held back in this thread while inside (delivered on leaving): a process
    forked inside starts with them held, until it has set up its own handlers (`worker_signals`)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)


def worker_signals() -> None:
    """In a forked worker (started with the signals held): SIGINT ignored (a terminal's Ctrl-C is
    for the render, which stops its workers), SIGTERM deadly at once, none of the render's watching."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)


def interrupt_pending() -> bool:
    return bool(set(signal.sigpending()) & set(INTERRUPTS))


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when the one that made it ends, however it ends (SIGKILL
    and the OOM killer included); exit at once if it has already ended. For a forked worker, and
    (through `dying_with_this_process`) for a program the render runs. Elsewhere than Linux: nothing."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # it died before the prctl
        os._exit(1)


def dying_with_this_process(command) -> list[str]:
    """`command` (for subprocess.Popen) so that the program dies with this process, however it ends.
    Not a preexec_fn: Python code run between fork and exec in a process with threads can wait for
    ever on what another thread held at the fork (a voice started beside the stages' renders hung in
    PyAV's clean-up, which CPython ran in the forked copy when it cleared the other threads' states
    before the preexec_fn, and the render with it). Here this module, run as a program of its own
    (it imports only the standard library), calls die_with_parent, then execs the command."""
    if not sys.platform.startswith("linux"):
        return [str(part) for part in command]
    return [sys.executable, "-S", __file__, str(os.getpid()), *(str(part) for part in command)]


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
        _live.pop(path, None)
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
            _live[path] = True
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
            _live.update((made, False) for made in reversed(missing))
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
        with signals_held(), _ending:  # the watchman never ends the process half-way through
            if interrupt_pending() or _state["interrupted"]:
                raise Interrupted
            for made, final in self.moves:
                os.replace(made, final)
            if deaf_after:
                _state["finished"] = True
                _deafen()
        self.moves = []

    def close(self, failed: bool = False) -> None:
        for path, fd in self.work.values():
            _remove(path, fd)
        self.work = {}
        for folder in reversed(self.made):  # the deepest first
            _live.pop(folder, None)
            if failed:
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


if __name__ == "__main__":  # dying_with_this_process's launcher: PARENT COMMAND...
    die_with_parent(int(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])
