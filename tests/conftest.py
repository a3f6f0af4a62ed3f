import atexit
import inspect
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# tests import their reference helpers as plain modules
sys.path.insert(0, str(Path(__file__).parent))

# The cache of finished stages and Pango's texts: one per test session, never the user's. Nothing
# is written into the work tree: manim's media folder lives here too (hypothesis' examples: below).
SESSION = tempfile.mkdtemp(prefix="attention-tests-")
atexit.register(shutil.rmtree, SESSION, ignore_errors=True)
os.environ["ATTENTION_EXPLAINER_CACHE"] = os.path.join(SESSION, "cache")


def _outside_the_work_tree() -> None:
    from hypothesis import settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase
    from manim import config
    from platformdirs import user_cache_path

    config.media_dir = os.path.join(SESSION, "media")
    set_hypothesis_home_dir(os.path.join(SESSION, "hypothesis-home"))
    # Hypothesis' examples outlive the session (in the user's cache, never the work tree), so that an example
    # that once failed is tried first in every later run; CI draws the same examples in every run.
    examples = user_cache_path("attention-explainer-tests") / "hypothesis"
    if os.environ.get("CI"):  # derandomized: the same examples every run (Hypothesis keeps no database then)
        settings.register_profile("suite", derandomize=True, database=None)
    else:
        settings.register_profile("suite", database=DirectoryBasedExampleDatabase(examples))
    settings.load_profile("suite")


_outside_the_work_tree()

# The sentences the scene tests render once each (animations skipped, nothing written) and share.
SENTENCES = {
    # the seed's worked example, 4 tokens
    "default": ("I have a cat", {}, "en"),
    # non-ASCII (accents, CJK, emoji), Pango markup characters, causal mask, positional encoding, d_k < d_model
    "other": ("Le chat 🐈 a très faim & 我有一只猫 <b>!", dict(d_model=6, d_k=3, seed=2, causal=True, positional=True), "en"),
    "one token": ("cat", {}, "en"),
    # 12 tokens with a very long word, and d_model 8: token columns and dimensions are elided
    "twelve tokens": ("The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored", dict(d_model=8, d_k=6), "en"),
    # the Chinese video: 11 tokens (elided columns), full-width punctuation, the focus skips "。"
    "chinese": ("我有一只猫，它很可爱。", {}, "zh"),
    # every catalogue string between ⟦ ⟧: what shows without them did not come from the catalogue
    "pseudo": ("I have a cat", {}, "pseudo"),
    # a real model's head, the example: 15 WordPiece tokens, 384 dimensions, [CLS]/[SEP] hidden
    "model": ("The animal didn't cross the street because it was too tired", dict(model="minilm", layer=5, heads=12), "en"),
    # the Chinese real-model video: m3e-small layer 0 head 4, where 它 finds 猫; [CLS]/[SEP] hidden
    "m3e": ("我有一只猫，它很可爱。", dict(model="m3e-small", layer=0, heads=8), "zh"),
    # a GPT-2 decoder (the tiny test checkpoint): causal, pre-norm, Chinese characters split into bytes
    "gpt2": ("我有一只猫 because it was tired", dict(model=str(Path(__file__).parent / "data" / "tiny-gpt2"), layer=1,
                                                 heads=4), "en"),
    # scaled scores above 6: the worked softmax shows the shifted form e^(s − max) (steps.MAX_PLAIN_EXPONENT)
    "shifted": ("I have a cat", dict(weights={"W_Q": [[4.0 * (r == c) for c in range(4)] for r in range(4)],
                                              "W_K": [[4.0 * (r == c) for c in range(4)] for r in range(4)]}), "en"),
    # toy multi-head, following head 1 of 2, in the pseudo-language (the heads stage's strings too)
    "toy heads": ("I have a cat", dict(heads=2), "pseudo"),
    # --theme light (VIEWS): the toy's two heads under a causal mask (masked cells in the weights and in each head's
    # map, numbers in every cell), and the Chinese video
    "light": ("I have a cat", dict(heads=2, causal=True), "en"),
    "light chinese": ("我有一只猫", {}, "zh"),
}
# How the several-head runs (and the light ones) are viewed (explainer_scene's options)
VIEWS = {"model": dict(head=11, focus="it", hide_special=True), "m3e": dict(head=4, focus="它", hide_special=True),
         "gpt2": dict(head=2, focus="it"), "toy heads": dict(head=1), "light": dict(head=1, theme="light"),
         "light chinese": dict(theme="light")}


def need_model(name: str) -> None:
    """Skip the test when the packaged model `name` is not installed (make setup installs both)."""
    from attncore import InputError
    from attncore.model import MODELS, locate

    if name in MODELS:
        try:
            locate(name)
        except InputError as e:
            pytest.skip(str(e))


def pytest_addoption(parser):
    parser.addoption("--update-frames", action="store_true", help="rewrite tests/frames/*.png from the current scenes")


