"""The stage cache's least-recently-used order: a stage taken from the cache counts as used, so pruning
keeps it over a newer stage nobody asked for again (scenes/production/cache.py, StageCache.get)."""

import os

from scenes.production.cache import StageCache
from scenes.production.media import Made, Piece


def _entry(cache: StageCache, tmp_path, name: str, at: float) -> None:
    """A finished stage of two pieces under the key `name`, every file of it last used at `at`."""
    pieces = []
    for n in range(2):
        path = tmp_path / "made" / f"{name}-{n}.mp4"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(name.encode() * 300)
        pieces.append(Piece(path, 10, f"notes {n}", n == 0))
    cache.put(name, Made(name, tuple(pieces), 20, "", 1.0))
    for path in cache.stages.glob(f"{name}*"):
        os.utime(path, (at, at))


def test_a_stage_taken_from_the_cache_outlives_newer_ones_when_it_is_pruned(tmp_path):
    cache = StageCache(tmp_path / "cache", limit=10 ** 9)
    for at, name in enumerate(["oldest", "middle", "newest"]):
        _entry(cache, tmp_path, name, 1000.0 + at)
    made = cache.get("oldest", ".mp4", tmp_path / "into")  # used now: the most recently used
    assert made is not None and made.cached and made.stage == "oldest"
    oldest = {p.name: p.stat().st_mtime for p in cache.stages.glob("oldest*")}
    assert len(oldest) == 3 and all(t > 2000 for t in oldest.values()), oldest  # record and both pieces
    size = sum(p.stat().st_size for p in cache.stages.iterdir())
    cache.limit = size - sum(p.stat().st_size for p in cache.stages.glob("middle*"))  # room for two entries
    cache.prune()
    left = sorted(p.name for p in cache.stages.iterdir())
    assert left == ["newest-0.mp4", "newest-1.mp4", "newest.json", "oldest-0.mp4", "oldest-1.mp4", "oldest.json"]
    assert cache.get("oldest", ".mp4", tmp_path / "again") is not None  # whole: record and pieces kept
