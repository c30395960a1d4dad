"""Running one independent task per tile on Dask (threads by default, or a given client)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask


def run_tile_tasks(
    func: Callable[..., Any], arguments: Sequence[tuple], *, client: Any = None, scheduler: str | None = None
) -> list[Any]:
    """Run ``func(*args)`` for each tuple in ``arguments`` as separate Dask tasks.

    Parameters
    ----------
    client : distributed.Client, optional
        Submit to this cluster; otherwise ``dask.compute`` with ``scheduler``
        ("threads" by default, "processes" or "synchronous").
    """
    # traverse=False: Dask would otherwise walk every feature record looking for collections
    tasks = [
        dask.delayed(func, pure=False)(*(dask.delayed(a, traverse=False) for a in args)) for args in arguments
    ]
    if not tasks:
        return []
    if client is not None:
        return list(client.gather(client.compute(tasks)))
    return list(dask.compute(*tasks, scheduler=scheduler or "threads"))
