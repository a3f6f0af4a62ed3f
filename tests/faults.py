"""Fault injection: real renders sent SIGINT (to their process group, as a terminal's Ctrl-C),
SIGTERM (to the main process, as `kill`) or SIGKILL (as the OOM killer or a CI timeout) at random
moments, or at what the render is doing (MARKERS: loading a model, forking its pool, writing its
first frames...), all on one shared cache, with the machine busy if asked (`busy`: CPU-bound
processes beside the render and its own pool). For each: the exit, how long after the signal the
render ended, what was left in the output folder, whether any process of the render outlived it,
and whether the next render in that folder, on that cache, gave the same bytes as a clean render.

    .venv/bin/python tests/faults.py --trials 30 [--seed 1] [--voice] [--busy 2]   # a table and a summary

tests/test_hostile.py runs a few moments of it in the suite; this script runs as many as asked.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERRUPTED = "error: interrupted; nothing was written"

# What a lecturer asks for, each small enough to render in seconds at 480p; {dir} is the trial's folder.
# Two stages with --jobs 2: the stages render in a pool of forked workers.
STAGES = ["--stage", "title", "--stage", "embeddings"]
OUTPUTS = {
    "video": [*STAGES, "--jobs", "2", "--subtitles", "--output", "{dir}/v.mp4"],
    "slides": [*STAGES, "--jobs", "2", "--slides", "--output", "{dir}/deck.html"],
    "stills": [*STAGES, "--stills", "{dir}/stills"],
    "notes": [*STAGES, "--script", "{dir}/notes/s.md", "--handout", "{dir}/h.html", "--numbers", "{dir}/n.json"],
    "voice": [*STAGES, "--jobs", "2", "--voice", "--output", "{dir}/spoken.webm"],
}
SENTENCES = {
    "cat": ["--sentence", "I have a cat"],
    "zh": ["--lang", "zh", "--sentence", "我有一只猫，它很可爱。"],
    "it": ["--sentence", "The cat sat on the mat because it was tired", "--focus", "it", "--causal"],
}
SIGNALS = {"SIGINT": (signal.SIGINT, "group"), "SIGTERM": (signal.SIGTERM, "main"), "SIGKILL": (signal.SIGKILL, "main")}
ENDS_WITHIN = 2.0  # seconds from SIGINT or SIGTERM to the render's exit, however busy the machine
MODEL = ["--model", "smollm2-135m", "--layer", "0", "--head", "0"]  # a decoder's GGUF file, loaded in the main process


def _model_mapped(pid: int, folder: Path, log: Path) -> bool:
    try:
        return ".gguf" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _forked(pid: int, folder: Path, log: Path) -> bool:
    try:
        return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return False


# What a render is doing, seen from outside (its memory, its processes, its files, its log), for a
# signal at that very moment: each a test of (pid, output folder, log) -> bool, in the order they come
MARKERS = {
    "model": _model_mapped,  # a model's file mapped: its weights being read
    "staging": lambda pid, folder, log: any(folder.glob("**/.render-*")),  # the numbers computed, a work folder made
    "fork": _forked,  # the pool's first worker forked (the others may still be forking, signals held)
    "frames": lambda pid, folder, log: any(folder.glob(".render-*/**/partial_movie_files/**/*.*")),  # first frames
    "stage": lambda pid, folder, log: log.exists() and "stages, " in log.read_text(errors="replace"),  # one done
}


@contextlib.contextmanager
def busy(burners: int = 2):
    """The machine busy: `burners` CPU-bound processes beside whatever runs inside, ended afterwards."""
    started = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(burners)]
    try:
        yield
    finally:
        for proc in started:
            proc.kill()
            proc.wait()


def wait_for(marker: str, proc: subprocess.Popen, folder: Path, log: Path, timeout: float = 120) -> bool:
    """Wait until the render reaches `marker`; False when it ended (or timed out) first."""
    deadline = time.monotonic() + timeout
    while not MARKERS[marker](proc.pid, folder, log):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.003)
    return True


def command(output: str, sentence: str, folder: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, str(ROOT / "render.py"), *SENTENCES[sentence],
            *(a.replace("{dir}", str(folder)) for a in OUTPUTS[output]), *extra]


def environment(cache: Path | None, voice: str = "fake") -> dict[str, str]:
    """The render's environment: the cache `cache` (None: off), the fake or the real voices."""
    env = dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(cache) if cache is not None else "off")
    env.pop("ATTENTION_DEBUG", None)
    if voice == "fake":
        env["ATTENTION_EXPLAINER_VOICE"] = "fake"
    else:
        env.pop("ATTENTION_EXPLAINER_VOICE", None)
    return env


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A render started as a terminal's foreground job: a process group of its own, SIGINT at its
    default (whatever this process inherited: a background job ignores it), output to a file (a
    pipe would hang on a killed render's surviving children)."""
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=log.parent, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def catches_sigterm(pid: int) -> bool:
    """render.py has started: its first lines set a handler for SIGTERM (Python itself sets none)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def wait_started(proc: subprocess.Popen, timeout: float = 60) -> float:
    """Wait until the render's own code runs (before it, Python's start-up is not ours to make
    quiet); returns the time it started."""
    deadline = time.monotonic() + timeout
    while not catches_sigterm(proc.pid):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the render did not start")
        time.sleep(0.005)
    return time.monotonic()


def processes_of(group: int) -> list[int]:
    """The live processes of a process group (zombies are dead: only their exit is left to read)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                found.append(int(entry))
    return found


