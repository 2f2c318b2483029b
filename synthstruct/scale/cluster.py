"""Connecting to Dask: a local cluster sized to the machine, or an existing scheduler.

``local`` / ``local:N`` start a :class:`dask.distributed.LocalCluster` (N worker processes, one thread
each, memory limit = machine memory / N); ``tcp://HOST:PORT`` (or ``tls://``) connects to a running
scheduler: Kubernetes, YARN and SLURM deployments of Dask all expose one. Workers of a remote cluster
must run the same synthstruct version and see the output directory (a shared file system).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from synthstruct.errors import InputError, Problem

__all__ = ["LOCAL_CLUSTER_CONFIG", "ClusterSpec", "open_client", "parse_cluster", "run_tasks"]

log = logging.getLogger(__name__)

#: Times Dask re-runs a task whose worker died or raised (the release fails cleanly after that).
DEFAULT_RETRIES = 2

#: Dask settings of the local clusters started here (``local``, ``local:N``, ``threads:N``). Dask's
#: diagnostics — a statistical profiler sampling every worker thread every 10 ms, an event-loop tick
#: every 20 ms, a system monitor every 0.5 s, a memory check every 0.1 s — cost 0.14 CPU seconds per
#: second on a 2-worker cluster (client process with scheduler and nannies 0.058, workers 0.083; 0.019
#: with these settings), i.e. 14 % of a core taken from the partitions while they run. There is no
#: dashboard to show them; a worker over its memory limit is still stopped (checked twice a second).
#: Remote clusters (``tcp://``) keep their own settings.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
}


@dataclass(frozen=True)
class ClusterSpec:
    """Where to run: ``address`` of a scheduler, or a local cluster of ``workers`` processes."""

    address: str | None = None
    workers: int | None = None
    processes: bool = True


def parse_cluster(text: str | None) -> ClusterSpec:
    """Parse ``local``, ``local:N``, ``threads:N`` (in-process, for tests) or ``tcp://HOST:PORT``.

    Raises:
        InputError: anything else.
    """
    text = (text or "local").strip()
    if text.startswith(("tcp://", "tls://", "ucx://")):
        return ClusterSpec(address=text)
    kind, _, count = text.partition(":")
    if kind in ("local", "threads") and (not count or (count.isdigit() and int(count) > 0)):
        return ClusterSpec(workers=int(count) if count else None, processes=kind == "local")
    raise InputError("invalid cluster", [Problem(
        "--cluster", "must be local, local:N, threads:N or tcp://HOST:PORT",
        "use e.g. --cluster local:2 or --cluster tcp://scheduler:8786")])


def _machine_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:  # pragma: no cover - psutil comes with distributed
        return 4 << 30


@contextmanager
def open_client(spec: ClusterSpec) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``spec``; a local cluster is closed on exit."""
    import dask
    from dask.distributed import Client, LocalCluster

    if spec.address is not None:
        try:
            client = Client(spec.address, timeout="20s")
        except OSError as exc:
            raise InputError("cannot reach the Dask scheduler", [Problem(
                spec.address, f"no scheduler answered ({type(exc).__name__})",
                "start one with `dask scheduler` and `dask worker ADDRESS`, or use --cluster local")]) from None
        with client:
            yield client
        return
    workers = spec.workers or max(1, os.cpu_count() or 1)
    memory = max(_machine_memory() // workers, 256 << 20) if spec.processes else None
    where = {"host": "127.0.0.1"} if spec.processes else {}  # in-process clusters use inproc://
    with dask.config.set(LOCAL_CLUSTER_CONFIG), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=spec.processes, memory_limit=memory,
                         dashboard_address=None, **where) as cluster, Client(cluster) as client:
        log.info("local Dask cluster: %d workers", workers)
        yield client


def run_tasks(client: Any, function: Callable[..., Any], items: Sequence[Any], *args: Any,
              retries: int = DEFAULT_RETRIES, label: str = "tasks",
              on_progress: Callable[[str, int, int], None] | None = None) -> list[Any]:
    """Run ``function(item, *args)`` for every item on the cluster; results in item order.

    A task that fails (its worker died, or it raised) is retried ``retries`` times by Dask; after
    that the error is raised here, once every other task has stopped (so that no task writes into
    the caller's atomic output after it is discarded).
    """
    from dask.distributed import as_completed, wait

    futures = [client.submit(function, item, *args, retries=retries, pure=False) for item in items]
    position = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            results[position[future.key]] = future.result()
            if on_progress is not None:
                on_progress(f"{label} {done}/{len(futures)}", done, len(futures))
    except BaseException:
        wait(futures)  # running tasks cannot be interrupted: let them end before the output is removed
        client.cancel(futures)
        raise
    return results
