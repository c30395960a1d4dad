"""Shared fixtures: where the real third-party data lives, and the project root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
JS_DIR = PROJECT_ROOT / "tests" / "js"


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


@pytest.fixture(scope="session")
def gltf_validator():
    """Run Khronos glTF-Validator (tests/js) on GLB paths; returns its JSON reports.

    Needs ``npm ci --prefix tests/js``; skipped without it, except under CI where it fails.
    """
    node = shutil.which("node")
    installed = (JS_DIR / "node_modules" / "gltf-validator").is_dir()
    if node is None or not installed:
        reason = (
            "glTF-Validator not installed: run `npm ci --prefix tests/js` (needs node)"
            if node
            else "node not found on PATH: the glTF-Validator check needs Node.js"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)

    def validate(paths: list[Path]) -> list[dict]:
        reports = []
        for start in range(0, len(paths), 200):  # keep the command line short
            batch = [str(p) for p in paths[start : start + 200]]
            done = subprocess.run(
                [node, str(JS_DIR / "validate_gltf.mjs"), *batch], capture_output=True, text=True, timeout=300
            )
            if not done.stdout.strip():
                raise RuntimeError(f"glTF-Validator failed: {done.stderr}")
            reports += json.loads(done.stdout)
        return reports

    return validate