# ---- the tiers and the workers --------------------------------------------------------------------------------------
# `make test-quick` leaves out the tests marked `full` (besides render, slow and voice): of the sentences `runs` plays,
# only these; the other files mark their own cases (pytest.param(..., marks=FULL)).
QUICK_RUNS = {"default", "chinese"}
FULL = pytest.mark.full
# `make test` runs two workers (pytest-xdist, --dist loadgroup): tests that share what is made once per process (the
# runs, the recorder's recordings, a module's fixtures) go to the same worker as one group; the groups are handed out
# longest first (about the seconds each took alone, issue 34's figures; the rest are short), so that neither worker is
# left with a long one at the end.
SHARED = {"runs": "runs", "test_overlap": "recorded", "test_layout_size": "recorded"}
SECONDS = {"runs": 450, "test_hostile": 220, "test_lecture": 200, "recorded": 200, "test_pacing": 170,
           "test_packaging": 130, "test_production": 110, "test_voice": 60}


def group_of(item) -> str:
    name = item.module.__name__ if getattr(item, "module", None) is not None else item.nodeid.split("::")[0]
    return SHARED["runs"] if "runs" in getattr(item, "fixturenames", ()) else SHARED.get(name, name)


def sentences_played(item) -> set[str]:
    """The sentences of SENTENCES a test asks `runs` for: its `name` parameter, and the names its code quotes."""
    if "runs" not in getattr(item, "fixturenames", ()):
        return set()
    spec = getattr(item, "callspec", None)
    quoted = set(re.findall(r"""runs\(["']([^"']+)["']""", inspect.getsource(item.function)))
    return (quoted | {spec.params.get("name")} if spec is not None else quoted) & SENTENCES.keys()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its hook would run first: pluggy calls the last registered first)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if sentences_played(item) - QUICK_RUNS:
            item.add_marker(FULL)
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
        items.sort(key=lambda item: -SECONDS.get(group_of(item), 0))  # stable: a group's tests keep their order


def pytest_collection_finish(session):
    """In a worker of `make test`, every test carries its group, or the groups would be split over both workers
    silently (each making `runs` and the models again): xdist marks a group in the test's id, which pytest 9.2
    no longer lets it change (pytest-xdist#1386; pyproject.toml keeps pytest below 9.2)."""
    if os.environ.get("PYTEST_XDIST_WORKER") and session.config.getvalue("loadgroup"):
        lost = [item.nodeid for item in session.items if "@" not in item.nodeid.rsplit("]", 1)[-1]]
        if lost:
            raise pytest.UsageError(f"xdist's groups are not in effect (pytest {pytest.__version__}): {lost[0]} has none")


@pytest.fixture(scope="session")
def runs():
    """runs(name) -> (result, Run) for a sentence of SENTENCES, rendered once per test session. For
    several heads `result` is the followed head; `run.scene.ctx.heads` holds them all. The run
    speaks as render.py's prepare_speech runs it: each cue records its spoken form, with the timing
    of a silent video (tested against runs(name, silent=True), a silent run without snapshots)."""
    from scenetools import run_scene

    import attncore
    from scenes import default_stages

    cache = {}

    def get(name, silent: bool = False):
        if (name, silent) not in cache:
            sentence, kw, language = SENTENCES[name]
            if "model" in kw:
                need_model(kw["model"])
            computed = attncore.run(sentence, **kw)
            view = VIEWS.get(name, {})
            stages = list(default_stages("heads" in kw, model="model" in kw))
            if silent:
                run = run_scene(computed, stages, language=language, **view)
            else:
                run = run_scene(computed, stages, snapshots=True, frames=(name == "default"), language=language,
                                speech={}, **view)
            cache[name, silent] = (run.scene.ctx.result, run)
        return cache[name, silent]

    return get


# `make voice-test` (and so CI) sets this: a test marked `voice` that skips (a voice or the recogniser
# missing) fails instead, so that the real voices are never silently left untested.
REQUIRE_VOICES = "ATTENTION_EXPLAINER_REQUIRE_VOICES"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("voice") is not None and os.environ.get(REQUIRE_VOICES):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"{REQUIRE_VOICES} is set, and a voice test skipped: {reason}"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The tiny random llama and qwen2 models of tests/test_decoders.py, built once per test session on
    first use (the files are only read): get("llama") or get("qwen2") gives test_decoders.build's dict (the
    folder, the F32 and Q8_0 GGUF files, the state dict, the config)."""
    from test_decoders import LIVE, build

    if not LIVE:
        pytest.skip("torch and transformers are not installed")
    built = {}

    def get(kind: str) -> dict:
        if kind not in built:
            built[kind] = build(kind, tmp_path_factory.mktemp(kind))
        return built[kind]

    return get


@pytest.fixture(autouse=True)
def _every_test_caches(monkeypatch):
    """Each test starts as a render does: its caches written, nothing said yet. A test that fills the
    cache's disk stops caching in its own process only for itself (scenes.cache_writes)."""
    from scenes import cache_writes
    from scenes.production import cache

    monkeypatch.setattr(cache_writes, "_failure", "")
    monkeypatch.setattr(cache_writes, "_told", False)
    monkeypatch.setattr(cache, "_UNKEPT", {})
