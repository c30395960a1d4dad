"""The command line starts without the heavy libraries: stages import them when they run."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("geopandas", "rasterio", "numba", "cityseer", "osmnx", "distributed")


def _imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library():
    assert _imported_after("import pipeline.commands.cli") == set()


def test_loading_the_registry_imports_no_heavy_library():
    assert _imported_after("import pipeline.stages; pipeline.stages.run_definition()") == set()


def test_help_lists_every_command_without_importing_them():
    probe = (
        "import sys\nfrom click.testing import CliRunner\nfrom pipeline.commands.cli import main\n"
        "result = CliRunner().invoke(main, ['--help'])\nprint(result.output)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + probe], capture_output=True, text=True, check=True
    )
    *text, heavy = done.stdout.strip().splitlines()
    assert json.loads(heavy) == []
    help_text = "\n".join(text)
    for command in ("run", "validate", "info", "export-tiles"):
        assert f"  {command} " in help_text, command
