"""A course in one command (`render.py --course course.toml [--output FOLDER] [--cluster ADDRESS]`):
every lecture of a course file (scenes.course.file) in each of its languages, rendered as one
batch into one folder with an offline site (scenes.course.site). docs/course.md says how to use it.

1. The whole file is checked first: each lecture in each language resolves to the View render.py
   would build from the same options (scenes.resolve.lecture_view); every mistake is one line naming the
   lecture and the field, and nothing renders.
2. One batch: every stage of every lecture still to make that the stage cache does not hold is one
   task of one executor (scenes.production.batch: this machine's processes or a Dask cluster), the
   longest first, each finished stage kept in the cache.
3. A lecture's outputs are made (scenes.outputs.make_all, which finds its stages in the cache: only
   joins) as soon as its last stage is rendered, and published at once (lifecycle.Staging). A
   lecture that fails is reported in one line and the others go on; the exit status is 1.
4. `course.json` in the folder records each lecture's input key and each of its files' SHA-256: a
   run again (after a kill, say) skips a lecture whose files still hash to what was recorded for the
   same key, and remakes the others from the cached stages.

The parts: file.py reads the course file; lectures.py plans (each lecture's View, folder, files, input key);
record.py is course.json; batch.py renders and makes the lectures; site.py writes the offline site.
"""

from __future__ import annotations

from pathlib import Path

from .batch import make_course
from .file import Course, CourseError, Lecture, read
from .lectures import Item, course_folder, plan, voices
from .record import MANIFEST

INTERRUPTED = "error: interrupted; the lectures finished so far are kept; run the same command again to resume"


def run_course(path: Path, *, folder: Path | None = None, cluster: str | None = None, settings=None,
               dry_run: bool = False) -> int:
    """render.py --course: check the file, render every lecture as one batch, make the site. Returns
    the exit status: 0 when every lecture was made, 1 when one failed, 2 for a mistake in the file."""
    import click

    from ..outputs import Settings

    settings = settings or Settings()
    try:
        course = read(path)
        root = course_folder(course, folder)
        items = plan(course, root)
        speakers = voices(items)
    except CourseError as e:
        for line in e.lines:
            click.echo(f"error: {line}", err=True)
        return 2
    if dry_run:
        show_plan(items, root, speakers)
        return 0
    from ..production.lifecycle import farewell

    try:
        with farewell(INTERRUPTED):  # the watchman's line too, should it have to end the course itself
            return make_course(course, items, root, speakers, settings, cluster)
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        return 130


def show_plan(items: list[Item], root: Path, speakers) -> None:
    """--dry-run: what each lecture shows and every file the course would make."""
    import click

    from .site import pages

    for language, speaker in speakers.items():
        click.echo(f"voice ({language}): {speaker.name}")
    for item in items:
        r = item.view.result
        where = r.source or ("toy numbers" + (f", head {item.view.head}" if item.view.several else ""))
        click.echo(f"{item.name}: {' | '.join(r.tokens)}; {where}; focus {r.tokens[item.view.focus]!r}; "
                   f"stages {', '.join(item.view.stages)}")
        for path in item.targets():
            click.echo(f"  {path}")
    click.echo("site: " + ", ".join(str(root / page) for page in pages(items)))
    click.echo(f"record: {root / MANIFEST}")


__all__ = ["Course", "CourseError", "Lecture", "read", "run_course", "plan"]
