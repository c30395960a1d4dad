"""Shared fixtures: where the real third-party data lives, and the project root."""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real PLATEAU and LiDAR files, read in place, never copied."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (CI always has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def plateau_dir(shared_data: Path) -> Path:
    return shared_data / "plateau"


@pytest.fixture(scope="session")
def lidar_dir(shared_data: Path) -> Path:
    return shared_data / "lidar"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
