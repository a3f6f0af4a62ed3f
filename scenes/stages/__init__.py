"""The stages of the video, in order: one module each, named after its stage. `STAGES` is the video,
found from scenes.STAGE_FACTS (the one declaration of the order); consecutive stages must agree on
the picture between them (checked here, when the package is imported)."""

from __future__ import annotations

import importlib

from .. import STAGE_FACTS
from ..beats import Stage


def stage_of(name: str) -> type[Stage]:
    """The class of stage `name`: the Stage subclass of that name in its module, named after it
    (`weighted-sum` -> scenes/stages/weighted_sum.py)."""
    module = importlib.import_module(f".{name.replace('-', '_')}", __name__)
    found = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, Stage) and getattr(c, "name", None) == name]
    if len(found) != 1:
        raise ImportError(f"scenes/stages/{module.__name__.rpartition('.')[2]}.py defines {len(found)} stages "
                          f"named {name!r}; it must define one")
    return found[0]


# The video, in STAGE_FACTS's order (scenes/__init__.py declares it, once): adding a stage is its module and its entry
STAGES: tuple[type[Stage], ...] = tuple(stage_of(facts.name) for facts in STAGE_FACTS)


def check_order(stages) -> None:
    """Each stage must start from the picture the one before it ends on."""
    for before, after in zip(stages, stages[1:]):
        if before.ends_on != after.starts_from:
            raise ValueError(f"stage {after.name!r} starts from {after.starts_from!r}, "
                             f"but {before.name!r} before it ends on {before.ends_on!r}")


check_order(STAGES)
BY_NAME = {s.name: s for s in STAGES}


def stage_class(name: str) -> type[Stage]:
    return BY_NAME[name]
