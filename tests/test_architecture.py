"""The import contracts of pyproject.toml ([tool.importlinter]) hold: no cycles,
citygml and tiles below pipeline, domain packages below the engine and the stages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_import_contracts(project_root: Path):
    pytest.importorskip("importlinter")
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run(
        [command, "--config", str(project_root / "pyproject.toml")],
        cwd=project_root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 8 kept, 0 broken." in done.stdout
