"""Many videos' stages as one batch (a course's: scenes.course): every task submitted at once to one
executor, the longest first, so the cores stay busy across the videos' boundaries. The executor is
this machine's pool of forked processes (pool.run_parallel) or a Dask cluster's
(`distributed.Client(address).get_executor()`): Dask schedules, we never do.

On a cluster a task renders on a worker, in a scratch folder of its own, and its pieces travel
back through Dask as bytes (`render_shipped`); the client keeps them in its own stage cache. The
workers need the same code, fonts and packages as the client (the same cache key): a worker whose
`code_version()` differs refuses the task instead of rendering frames the key does not describe.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from attncore import InputError

from .cache import StageCache, code_version
from .lifecycle import scratch_folder
from .media import Made
from .pool import Task, collect, render_stage, run_parallel, submit_all

SCHEDULER_ENVIRONMENT = "DASK_SCHEDULER_ADDRESS"  # Dask's own variable for the scheduler's address


class ClusterError(InputError):
    """The cluster cannot be used (distributed not installed, no scheduler at the address)."""


def render_batch(tasks: list[Task], folder: Path, *, jobs: int, cluster: str | None = None,
                 on_progress: Callable[[str, float], None] | None = None,
                 finished: Callable[[Task, Made], None], failed: Callable[[Task, Exception], None]) -> None:
    """Render every task into `folder`/its name: on `jobs` local processes, or on the Dask cluster
    whose scheduler is at `cluster`. Each result goes to `finished`, each failure to `failed` (the
    other tasks go on); an interrupt stops them all."""
    if not tasks:
        return
    if cluster is not None:
        return run_on_cluster(tasks, folder, cluster, finished, failed)
    if jobs <= 1:  # in this process, one after another
        for task in sorted(tasks, key=lambda t: -t.weight):
            try:
                made = render_stage(task.job, task.stage, task.previous, folder / task.name, on_progress)
            except Exception as e:
                failed(task, e)
                continue
            finished(task, made)
        return
    run_parallel(tasks, folder, jobs, on_progress, finished, failed)


def connect(address: str):
    """A Dask client of the scheduler at `address`; ClusterError, one line, when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--cluster needs Dask's distributed: pip install -e '.[cluster]'") from None
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"--cluster: no Dask scheduler answers at {address} ({e})") from None


def run_on_cluster(tasks: list[Task], folder: Path, address: str, finished, failed) -> None:
    """Every task on the cluster (one submit each, through Dask's concurrent.futures executor), the
    pieces written into `folder` as they come back."""
    client = connect(address)
    version = code_version()
    executor = client.get_executor(pure=False)
    try:
        pending = submit_all(tasks, lambda t: executor.submit(render_shipped, t.job, t.stage, t.previous, version))
        collect(pending, lambda task, shipped: finished(task, unship(shipped, folder / task.name)), failed)
    except BaseException:
        executor.shutdown(wait=False)  # an interrupt: the tasks not finished are cancelled on the cluster
        raise
    finally:
        client.close()


def render_shipped(job, stage: str, previous: str | None, version: str):
    """On a cluster's worker: render one stage in a scratch folder and return it as (its Made, each
    piece's bytes), the pieces' paths meaningless here."""
    if code_version() != version:
        raise RuntimeError(f"this Dask worker's code, packages or fonts (version {code_version()[:12]}) differ from the "
                           f"client's ({version[:12]}): its frames would not be the ones the cache key says")
    store = StageCache.open()  # the worker's own text cache, when it has one
    job = replace(job, texts=str(store.texts) if store is not None else None)
    with scratch_folder() as tmp:
        made = render_stage(job, stage, previous, tmp)
        return made, [piece.path.read_bytes() for piece in made.pieces]


def unship(shipped, folder: Path) -> Made:
    """A stage rendered on a cluster, its pieces written into `folder`."""
    made, data = shipped
    folder.mkdir(parents=True, exist_ok=True)
    pieces = []
    for n, (piece, content) in enumerate(zip(made.pieces, data)):
        path = folder / f"piece-{n}{piece.path.suffix}"
        path.write_bytes(content)
        pieces.append(replace(piece, path=path))
    return replace(made, pieces=tuple(pieces))
