import sys
from pathlib import Path

import pytest

# tests import their reference helpers as plain modules
sys.path.insert(0, str(Path(__file__).parent))

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
}


def pytest_addoption(parser):
    parser.addoption("--update-frames", action="store_true", help="rewrite tests/frames/*.png from the current scenes")


@pytest.fixture(scope="session")
def runs():
    """runs(name) -> (result, Run) for a sentence of SENTENCES, rendered once per test session."""
    import attncore
    from scenes import STAGE_NAMES
    from scenetools import run_scene

    cache = {}

    def get(name):
        if name not in cache:
            sentence, kw, language = SENTENCES[name]
            result = attncore.run(sentence, **kw)
            cache[name] = (result, run_scene(result, list(STAGE_NAMES), snapshots=True, frames=(name == "default"),
                                             language=language))
        return cache[name]

    return get
