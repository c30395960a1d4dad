"""cityseer's import-time ``logging.basicConfig(INFO)`` must not reach a worker's console."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import logging
from pipeline.walkability.cityseer_import import import_cityseer
import_cityseer()
logging.getLogger("pipeline.geo.maps").info("an INFO line of a worker")
import cityseer.tools.graphs   # a module of theirs imported later finds cityseer loaded
root = logging.getLogger()
print(len(root.handlers), root.level)
"""


def test_importing_cityseer_leaves_the_root_logger_alone():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "an INFO line of a worker" not in done.stderr
    handlers, level = done.stdout.split()
    assert (int(handlers), int(level)) == (0, logging_warning())


def test_without_it_cityseer_would_print_info_lines():
    """The reason for the module: a bare import configures the root logger at INFO."""
    done = subprocess.run(
        [sys.executable, "-c", "import logging, cityseer.config; logging.getLogger('x').info('shown')"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "shown" in done.stderr


def logging_warning() -> int:
    import logging

    return logging.WARNING