def survivors(group: int, grace: float = 2.0) -> tuple[list[int], float]:
    """The render's processes still alive `grace` seconds after it ended, and how long the last of
    the others took to go."""
    started = time.monotonic()
    while (alive := processes_of(group)) and time.monotonic() < started + grace:
        time.sleep(0.02)
    return alive, time.monotonic() - started


def files(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too): its path from `folder` -> SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(folder: Path) -> list[str]:
    """What a render leaves that is not an output: anything under a name starting with "."."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if any(part.startswith(".")
                                                                                for part in p.relative_to(folder).parts))


@dataclass
class Reference:
    """A clean render: its outputs' bytes and how long it took from its start."""

    output: str
    sentence: str
    files: dict[str, str]
    seconds: float
    extra: tuple[str, ...] = ()  # more options (a model)


def reference(output: str, sentence: str, work: Path, voice: str = "fake", extra: tuple[str, ...] = ()) -> Reference:
    folder = Path(tempfile.mkdtemp(prefix=f"clean-{output}-{sentence}-", dir=work))
    cache = Path(tempfile.mkdtemp(prefix="clean-cache-", dir=work))  # a clean render: a cache of its own
    proc = start(command(output, sentence, folder, extra), environment(cache, voice), work / f"clean-{folder.name}.log")
    started = wait_started(proc)
    code = proc.wait(timeout=900)
    seconds = time.monotonic() - started
    if code != 0:
        raise RuntimeError(f"the clean {output} render failed: {(work / f'clean-{folder.name}.log').read_text()[-500:]}")
    made = files(folder)
    shutil.rmtree(folder)
    shutil.rmtree(cache)
    return Reference(output, sentence, made, seconds, extra)


@dataclass
class Trial:
    output: str
    sentence: str
    signal: str
    moment: float  # seconds after the render's own code started, or after `marker`
    marker: str | None = None  # MARKERS: the moment counts from it (the signal is not sent when it never came)
    reached: bool = True  # the marker came before the render ended
    exit: int | None = None
    ended: float = 0.0  # seconds from the signal to the main process's exit
    last_line: str = ""
    traceback: bool = False
    made: dict[str, str] = field(default_factory=dict, repr=False)  # the folder's files after it ended -> SHA-256
    partial: list[str] = field(default_factory=list)  # outputs left under their final names that differ from a clean render's
    outlived: list[int] = field(default_factory=list)  # processes of the render alive 2 s after it ended
    lingered: float = 0.0  # seconds from the main process's end until no process of the render was left
    next_exit: int | None = None
    next_seconds: float = 0.0
    next_same: bool | None = None  # the next render's outputs byte-identical to a clean render's
    next_swept: bool | None = None  # nothing hidden left after the next render

    @property
    def finished(self) -> bool:
        return self.exit == 0

    @property
    def left(self) -> list[str]:
        return sorted(self.made)

    def problems(self, ref: Reference) -> list[str]:
        """What broke a promise of the README; empty when all held."""
        found = []
        if self.finished:  # the signal came after the outputs were in place: the render was over
            if self.made != ref.files:
                found.append("exit 0 but the outputs differ from a clean render's")
        elif self.signal == "SIGKILL":
            if self.exit != -signal.SIGKILL:
                found.append(f"exit {self.exit}, not killed")
        else:
            if self.exit != 130:
                found.append(f"exit {self.exit}, not 130")
            if self.ended > ENDS_WITHIN:
                found.append(f"ended {self.ended:.2f} s after the signal")
            if self.last_line != INTERRUPTED:
                found.append(f"last line {self.last_line!r}")
            if self.left:
                found.append(f"left {self.left}")
        if self.traceback:
            found.append("a traceback")
        if self.partial:
            found.append(f"partial outputs {self.partial}")
        if self.outlived:
            found.append(f"processes outlived it: {self.outlived}")
        if self.next_exit not in (None, 0):
            found.append(f"the next render exited {self.next_exit}")
        if self.next_same is False:
            found.append("the next render's bytes differ from a clean render's")
        if self.next_swept is False:
            found.append("the next render left hidden files")
        return found


