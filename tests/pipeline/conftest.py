"""Fixtures shared by the pipeline tests: one local Dask cluster per test module."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cluster():
    """A client to a LocalCluster of two single-threaded worker processes, as a run uses."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        yield client
