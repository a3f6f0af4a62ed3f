"""The stages of the video, in order: one module each. `STAGES` is the video; consecutive stages
must agree on the picture between them (checked here, when the package is imported)."""

from __future__ import annotations

from .. import STAGE_NAMES
from ..beats import Stage
from .analogy import AnalogyStage
from .contrast import ContrastStage
from .embeddings import EmbeddingsStage
from .heads import HeadsStage
from .kv_cache import KVCacheStage
from .projection import ProjectionStage
from .rope import RopeStage
from .scores import ScoresStage
from .softmax import SoftmaxStage
from .summary import SummaryStage
from .title import TitleStage
from .weighted_sum import WeightedSumStage

STAGES: tuple[type[Stage], ...] = (
    TitleStage,
    AnalogyStage,
    EmbeddingsStage,
    ProjectionStage,
    RopeStage,
    ScoresStage,
    SoftmaxStage,
    WeightedSumStage,
    HeadsStage,
    KVCacheStage,
    ContrastStage,
    SummaryStage,
)


def check_order(stages) -> None:
    """Each stage must start from the picture the one before it ends on."""
    for before, after in zip(stages, stages[1:]):
        if before.ends_on != after.starts_from:
            raise ValueError(f"stage {after.name!r} starts from {after.starts_from!r}, "
                             f"but {before.name!r} before it ends on {before.ends_on!r}")


check_order(STAGES)
assert tuple(s.name for s in STAGES) == STAGE_NAMES


def stage_class(name: str) -> type[Stage]:
    return STAGES[STAGE_NAMES.index(name)]
