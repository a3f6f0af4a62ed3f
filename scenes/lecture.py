"""The words a lecturer reads: the narration script (`render.py --script`) and the presenter notes
of the slides (`render.py --slides`), both made from the cues the beats left in the log."""

from __future__ import annotations

from typing import Iterable

from .context import Ctx, Cue


def timestamp(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def stage_heading(ctx: Ctx, stage: str) -> str:
    """A stage's heading as the video shows it (the layer and bias for a model's head)."""
    from .stages import stage_class

    line = stage_class(stage)(ctx).heading_line()
    return ctx.s(line.key, **line.params)


def by_stage(cues: Iterable[Cue]) -> list[tuple[str, list[Cue]]]:
    """The cues grouped by stage, in order."""
    groups: list[tuple[str, list[Cue]]] = []
    for cue in cues:
        if not groups or groups[-1][0] != cue.stage:
            groups.append((cue.stage, []))
        groups[-1][1].append(cue)
    return groups


def script_text(ctx: Ctx, cues: list[Cue]) -> str:
    """The narration as a Markdown script: per stage its heading and start time, then each beat's
    words with the time it starts; ⏸ where a lecturer would pause."""
    lines = [f"# {ctx.s('script.title', sentence=ctx.sentence())}", "", ctx.s("script.intro")]
    for stage, group in by_stage(cues):
        lines += ["", f"## {stage_heading(ctx, stage)}  ({timestamp(group[0].start)})", ""]
        lines += [f"- **{timestamp(cue.start)}** {cue.text}" + (" ⏸" if cue.pause else "") for cue in group]
    return "\n".join(lines) + "\n"


def slide_notes(ctx: Ctx, cues: list[Cue]) -> str:
    """One slide's presenter notes (Markdown): the heading of each stage it covers, then for each
    beat the caption it shows (in bold) and what the narration says, with the real numbers quoted."""
    lines: list[str] = []
    for stage, group in by_stage(cues):
        lines += ([""] if lines else []) + [f"**{stage_heading(ctx, stage)}**", ""]
        lines += [f"- **{cue.caption}**: {cue.text}" if cue.caption else f"- {cue.text}" for cue in group]
    return "\n".join(lines)


def slides_of(cues: list[Cue]) -> list[list[Cue]]:
    """The cues of each slide: a slide ends after every beat a lecturer pauses at (and at the end)."""
    slides: list[list[Cue]] = [[]]
    for cue in cues:
        slides[-1].append(cue)
        if cue.pause:
            slides.append([])
    return slides if slides[-1] else slides[:-1]
