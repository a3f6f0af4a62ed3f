"""The narration is synthesised while the frames render (scenes.production.voice.Narration): a voice
program that will not finish its last line before a stage has started rendering still gets its
video made; the spoken texts go to the voice in the order the stages will want them."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import attncore
from scenes.outputs import make
from scenes.production import pool
from scenes.production import voice as voice_module
from scenes.production.run import speaking_order
from scenes.production.voice import Voice

ROOT = Path(__file__).resolve().parent.parent

# a voice program: one numbered tone a line, but the last line only once the marker file exists (a
# stage's render started); if the marker never comes it fails, saying so (a guard against waiting for
# ever, not a timing)
STUB = r'''
import math, os, struct, sys, time, wave
from pathlib import Path
folder, marker, log = Path(sys.argv[2]), Path(sys.argv[1]), Path(sys.argv[1] + ".log")
lines = sys.stdin.read().splitlines()
log.write_text(f"{len(lines)} lines\n")
for n, line in enumerate(lines):
    if n == len(lines) - 1:
        for _ in range(1200):
            if marker.exists():
                break
            time.sleep(0.05)
        else:
            sys.exit("stub voice: no stage started rendering before the last line was wanted")
        with log.open("a") as f:
            f.write("a stage was rendering before the last line\n")
    with wave.open(str(folder / f"{n}.wav"), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        seconds = 0.3 + 0.02 * len(line)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / 16000)))
                               for i in range(int(seconds * 16000))))
'''


@pytest.mark.render
def test_the_narration_is_synthesised_while_the_frames_render(tmp_path, monkeypatch):
    program, marker = tmp_path / "stub_voice.py", tmp_path / "rendering"
    program.write_text(STUB, encoding="utf-8")
    stub = Voice("en", f"stub-{tmp_path.name}", (sys.executable, str(program), str(marker)))
    monkeypatch.setattr(voice_module, "voice_for", lambda language: stub)
    rendered = pool.render_stage

    def render_stage(*args, **kwargs):
        marker.touch()  # a stage starts rendering its frames
        return rendered(*args, **kwargs)

    monkeypatch.setattr(pool, "render_stage", render_stage)
    out = tmp_path / "v.mp4"
    # one process (jobs=1): the stages render here, where render_stage is the one above
    written = make("video", attncore.run(), out, stages=("title", "embeddings"), voice=True, jobs=1, cache=False)
    assert written == [out] and out.stat().st_size > 0
    log = (tmp_path / "rendering.log").read_text()
    assert log.splitlines()[0] != "1 lines"  # more than one line, so the last one came after others
    assert "a stage was rendering before the last line" in log  # the frames did not wait for the voice


def test_the_stages_texts_come_in_the_order_their_renders_want_them():
    """Two processes take the heaviest stages first: their texts interleave by when each render
    reaches them; a stage that waits for a free process comes after."""
    from scenes import STAGE_WEIGHT

    light, heavy, heavier = sorted(("title", "embeddings", "softmax"), key=lambda s: STAGE_WEIGHT.get(s, 1))
    assert STAGE_WEIGHT.get(light, 1) < STAGE_WEIGHT.get(heavy, 1) < STAGE_WEIGHT.get(heavier, 1)
    cue = lambda stage, start, end, spoken: SimpleNamespace(stage=stage, start=start, end=end, spoken=spoken)
    cues = [cue(light, 0, 5, "l1"), cue(light, 5, 10, "l2"),  # in video order: light, heavy, heavier
            cue(heavy, 10, 14, "h1"), cue(heavy, 14, 30, "h2"),
            cue(heavier, 30, 31, "v1"), cue(heavier, 31, 40, "v2"), cue(heavier, 40, 41, "")]
    stages = (light, heavy, heavier)
    # heavier and heavy start at once (times 0 and 0 into each), heavier's second line at 1, heavy's at
    # 4; light waits for the first process to be free (heavier ends at 11 s), its lines at 11 and 16
    assert speaking_order(cues, stages, jobs=2) == ["h1", "v1", "v2", "h2", "l1", "l2"]
    # one process: the heaviest stage, then the next heaviest, then the light one
    assert speaking_order(cues, stages, jobs=1) == ["v1", "v2", "h1", "h2", "l1", "l2"]
    # a text said in two stages comes when it is first wanted
    cues.append(cue(light, 10, 11, "v2"))
    assert speaking_order(cues, stages, jobs=1).count("v2") == 1


FAILING = r'''
import sys, wave
from pathlib import Path
folder = Path(sys.argv[1])
sys.stdin.read()
with wave.open(str(folder / "0.wav"), "wb") as w:  # one line said, then the voice breaks
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(b"\x00\x10" * 8000)
sys.exit("stub voice: out of memory")
'''


@pytest.mark.render
def test_a_voice_that_fails_while_the_stages_render_fails_the_render(tmp_path, monkeypatch):
    """The stages, in their own processes, wait for lines the voice will never say: they hear of its
    failure and the render ends with the voice's one line, nothing written."""
    from scenes.production.voice import VoiceError

    program = tmp_path / "failing_voice.py"
    program.write_text(FAILING, encoding="utf-8")
    stub = Voice("en", f"failing-{tmp_path.name}", (sys.executable, str(program)))
    monkeypatch.setattr(voice_module, "voice_for", lambda language: stub)
    out = tmp_path / "v.mp4"
    with pytest.raises(VoiceError, match="^voice: the English voice failed: stub voice: out of memory$"):
        make("video", attncore.run(), out, stages=("title", "embeddings"), voice=True, jobs=2, cache=False)
    assert not out.exists()