def run_trial(ref: Reference, sig: str, moment: float, work: Path, cache: Path | None, again: bool,
              voice: str = "fake", marker: str | None = None) -> Trial:
    """One render of `ref`'s output and sentence, sent `sig` `moment` seconds after its code
    started (after it reached `marker`, when given), on `cache` (None: off); with `again` the next
    render in the same folder is checked too."""
    trial = Trial(ref.output, ref.sentence, sig, moment, marker)
    folder = Path(tempfile.mkdtemp(prefix=f"trial-{ref.output}-", dir=work))
    log = work / f"{folder.name}.log"
    env = environment(cache, voice)
    args = command(ref.output, ref.sentence, folder, ref.extra)
    proc = start(args, env, log)
    started = wait_started(proc)
    if marker is not None:
        trial.reached = wait_for(marker, proc, folder, log)
        started = time.monotonic()
    if math.isinf(moment):  # after the render ended, however long a loaded machine made it
        proc.wait(timeout=300)
    else:
        time.sleep(max(0.0, started + moment - time.monotonic()))
    number, target = SIGNALS[sig]
    sent = time.monotonic()
    try:
        if target == "group":
            os.killpg(proc.pid, number)
        else:
            os.kill(proc.pid, number)
    except ProcessLookupError:
        pass
    trial.exit = proc.wait(timeout=300)
    trial.ended = time.monotonic() - sent
    trial.outlived, trial.lingered = survivors(proc.pid)
    for pid in trial.outlived:  # never leave them behind ourselves
        os.kill(pid, signal.SIGKILL)
    text = log.read_text(errors="replace")
    trial.last_line = (text.strip().splitlines() or [""])[-1]
    trial.traceback = "Traceback" in text
    trial.made = made = files(folder)
    trial.partial = sorted(name for name, digest in made.items()
                           if not any(part.startswith(".") for part in Path(name).parts)
                           and ref.files.get(name) != digest)
    if again:
        began = time.monotonic()
        done = subprocess.run(args, env=env, cwd=folder,
                              capture_output=True, timeout=900)
        trial.next_seconds = time.monotonic() - began
        trial.next_exit = done.returncode
        trial.next_swept = not hidden(folder)
        trial.next_same = files(folder) == ref.files
    shutil.rmtree(folder, ignore_errors=True)
    return trial


def moments(n: int, seconds: float, rng: random.Random) -> list[float]:
    """`n` moments over a render of `seconds`: its first tenths, its last, and the rest at random
    in between (a moment past the end finds the render finished)."""
    fixed = [0.0, 0.2, max(0.0, seconds - 0.3), seconds - 0.05]
    return sorted([*fixed[:n], *(rng.uniform(0, seconds) for _ in range(max(0, n - len(fixed))))])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outputs", default="video,slides,stills,notes,voice")
    parser.add_argument("--voice", action="store_true", help="the voice output with the real voices (make voice)")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes beside the renders")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    voice = "real" if args.voice else "fake"
    work = Path(tempfile.mkdtemp(prefix="faults-"))
    cache = work / "shared-cache"
    outputs = args.outputs.split(",")
    plan = [(rng.choice(outputs), rng.choice(list(SENTENCES)), list(SIGNALS)[i % 3]) for i in range(args.trials)]
    refs: dict[tuple[str, str], Reference] = {}
    for output, sentence, _ in plan:
        if (output, sentence) not in refs:
            refs[output, sentence] = reference(output, sentence, work, voice if output == "voice" else "fake")
    # a moment within the render as it runs now: on the shared cache a render gets faster once its
    # stages are kept, so the moments follow the last complete render of that output and sentence
    pace = {key: ref.seconds for key, ref in refs.items()}
    failures, trials = 0, []
    print(f"{'output':7} {'sentence':8} {'signal':7} {'marker':7} {'moment':>6} {'exit':>5} {'ended':>5} {'left':>4} "
          f"{'outlived':>8} {'gone s':>6} {'next':>4} {'same':>5}  problems")
    with busy(args.busy):
        for output, sentence, sig in plan:
            ref = refs[output, sentence]
            marker = rng.choice([None, None, "staging", "fork", "frames", "stage"])  # half at random moments
            moment = rng.uniform(0, 0.5) if marker else rng.uniform(0, pace[output, sentence] * 1.05)
            trial = run_trial(ref, sig, moment, work, cache, again=True, voice=voice if output == "voice" else "fake",
                              marker=marker)
            pace[output, sentence] = trial.next_seconds
            problems = trial.problems(ref)
            failures += bool(problems)
            trials.append(trial)
            print(f"{output:7} {sentence:8} {sig:7} {marker or '-':7} {moment:6.2f} {trial.exit:>5} {trial.ended:5.2f} "
                  f"{len(trial.left):>4} {len(trial.outlived):>8} {trial.lingered:6.2f} {trial.next_exit:>4} "
                  f"{str(trial.next_same):>5}  {'; '.join(problems) or 'ok'}", flush=True)
    ended = {"interrupted (130)": sum(t.exit == 130 for t in trials), "killed": sum(t.exit == -9 for t in trials),
             "finished before the signal (0)": sum(t.finished for t in trials)}
    print(f"\n{len(plan) - failures} of {len(plan)} trials kept every promise: "
          + ", ".join(f"{n} {what}" for what, n in ended.items())
          + f"; an interrupted render ended {max((t.ended for t in trials if t.exit == 130), default=0):.2f} s after"
          f" the signal at most; the last process of a render was gone {max(t.lingered for t in trials):.2f} s after it at most;"
          f" {sum(bool(t.outlived) for t in trials)} outlived it. Clean renders took "
          + ", ".join(f"{o}/{s} {r.seconds:.1f} s" for (o, s), r in sorted(refs.items())))
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
