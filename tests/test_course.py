"""render.py --course (scenes.course): the file checked whole before anything renders, --dry-run, one
batch for every lecture's stages, resuming by content, a failed lecture that stops nothing, the
offline site (in headless Chromium), and a real local Dask cluster giving the same bytes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import render  # noqa: E402

TINY = """title = "Tiny course"
languages = ["en", "zh"]
stages = ["title"]
outputs = ["video", "subtitles", "slides", "explore", "handout"]
[[lecture]]
sentence = "I have a cat"
[[lecture]]
sentence = "The cat sat"
title = { en = "A causal one", zh = "因果注意力一例" }
causal = true
"""


def course(tmp_path: Path, text: str, name: str = "course.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(render.main, [str(a) for a in args])


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("text, expected", [
    ('title = "C"\n[[lecture]]\nsentence = "I have a cat"\nfocs = "cat"\n',
     'error: course.toml: lecture 1 ("I have a cat"): focs: not a field of a lecture'),
    ('title = "C"\n[[lecture]]\nsentence = "I have a cat"\n[[lecture]]\nsentence = "The cat sat"\nheads = 2\nhead = 5\n',
     'error: course.toml: lecture 2 ("The cat sat"): head: 5 is out of range; there are heads 0 to 1'),
    ('title = "C"\n[[lecture]]\nsentence = "I have a cat"\nfocus = "dog"\n',
     'error: course.toml: lecture 1 ("I have a cat"): focus: '),
    ('title = "C"\nlanguages = ["en", "fr"]\n[[lecture]]\nsentence = "I have a cat"\n',
     "error: course.toml: languages: ['en', 'fr'] is not a list of languages: en, zh"),
    ('title = "C"\n[[lecture]]\nsentence = "I have a cat"\nlayer = 2\n',
     'error: course.toml: lecture 1 ("I have a cat"): layer: goes with --model'),
    ('title = "C"\n[[lecture]]\ntitle = "No sentence"\n',
     'error: course.toml: lecture 1 ("No sentence"): sentence: missing'),
    ('[[lecture]]\nsentence = "I have a cat"\n', "error: course.toml: title: give the course a title"),
    ('title = "C"\n[[lecture]\n', "error: course.toml: not a TOML file: "),
    ('title = "C"\n[[lecture]]\nsentence = "I have a cat"\noutputs = ["subtitles"]\n',
     'error: course.toml: lecture 1 ("I have a cat"): outputs: subtitles go with the video'),
    ('title = "C"\n[[lecture]]\nsentence = "I have a cat"\ntheme = "purple"\n',
     'error: course.toml: lecture 1 ("I have a cat"): theme: \'purple\' is not one of dark, light'),
])
def test_each_mistake_is_one_line_naming_the_lecture_and_the_field(tmp_path, text, expected):
    result = run("--course", course(tmp_path, text), "--output", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert any(line.startswith(expected) for line in error_lines(result)), result.output
    assert not (tmp_path / "out").exists()  # nothing renders


def test_every_mistake_of_the_file_is_reported_at_once(tmp_path):
    text = ('title = "C"\nlanguages = ["en", "zh"]\n[[lecture]]\nsentence = "I have a cat"\nfocus = "dog"\n'
            '[[lecture]]\nsentence = "The cat sat"\nseed = -1\n[[lecture]]\nsentence = "A cat"\nheads = 2\nhead = 3\n')
    lines = error_lines(run("--course", course(tmp_path, text), "--dry-run"))
    assert [line.split(":")[2].strip() for line in lines] == \
        ['lecture 1 ("I have a cat")', 'lecture 2 ("The cat sat")', 'lecture 3 ("A cat")'], lines
    assert len(lines) == 3  # the same mistake in two languages: once


def test_a_courses_theme_reaches_each_lectures_view_and_its_input_key(tmp_path):
    """theme = "light" at the top is every lecture's (a lecture may set its own), as --theme: its View's, and so its
    stages' cache keys and the lecture's input key (a light course never resumes on dark files)."""
    from scenes.course.file import read
    from scenes.course.lectures import input_key, plan

    text = 'title = "C"\ntheme = "light"\n[[lecture]]\nsentence = "I have a cat"\n[[lecture]]\nsentence = "I have a cat"\ntheme = "dark"\n'
    items = plan(read(course(tmp_path, text)), tmp_path / "out")
    assert [item.view.theme for item in items] == ["light", "dark"]
    assert input_key(items[0], None) != input_key(items[1], None)


def test_course_goes_alone_and_cluster_goes_with_it(tmp_path):
    path = course(tmp_path, TINY)
    assert "leave out --sentence" in run("--course", path, "--sentence", "x").output
    assert "--cluster goes with --course" in run("--cluster", "tcp://127.0.0.1:1").output


def test_dry_run_lists_every_file_and_writes_none(tmp_path):
    result = run("--course", course(tmp_path, TINY), "--output", tmp_path / "out", "--dry-run")
    assert result.exit_code == 0, result.output
    listed = {Path(line.strip()) for line in result.output.splitlines() if line.startswith("  ")}
    for lecture in ("01-i-have-a-cat", "02-the-cat-sat"):
        for language in ("en", "zh"):
            for name in ("video.mp4", "video.srt", "video.vtt", "slides.html", "explore.html", "handout.md", "poster.png"):
                assert tmp_path / "out" / lecture / language / name in listed
    assert len(listed) == 28
    assert f"site: {tmp_path / 'out' / 'index.html'}, {tmp_path / 'out' / 'index.zh.html'}" in result.output
    assert not (tmp_path / "out").exists()


def code(text: str) -> str:
    """render.py's name for text not in Latin letters (docs: 4 bytes of BLAKE2b, in hex), computed here."""
    import hashlib

    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


