"""Every cache is optional (issue 33): a cache that cannot be written, on a full disk (ENOSPC) or a
read-only one (EROFS), is said once, one line on stderr, and the render goes on without it: the
video, the slides, the spoken video and a course; in the main process and in the pool's workers
(forked: each inherits the injected fault). Nothing half-written is left under a cache entry's name,
and a damaged entry read back never fails the render.

Each render runs as a user runs it, in a process of its own (`render.py` under `python -c`), so that
a line a worker printed would show in its stderr too; the fault is injected into every cache's write
path there (`refuse_writes_under`) before render.py starts. One render fills a real tmpfs, and one
finds its cache on a read-only mount, when this machine lets the tests mount (root); skipped with
the reason otherwise."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import av
import pytest
from test_packaging import CLUSTER_COURSE

ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "render.py"
LINE = "could not cache"
TWO_STAGES = ("--stage", "title", "--stage", "embeddings", "--quality", "low", "--jobs", "2", "--quiet")


def refuse_writes_under(root: str, code: int, workers_only: bool = False) -> None:
    """Make every write of a cache entry under `root` fail with OSError(`code`), in this process and the
    workers it forks (`workers_only`: in the workers alone): the entries written whole then renamed
    (the stages, the formulas, the speech, reveal.js for the slides), the texts Pango lays out (renamed
    into the shared folder), and, for a read-only disk, the cache's first check that it can write."""
    import multiprocessing
    import tempfile

    from scenes import cache_writes
    from scenes.production import deck

    def refused(path) -> bool:
        in_worker = multiprocessing.parent_process() is not None
        return str(path).startswith(root) and (in_worker or not workers_only)

    def fail(path):
        raise OSError(code, os.strerror(code), str(path))

    write = cache_writes.write_atomically

    def write_refused(path, data):
        fail(path) if refused(path) else write(path, data)

    cache_writes.write_atomically = write_refused
    replace = os.replace

    def replace_refused(source, target):
        fail(target) if refused(target) else replace(source, target)

    os.replace = replace_refused
    deck.user_cache_path = lambda name: Path(root) / name  # manim-slides' reveal.js cache under `root` too
    if code == errno.EROFS:
        temporary = tempfile.TemporaryFile

        def temporary_refused(*args, dir=None, **kwargs):
            if dir is not None and refused(dir):
                fail(dir)
            return temporary(*args, dir=dir, **kwargs)

        tempfile.TemporaryFile = temporary_refused


def render(args, cache: Path, code: int | None = None, workers_only: bool = False, refused: Path | None = None,
           **env) -> subprocess.CompletedProcess:
    """render.py `args` with its cache in `cache`, every write under it (or under `refused`) failing with
    `code` (None: a plain run; `workers_only`: in the pool's workers alone)."""
    inject = "" if code is None else (
        f"sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_cache_optional as t; "
        f"t.refuse_writes_under({str(refused or cache)!r}, {code}, {workers_only}); ")
    program = (f"import runpy, sys; {inject}sys.argv = ['render.py', *{[str(a) for a in args]!r}]; "
               f"runpy.run_path({str(RENDER)!r}, run_name='__main__')")
    environment = dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(cache), PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, text=True,
                          timeout=600)


def said_once(done: subprocess.CompletedProcess, reason: str) -> None:
    """Exit 0 and the one line, naming the reason."""
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if LINE in line]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("cache: could not cache (") and reason in lines[0], lines[0]
    assert "Traceback" not in done.stderr


def nothing_under(cache: Path) -> None:
    """No file under the cache: neither an entry (every write failed) nor a half-written one."""
    assert [p for p in cache.rglob("*") if not p.is_dir()] == []


def video_frames(path: Path) -> tuple[int, bool]:
    """The video's decoded frames, and whether it has a sound track."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0])), bool(container.streams.audio)


@pytest.fixture(scope="module")
def clean_video(tmp_path_factory) -> Path:
    """The two stages rendered with a cache that works."""
    folder = tmp_path_factory.mktemp("clean")
    done = render([*TWO_STAGES, "--output", folder / "clean.mp4"], folder / "cache")
    assert done.returncode == 0 and LINE not in done.stderr, done.stderr
    return folder / "clean.mp4"


CODES = [pytest.param(errno.ENOSPC, id="full"), pytest.param(errno.EROFS, id="read-only")]


@pytest.mark.render
@pytest.mark.parametrize("code, workers_only", [pytest.param(errno.ENOSPC, False, id="full"),
                                                pytest.param(errno.EROFS, False, id="read-only"),
                                                pytest.param(errno.ENOSPC, True, id="full-in-the-workers")])
def test_the_video(tmp_path, code, workers_only, clean_video):
    """Two stages in two workers: the texts and formulas they lay out, the stages the main process
    keeps. The same frames as a render whose cache works. When only the workers fail (the main process
    could write), the line still comes once, from the main process, and it caches nothing either."""
    cache = tmp_path / "cache"
    done = render([*TWO_STAGES, "--output", tmp_path / "v.mp4"], cache, code, workers_only)
    said_once(done, os.strerror(code))
    nothing_under(cache)
    assert (tmp_path / "v.mp4").read_bytes() == clean_video.read_bytes()


@pytest.mark.render
@pytest.mark.parametrize("code", CODES)
def test_the_slides(tmp_path, code):
    """The deck, reveal.js inlined although manim-slides' asset cache cannot take it either."""
    cache = tmp_path / "cache"
    deck = tmp_path / "d.html"
    done = render([*TWO_STAGES, "--slides", "--output", deck], cache, code)
    said_once(done, os.strerror(code))
    nothing_under(cache)
    page = deck.read_text(encoding="utf-8")
    assert page.count("data:video/mp4;base64,") >= 2  # a slide per pause, each its video inlined
    assert "Reveal.initialize" in page and 'src="http' not in page and 'href="http' not in page  # offline


