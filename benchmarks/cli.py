"""Benchmark: how fast the command line answers, each command in a fresh process.

Targets (issue #10): under 0.5 s for ``machi --version`` and ``machi --help``, under 1 s
for ``machi info`` on a small CityGML file. The baseline is a bare interpreter start
(``python -c pass``) measured alternately with the commands in the same script, so the
ratio says what Machi itself costs on a noisy machine. Best of N runs each.

    .venv/bin/python benchmarks/cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHI = str(Path(sys.executable).with_name("machi"))
SMALL_GML = ROOT.parent / "shared/data/plateau/sapporo/udx/bldg/64413325_bldg_6697_op.gml"
if not SMALL_GML.exists():
    SMALL_GML = (
        ROOT / "sample_data/omiya/udx/frn"
        if (ROOT / "sample_data/omiya/udx/frn").exists()
        else next((ROOT / "sample_data/omiya/udx/bldg").glob("*.gml"))
    )


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "machi --version": [MACHI, "--version"],
        "machi --help": [MACHI, "--help"],
        "machi validate dags/sample.yaml": [MACHI, "validate", str(ROOT / "dags/sample.yaml")],
        f"machi info {SMALL_GML.name} ({SMALL_GML.stat().st_size // 1024} kB)": [
            MACHI,
            "info",
            str(SMALL_GML),
        ],
    }
    for command in commands.values():  # warm the file cache and numba's cache
        _seconds(command)
    best = {name: float("inf") for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():  # alternate, so noise hits every row alike
            best[name] = min(best[name], _seconds(command))
    baseline = best["python -c pass (baseline)"]
    print(f"| command | best of {args.runs} (s) | minus interpreter start (s) | ratio to interpreter start |")
    print("|---|---:|---:|---:|")
    for name, seconds in best.items():
        print(f"| `{name}` | {seconds:.3f} | {seconds - baseline:.3f} | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