NAMED = """title = { en = "Attention, step by step", zh = "一步步看懂注意力" }
stages = ["title"]
outputs = ["video"]
[[lecture]]
title = "The seed's example"
sentence = "I have a cat"
[[lecture]]
title = { en = "A Chinese model: 它 finds 猫", zh = "中文模型" }
sentence = "我有一只猫，它很可爱。"
[[lecture]]
sentence = "我有一只猫，它很可爱。"
[[lecture]]
title = "因果注意力"
sentence = "我有一只猫"
[[lecture]]
sentence = "The animal didn't cross the street because it was too tired"
"""


def listed_folders(result) -> list[str]:
    return list(dict.fromkeys(Path(line.strip()).parent.parent.as_posix() for line in result.output.splitlines()
                              if line.startswith("  ")))


def test_folders_are_readable_slugs_unique_by_their_number(tmp_path):
    """The course's folder is its (English) title's slug; a lecture's is NN-<its sentence's slug>, else
    its English title's (a Chinese sentence), else the sentence's code; the model and stages play no part."""
    result = run("--course", course(tmp_path, NAMED), "--dry-run")
    assert result.exit_code == 0, result.output
    assert listed_folders(result) == [
        "media/attention-step-by-step/01-i-have-a-cat",
        "media/attention-step-by-step/02-a-chinese-model-finds",
        f"media/attention-step-by-step/03-{code('我有一只猫，它很可爱。')}",
        f"media/attention-step-by-step/04-{code('我有一只猫')}",  # a Chinese title alone: the sentence's code
        "media/attention-step-by-step/05-the-animal-didn-t-cross-the-street",  # at most 40 characters, whole words
    ]
    assert "site: media/attention-step-by-step/index.html\n" in result.output
    again = NAMED.replace('stages = ["title"]', 'stages = ["softmax"]\nseed = 3')
    assert listed_folders(run("--course", course(tmp_path, again), "--dry-run")) == listed_folders(result)
    chinese = 'title = "一步步看懂注意力"\nstages = ["title"]\n[[lecture]]\nsentence = "我有一只猫"\n'
    assert listed_folders(run("--course", course(tmp_path, chinese), "--dry-run")) == \
        [f"media/course-{code('一步步看懂注意力')}/01-{code('我有一只猫')}"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The tiny course rendered once, with a cache of its own, every executor made recorded."""
    from scenes.production import pool

    tmp = tmp_path_factory.mktemp("course")
    pools = []

    class Recorded(pool.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.labels = []
            pools.append(self)

        def submit(self, fn, *args, **kwargs):
            self.labels.append(args[-1])
            return super().submit(fn, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp / "cache"))
        mp.setattr(pool, "ProcessPoolExecutor", Recorded)
        result = run("--course", course(tmp, TINY), "--output", tmp / "out", "--jobs", 2)
    assert result.exit_code == 0, result.output
    return tmp, result, pools


def test_every_stage_of_every_lecture_is_one_batch(made):
    tmp, result, pools = made
    assert len(pools) == 1  # one executor for the whole course
    assert sorted(pools[0].labels) == ["1en:title", "1zh:title", "2en:title", "2zh:title"]
    assert len(re.findall(r"^course: \d/4 lectures.*: made", result.output, re.M)) == 4  # a line per lecture
    for lecture in ("01-i-have-a-cat", "02-the-cat-sat"):
        for language in ("en", "zh"):
            folder = tmp / "out" / lecture / language
            assert {p.name for p in folder.iterdir()} == {"video.mp4", "video.srt", "video.vtt", "slides.html",
                                                          "explore.html", "handout.md", "poster.png"}
            vtt = (folder / "video.vtt").read_text(encoding="utf-8")
            assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")


def test_each_video_has_a_poster_recorded_with_its_files(made):
    """poster.png beside each video: a still of the lecture at the video's size (here the title card, its
    only stage: the page's background colour and the tokens' text, not black), recorded in course.json."""
    import json

    from PIL import Image

    tmp, _, _ = made
    out = tmp / "out"
    recorded = json.loads((out / "course.json").read_text(encoding="utf-8"))["lectures"]
    for lecture in ("01-i-have-a-cat", "02-the-cat-sat"):
        for language in ("en", "zh"):
            with Image.open(out / lecture / language / "poster.png") as poster:
                assert poster.format == "PNG" and poster.size == (854, 480)
                colours = sorted(poster.convert("RGB").getcolors(854 * 480), reverse=True)
            assert colours[0][1] == (0x11, 0x14, 0x18) and len(colours) > 20  # the theme's background, text on it
            assert "poster.png" in recorded[f"{lecture}/{language}"]["files"]
    for page in ("index.html", "index.zh.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert len(re.findall(r'<video [^>]*poster="0\d-[a-z-]+/(en|zh)/poster.png"', text)) == 2


def links(page: Path) -> list[str]:
    return re.findall(r'(?:href|src|poster)="([^"]*)"', page.read_text(encoding="utf-8"))


def test_the_site_is_offline_in_both_languages_and_every_link_resolves(made):
    from urllib.parse import unquote

    tmp, _, _ = made
    out = tmp / "out"
    en, zh = (out / "index.html").read_text(encoding="utf-8"), (out / "index.zh.html").read_text(encoding="utf-8")
    assert "Lecture 2: A causal one" in en and "第 2 讲：因果注意力一例" in zh and "例句：The cat sat" in zh
    assert 'href="index.zh.html"' in en and 'href="index.html"' in zh
    assert "因果注意力" in zh and "总时长" in zh
    for page in (out / "index.html", out / "index.zh.html"):
        found = links(page)
        assert len(found) >= 2 + 2 * 5 and not [u for u in found if re.match(r"(?i)[a-z]+:", u)]  # no scheme: relative
        for url in found:
            assert (out / unquote(url)).is_file(), url


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_every_video_of_the_site_plays_its_first_frame_in_chromium(made):
    tmp, _, _ = made
    out = tmp / "out"
    probe = """<pre id="result">waiting</pre><script>