QUICK = r'''
import sys, wave
from pathlib import Path
folder = Path(sys.argv[1])
for n, line in enumerate(sys.stdin.read().splitlines()):
    with wave.open(str(folder / f"{n}.wav"), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(b"\x00\x10" * 4000)
'''


@pytest.mark.render
@pytest.mark.timeout(240)
def test_a_voice_starting_while_the_stages_workers_fork_still_ends(tmp_path, monkeypatch):
    """The voice's program starts (in the narration's thread) while the stages' pool forks its workers
    (in the main thread). A worker forked after the voice's Popen had made its pipe (which tells Popen
    whether the program started) and before Popen closed its end kept that pipe open, so Popen, and the
    render, waited for ever (CI: 71 minutes). Here Popen waits 2 s with its pipe made, and the pool
    forks 1 s after the render starts: the render must still end."""
    import subprocess
    import time

    program = tmp_path / "quick_voice.py"
    program.write_text(QUICK, encoding="utf-8")
    stub = Voice("en", f"quick-{tmp_path.name}", (sys.executable, str(program)))
    monkeypatch.setattr(voice_module, "voice_for", lambda language: stub)
    starting = subprocess._fork_exec  # called once the pipe is made: CPython 3.11's Popen._execute_child
    monkeypatch.setattr(subprocess, "_fork_exec", lambda *args: (time.sleep(2), starting(*args))[1])
    forking = pool.run_parallel
    monkeypatch.setattr(pool, "run_parallel", lambda *args, **kwargs: (time.sleep(1), forking(*args, **kwargs))[1])
    out = tmp_path / "v.mp4"
    written = make("video", attncore.run(), out, stages=("title", "embeddings", "softmax"), voice=True, jobs=2,
                   cache=False)
    assert written == [out] and out.stat().st_size > 0


# the voice started from a thread as the narration starts it, while the main thread holds, in its own
# thread-local state, an object whose clean-up in a forked copy of the process waits for ever (as PyAV's
# did: its reformatter's slice threads are not in the copy). A preexec_fn makes the copy clear the other
# threads' states (CPython's PyOS_AfterFork_Child), and so run that clean-up
GARBAGE = r'''
import os, sys, threading
sys.path.insert(0, sys.argv[1])
from scenes.production.voice import Voice
parent, never, mine = os.getpid(), threading.Lock(), threading.local()
never.acquire()
class Stuck:
    def __del__(self):
        if os.getpid() != parent:  # only in a copy of this process: there nothing will ever release it
            never.acquire()
mine.held = Stuck()
voice = Voice("en", "quick", (sys.executable, sys.argv[2]))
said = []
thread = threading.Thread(target=lambda: said.extend(voice.synthesize(["one line", "another"])))
thread.start()
thread.join()
print(len(said))
'''


def test_a_voice_started_beside_threads_runs_no_python_between_fork_and_exec(tmp_path):
    """A voice's program started in the narration's thread: no Python code may run in the forked copy
    before exec (with a preexec_fn it does, and CI's render hung in PyAV's clean-up there, waiting for
    ever). Here the main thread's state holds what would hang the copy."""
    import os
    import signal
    import subprocess

    program, script = tmp_path / "quick_voice.py", tmp_path / "garbage.py"
    program.write_text(QUICK, encoding="utf-8")
    script.write_text(GARBAGE, encoding="utf-8")
    run = subprocess.Popen([sys.executable, str(script), str(ROOT), str(program)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = run.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)  # the script and its hung copy
        run.communicate()
        pytest.fail("the voice's program never started: the forked copy hung before exec")
    assert run.returncode == 0 and out.split() == ["2"], err[-2000:]