@pytest.mark.render
@pytest.mark.parametrize("code, only", [pytest.param(errno.ENOSPC, "", id="full"),
                                        pytest.param(errno.EROFS, "", id="read-only"),
                                        pytest.param(errno.ENOSPC, "speech", id="full-for-the-speech")])
def test_the_spoken_video(tmp_path, code, only):
    """The speech cache cannot keep a clip: the video speaks all the same (the test voice's tones).
    With `only` the speech's folder fails, the texts are cached: the speech's own write says it."""
    cache = tmp_path / "cache"
    out = tmp_path / "v.mp4"
    done = render(["--stage", "title", "--quality", "low", "--voice", "--output", out], cache, code,
                  refused=cache / only if only else None, ATTENTION_EXPLAINER_VOICE="fake")
    said_once(done, os.strerror(code))
    nothing_under(cache / only)
    if only:
        assert f"{cache / 'speech'})" in done.stderr and list(cache.glob("texts-*/*.svg"))
    frames, sound = video_frames(out)
    assert frames > 15 and sound
    assert re.search(r"^voice: (\d+) lines, \1 synthesised, 0 from the cache$", done.stderr, re.M), done.stderr


COURSE = CLUSTER_COURSE  # two lectures of one stage, a video each: the smallest course of two


@pytest.mark.render
@pytest.mark.parametrize("code", CODES)
def test_a_course(tmp_path, code):
    """Two lectures, their stages in two workers: both made, the site written, the line once for the
    whole course."""
    cache = tmp_path / "cache"
    (tmp_path / "course.toml").write_text(COURSE, encoding="utf-8")
    done = render(["--course", tmp_path / "course.toml", "--output", tmp_path / "out", "--jobs", "2", "--quiet"],
                  cache, code)
    said_once(done, os.strerror(code))
    nothing_under(cache)
    for lecture in ("01-i-have-a-cat", "02-the-cat-sat"):
        frames, _ = video_frames(tmp_path / "out" / lecture / "en" / "video.mp4")
        assert frames > 15
    assert (tmp_path / "out" / "index.html").is_file()
    assert not [p for p in (tmp_path / "out").rglob("*") if ".part" in p.name or p.name.startswith(".")]


# ---- a real full disk and a real read-only one -----------------------------------------------------

@contextlib.contextmanager
def mounted(folder: Path, options: str):
    """A tmpfs mounted on `folder` with `options`; the test skipped, with the reason, when this
    machine does not let it mount (not root, or no mount in the container)."""
    folder.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                              text=True)
    except OSError as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def complete(path: Path) -> bool:
    """Whether a cache file is a whole entry: a text's or formula's SVG ends, a stage's record parses and
    its pieces have the sizes it records."""
    if path.suffix == ".svg":
        return path.read_bytes().rstrip().endswith(b"</svg>")
    if path.suffix == ".json":
        record = json.loads(path.read_text(encoding="utf-8"))
        stem = path.name[:-len(".json")]
        return all((path.parent / f"{stem}-{n}.mp4").stat().st_size == piece["size"]
                   for n, piece in enumerate(record["pieces"]))
    return path.suffix == ".mp4" and path.parent.name == "stages"  # a piece: its record says whether it is whole


@pytest.mark.render
def test_a_cache_on_a_real_full_tmpfs(tmp_path):
    """The issue's case: the cache on a 300 KB tmpfs, filled up to 24 KB before the render starts, so
    that it fills up during it (texts written whole before it does)."""
    with mounted(tmp_path / "tiny", "size=300k") as cache:
        with contextlib.suppress(OSError), open(cache / "filler", "wb") as f:
            f.write(b"\0" * (276 * 1024))
        out = tmp_path / "v.mp4"
        done = render([*TWO_STAGES, "--output", out], cache)
        said_once(done, os.strerror(errno.ENOSPC))
        frames, _ = video_frames(out)
        assert frames > 30
        left = [p for p in cache.rglob("*") if p.is_file() and p.name != "filler"]
        assert not [p for p in left if ".part" in p.name or p.name.startswith(".")], left
        assert all(complete(p) for p in left), left


@pytest.mark.render
def test_a_cache_on_a_real_read_only_mount(tmp_path):
    with mounted(tmp_path / "ro", "size=300k,ro") as cache:
        out = tmp_path / "v.mp4"
        done = render([*TWO_STAGES, "--output", out], cache / "attention")
        said_once(done, os.strerror(errno.EROFS))
        frames, _ = video_frames(out)
        assert frames > 30


# ---- a damaged entry read back -----------------------------------------------------------------------

@pytest.mark.render
def test_damaged_texts_and_formulas_in_the_cache_are_laid_out_again(tmp_path):
    """Every text's and formula's SVG in the shared folder cut in half, as a disk fault would: the next
    render makes the same video (and says nothing of caching: nothing failed to be written)."""
    cache = tmp_path / "cache"
    first = render([*TWO_STAGES, "--output", tmp_path / "a.mp4"], cache)
    assert first.returncode == 0, first.stderr
    svgs = sorted(cache.glob("texts-*/*.svg"))
    assert any(p.name.startswith("math-") for p in svgs) and len(svgs) > 10
    for p in svgs:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    for p in (cache / "stages").iterdir():
        p.unlink()  # the stages rendered again, from the damaged texts
    again = render([*TWO_STAGES, "--output", tmp_path / "b.mp4"], cache)
    assert again.returncode == 0, again.stderr
    assert LINE not in again.stderr
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