const videos = [...document.querySelectorAll('video')], seen = [];
const show = () => { if (seen.length === videos.length) document.getElementById('result').textContent = seen.join(' '); };
videos.forEach((v, n) => {
  v.addEventListener('loadeddata', () => {
    const poster = new Image();
    poster.onload = poster.onerror = () => { seen.push([n, v.readyState, v.videoWidth, poster.naturalWidth].join(':')); show(); };
    poster.src = v.poster;
  });
  v.addEventListener('error', () => { seen.push(n + ':error'); show(); });
  v.load();
});
</script></body>"""
    for name in ("index.html", "index.zh.html"):
        check = out / f"check-{name}"
        check.write_text((out / name).read_text(encoding="utf-8").replace("</body>", probe), encoding="utf-8")
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                              "--virtual-time-budget=8000", check.as_uri()], capture_output=True, text=True,
                             timeout=120).stdout
        check.unlink()
        shown = re.search(r'<pre id="result">([^<]*)</pre>', dom).group(1).split()
        assert len(shown) == 2 and all(re.fullmatch(r"\d:[234]:854:854", s) for s in shown), (name, shown)


def test_a_run_again_remakes_only_what_changed_from_the_cached_stages(made, tmp_path, monkeypatch):
    tmp, _, _ = made
    out = tmp_path / "out"
    shutil.copytree(tmp / "out", out)
    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp / "cache"))
    tampered = out / "02-the-cat-sat" / "zh" / "video.mp4"
    good = tampered.read_bytes()
    tampered.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size, same date: only its bytes differ
    poster = tampered.parent / "poster.png"
    drawn = poster.read_bytes()
    poster.unlink()
    kept = out / "01-i-have-a-cat" / "en" / "video.mp4"
    before = kept.stat().st_mtime_ns
    stages = tmp / "cache" / "stages"
    entries = {p.name: p.stat().st_ino for p in stages.iterdir()}  # a stage put again is a new file (renamed in)
    result = run("--course", course(tmp_path, TINY), "--output", out)
    assert result.exit_code == 0, result.output
    assert len(re.findall(r"already made, skipped", result.output)) == 3
    assert re.search(r'lecture 2 \("A causal one"\) \[zh\]: made', result.output)
    assert "0/0 stages" in result.output or "1/1 stages" in result.output
    # from the cache: no stage rendered, so no cache entry written again and none added
    assert {p.name: p.stat().st_ino for p in stages.iterdir()} == entries
    assert tampered.read_bytes() == good and kept.stat().st_mtime_ns == before
    assert poster.read_bytes() == drawn


def test_a_lecture_dropped_from_the_file_has_its_unchanged_files_removed(made, tmp_path, monkeypatch):
    tmp, _, _ = made
    out = tmp_path / "out"
    shutil.copytree(tmp / "out", out)
    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp / "cache"))
    dropped = out / "02-the-cat-sat"
    mine = dropped / "en" / "handout.md"
    mine.write_text(mine.read_text(encoding="utf-8") + "\nmy own notes\n", encoding="utf-8")  # changed: the user's
    first = TINY[:TINY.index("[[lecture]]\nsentence = \"The cat sat\"")]
    result = run("--course", course(tmp_path, first), "--output", out)
    assert result.exit_code == 0, result.output
    assert re.search(r"02-the-cat-sat/en: no longer in the course file", result.output)
    assert sorted(p.relative_to(dropped).as_posix() for p in dropped.rglob("*")) == ["en", "en/handout.md"]
    recorded = json.loads((out / "course.json").read_text(encoding="utf-8"))["lectures"]
    assert sorted(recorded) == ["01-i-have-a-cat/en", "01-i-have-a-cat/zh"]
    assert "The cat sat" not in (out / "index.html").read_text(encoding="utf-8")


EXTRAS = """title = "Extras"
languages = ["en", "zh"]
stages = ["title"]
outputs = ["stills", "script", "numbers"]
[[lecture]]
sentence = "I have a cat"
"""


def test_stills_script_and_numbers_are_made_listed_and_linked(tmp_path, monkeypatch):
    """A course asking for the stills, the script and the numbers (no video, so nothing rendered to video):
    --dry-run lists each, each is made, recorded, and linked from the site (the stills by their contact sheet)."""
    import json

    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path / "cache"))
    path, out = course(tmp_path, EXTRAS), tmp_path / "out"
    dry = run("--course", path, "--output", out, "--dry-run")
    listed = {Path(line.strip()) for line in dry.output.splitlines() if line.startswith("  ")}
    wanted = {"stills": "stills", "script": "script.md", "numbers": "numbers.json"}
    assert listed == {out / "01-i-have-a-cat" / lang / name for lang in ("en", "zh") for name in wanted.values()}
    result = run("--course", path, "--output", out)
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "course.json").read_text(encoding="utf-8"))["lectures"]
    for language, heading in (("en", "I have a cat"), ("zh", "一步步看懂自注意力")):
        folder = out / "01-i-have-a-cat" / language
        assert {p.name for p in folder.iterdir()} == set(wanted.values())  # no video, so no poster
        assert {p.name for p in (folder / "stills").iterdir()} == {"1-title-key.png", "1-title-end.png", "stages.png"}
        assert (folder / "script.md").read_text(encoding="utf-8").startswith("# ") and \
            heading in (folder / "script.md").read_text(encoding="utf-8")
        assert json.loads((folder / "numbers.json").read_text(encoding="utf-8"))["tokens"] == ["I", "have", "a", "cat"]
        assert set(recorded[f"01-i-have-a-cat/{language}"]["files"]) == set(wanted.values())
    for page, language, texts in (("index.html", "en", ("Script", "Every number (JSON)", "Stills", "1 lecture")),
                                  ("index.zh.html", "zh", ("讲稿", "全部数值（JSON）", "关键画面", "共 1 讲"))):
        text = (out / page).read_text(encoding="utf-8")
        assert [u for u in links(out / page) if not u.startswith("index")] == [
            f"01-i-have-a-cat/{language}/{name}" for name in ("script.md", "stills/stages.png", "numbers.json")]
        assert all(t in text for t in texts) and "<video" not in text
        assert "in all" not in text and "总时长" not in text  # no video: no length to add up


@pytest.mark.voice
@pytest.mark.render
def test_a_course_that_speaks(tmp_path, monkeypatch):
    """voice = true: --dry-run names the voice; the video has its sound track and the subtitles its cues.
    Skipped when the English voice is not installed (`make voice`, docs/voice.md)."""
    import av

    from scenes.production.voice import VoiceError, find_voice

    monkeypatch.delenv("ATTENTION_EXPLAINER_VOICE", raising=False)
    try:
        voice = find_voice("en")
    except VoiceError as e:
        pytest.skip(str(e))
    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path / "cache"))
    text = 'title = "Spoken"\nvoice = true\nstages = ["title"]\noutputs = ["video", "subtitles"]\n' \
           '[[lecture]]\nsentence = "I have a cat"\n'
    path, out = course(tmp_path, text), tmp_path / "out"
    dry = run("--course", path, "--output", out, "--dry-run")
    assert dry.exit_code == 0 and f"voice (en): {voice.name}" in dry.output, dry.output
    result = run("--course", path, "--output", out)
    assert result.exit_code == 0, result.output
    folder = out / "01-i-have-a-cat" / "en"
    with av.open(str(folder / "video.mp4")) as container:
        assert len(container.streams.audio) == 1
    assert "I have a cat" in (folder / "video.vtt").read_text(encoding="utf-8")


def test_a_failed_lecture_stops_no_other_and_the_exit_status_says_so(tmp_path, monkeypatch):
    from scenes.production import pool

    real = pool.render_stage

    def fails_on_the_cat_sat(job, *args, **kwargs):
        if job.view.result.tokens[0] == "The":
            raise RuntimeError("a render error")
        return real(job, *args, **kwargs)

    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pool, "render_stage", fails_on_the_cat_sat)
    text = TINY.replace('languages = ["en", "zh"]', 'languages = ["en"]')
    result = run("--course", course(tmp_path, text), "--output", tmp_path / "out", "--jobs", 2)
    assert result.exit_code == 1, result.output
    assert 'error: lecture 2 ("A causal one") [en]: the stage title failed: RuntimeError: a render error' in result.output
    assert "error: 1 of 2 lectures failed" in result.output
    assert (tmp_path / "out" / "01-i-have-a-cat" / "en" / "video.mp4").is_file()
    assert not (tmp_path / "out" / "02-the-cat-sat").exists()
    assert "This lecture could not be made" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_a_local_dask_cluster_gives_the_same_bytes_as_the_local_pool(made, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    tmp, _, _ = made
    from scenes.production.cache import code_version

    monkeypatch.setenv("ATTENTION_EXPLAINER_CACHE", str(tmp_path / "cache"))  # empty: the workers render every stage
    code_version.cache_clear()  # as the workers find it now (others may edit the tree): else they refuse the tasks
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        result = run("--course", course(tmp_path, TINY), "--output", tmp_path / "out", "--cluster",
                     cluster.scheduler_address)
    assert result.exit_code == 0, result.output
    local = sorted(p.relative_to(tmp / "out") for p in (tmp / "out").rglob("*") if p.is_file())
    assert local == sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*") if p.is_file())
    for name in local:  # course.json holds the input keys, made of the code version: others edit the tree meanwhile
        if name != Path("course.json"):
            assert (tmp / "out" / name).read_bytes() == (tmp_path / "out" / name).read_bytes(), name


def test_an_absent_scheduler_is_one_line(tmp_path):
    result = run("--course", course(tmp_path, TINY), "--output", tmp_path / "out", "--cluster", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert error_lines(result) == [error_lines(result)[0]] and "--cluster: no Dask scheduler answers at" in result.output


# two lectures whose stages render in one pool of two, the longest first: the second lecture's softmax
# (weight 5) on one worker, the first lecture's title (weight 1) then the second's on the other. The
# first lecture is made while the second's softmax still renders: a signal then lands mid-course
SIGNALLED = """title = "Signalled"
languages = ["en"]
outputs = ["video", "subtitles", "handout"]
[[lecture]]
sentence = "I have a cat"
stages = ["title"]
[[lecture]]
sentence = "The cat sat"
stages = ["title", "softmax"]
"""


def interrupted_course(tmp_path, sig):
    """The SIGNALLED course sent `sig` as soon as its first lecture is made (its own process group):
    (the command, its environment, the exit status, the rest of its stderr, the processes of it left 2 s later)."""
    import os
    import signal

    import faults

    env = dict(os.environ, ATTENTION_EXPLAINER_CACHE=str(tmp_path / "cache"))
    command = [sys.executable, str(ROOT / "render.py"), "--course", str(course(tmp_path, SIGNALLED)), "--output",
               str(tmp_path / "out"), "--jobs", "2"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stderr:
        if ": made (" in line:
            assert "1/2 lectures" in line and "I have a cat" in line, line
            process.send_signal(sig)
            break
    rest = process.stderr.read()
    status = process.wait(timeout=120)
    alive, _ = faults.survivors(process.pid)
    return command, env, status, rest, alive


def recorded_and_whole(out: Path) -> dict:
    """course.json's lectures; every file in a lecture's folder is one of theirs, as recorded; no work
    folder, no half-written course.json."""
    recorded = json.loads((out / "course.json").read_text(encoding="utf-8"))["lectures"]
    files = {p.relative_to(out).as_posix() for p in out.glob("[0-9]*/**/*") if p.is_file()}
    assert files == {f"{folder}/{name}" for folder, record in recorded.items() for name in record["files"]}
    assert not [p for p in out.rglob(".*")]
    return recorded


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_a_signal_or_a_kill_ends_the_course_with_whole_lectures_and_a_run_again_resumes(tmp_path, sig):
    """SIGTERM (or SIGKILL, as the OOM killer) once the first lecture is made, while the second still
    renders: exit 130 and the line (or death by SIGKILL), no process of it left, every file there the
    first lecture's, whole and recorded in course.json, no work folder; run again, the first lecture is
    skipped untouched, the second made, and the course finishes."""
    import signal

    number = getattr(signal, sig)
    command, env, status, rest, alive = interrupted_course(tmp_path, number)
    assert alive == []
    if number == signal.SIGKILL:
        assert status == -signal.SIGKILL, rest  # the kill landed mid-course
    else:
        assert status == 130, rest
        assert "interrupted; the lectures finished so far are kept" in rest
    out = tmp_path / "out"
    recorded = recorded_and_whole(out)
    assert list(recorded) == ["01-i-have-a-cat/en"]
    first = {p: p.stat().st_mtime_ns for p in (out / "01-i-have-a-cat").rglob("*") if p.is_file()}
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(re.findall("already made, skipped", again.stderr)) == 1
    assert re.search(r'lecture 2 \("The cat sat"\) \[en\]: made', again.stderr), again.stderr
    assert {p: p.stat().st_mtime_ns for p in first} == first  # reused, not made again
    assert sorted(recorded_and_whole(out)) == ["01-i-have-a-cat/en", "02-the-cat-sat/en"]
    assert (out / "index.html").is_file()


def test_every_registered_output_is_a_courses_too():
    """The course takes its outputs from the registry (scenes.outputs.OUTPUTS): a course file may ask for
    each, its file in a lecture's folder is named by its first suffix, and the site labels its link from
    every catalogue (a new output without its "course.<name>" string fails here)."""
    from scenes.course.file import FIELDS, FILES
    from scenes.course.site import LINKS
    from scenes.outputs import OUTPUTS
    from scenes.strings import CATALOGUES

    accepts = FIELDS["outputs"][0]
    for name, output in OUTPUTS.items():
        assert accepts([name]), name
        assert FILES[name] == (name + output.suffixes[0] if output.suffixes else name)
    assert not accepts(["no-such-output"])
    assert [name for name, _ in LINKS if name != "video"] == [n for n in reversed(OUTPUTS) if n != "video"]
    for language, strings in CATALOGUES.items():
        for _, key in LINKS:
            assert key in strings, (language, key)
