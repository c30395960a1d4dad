"""Importing cityseer without its logging side effect.

Several cityseer modules call ``logging.basicConfig(level=logging.INFO)`` when imported.
In a Dask worker the root logger has no handler yet, so that call would print every INFO
line of the pipeline (maps written, accessibility timings, ...) to the console, which
must show workers' INFO lines only with ``-v``. :func:`import_cityseer` imports them once
with the root logger's handlers and level restored afterwards, and quiets cityseer's own
logger and progress output.
"""

from __future__ import annotations

import importlib
import logging

#: Every cityseer module that calls ``logging.basicConfig`` on import (cityseer 4.x), so that
#: none of them is left to do it later.
MODULES = (
    "cityseer.config",
    "cityseer.rustalgos",
    "cityseer.metrics.layers",
    "cityseer.metrics.networks",
    "cityseer.metrics.observe",
    "cityseer.metrics.visibility",
    "cityseer.tools.graphs",
    "cityseer.tools.io",
    "cityseer.tools.mock",
    "cityseer.tools.plot",
    "cityseer.tools.util",
)


def import_cityseer() -> None:
    """Import :data:`MODULES` leaving the root logger as it was; cityseer quiet."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        for name in MODULES:
            importlib.import_module(name)
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    importlib.import_module("cityseer.config").QUIET_MODE = True
    logging.getLogger("cityseer").setLevel(logging.WARNING)
