"""Benchmark: the streaming CityGML reader against the bare lxml parse floor.

Generates PLATEAU-style building files (LOD0 footprint, LOD1 solid, LOD2 boundary
surfaces with an xlinked lod2Solid, i-UR attributes, codelists) with the sample
district's own generator, then measures, each in a fresh subprocess so peak memory
(VmHWM) is that run's alone:

- ``floor``: ``lxml.etree.iterparse`` counting every element, clearing each
  ``cityObjectMember`` (the least any streaming reader must do);
- ``reader``: ``citygml.FileReader`` with full geometry, attributes and codelists.

Coordinates are written as real PLATEAU files write them (shortest round-trip doubles,
15-17 significant digits). The same two measurements then run on the real PLATEAU files
of ``../shared/data/plateau`` when that folder is there.

Usage::

    python benchmarks/citygml_read.py                 # 10k and 40k buildings (~90/350 MB)
    python benchmarks/citygml_read.py --sizes 2000    # quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_sample_module():
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "sample_data" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = module  # dataclasses look their module up while executing
    spec.loader.exec_module(module)
    return module


def full_precision_pos_list(sample):
    """Coordinates written as real PLATEAU files write them: every double in its
    shortest round-trip form (15-17 significant digits, ``42.94147409013628``), where
    the sample district rounds to nine decimals."""

    def pos_list(points_xyz):
        lon, lat = sample.to_lonlat.transform(points_xyz[:, 0], points_xyz[:, 1])
        return " ".join(
            f"{la!r} {lo!r} {h!r}" for la, lo, h in zip(lat.tolist(), lon.tolist(), points_xyz[:, 2].tolist())
        )

    return pos_list


def generate(path: Path, n_buildings: int) -> None:
    """Write a city file of ``n_buildings`` on a regular grid, streaming to disk."""
    import numpy as np

    sample = load_sample_module()
    sample.pos_list = full_precision_pos_list(sample)
    rng = np.random.default_rng(7)
    per_row = int(np.ceil(np.sqrt(n_buildings)))
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent.parent.parent / "codelists").mkdir(exist_ok=True)
    for name, entries in {
        "Building_usage": sample.USAGE,
        "Building_buildingStructureType": sample.STRUCTURE,
    }.items():
        (path.parent.parent.parent / "codelists" / f"{name}.xml").write_text(
            sample.codelist(name, entries), encoding="utf-8"
        )
    header = sample.document([], (35.8, 139.5, 0.0), (36.0, 139.7, 100.0)).split("</core:CityModel>")[0]
    with open(path, "w", encoding="utf-8") as out:
        out.write(header)
        for i in range(n_buildings):
            row, col = divmod(i, per_row)
            x0 = sample.CORNER_X - 3000 + col * 25.0
            y0 = sample.CORNER_Y - 3000 + row * 25.0
            w, d = rng.uniform(8, 18, size=2)
            storeys = int(rng.integers(1, 12))
            footprint = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + d], [x0, y0 + d]])
            building = sample.Building(
                gml_id=f"bldg_bench_{i:07d}",
                footprint=footprint,
                ground=12.0,
                height=round(storeys * 3.2 + 0.8, 1),
                roof="gable" if storeys <= 3 else "flat",
                lod2=True,
                usage=str(rng.choice(list(sample.USAGE))),
                storeys=storeys,
                structure="603",
                year=1990,
                flood_depth=0.8 if i % 3 == 0 else None,
            )
            out.write(f"<core:cityObjectMember>{sample.building_gml(building)}</core:cityObjectMember>\n")
        out.write("</core:CityModel>\n")


def measure_floor(path: str) -> dict:
    from lxml import etree

    member = "{http://www.opengis.net/citygml/2.0}cityObjectMember"
    start = time.perf_counter()
    elements = 0
    for _, element in etree.iterparse(path, events=("end",)):
        elements += 1
        if element.tag == member:
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return {"seconds": time.perf_counter() - start, "elements": elements}


def measure_reader(path: str) -> dict:
    from citygml import FileReader, open_dataset

    [source] = open_dataset(path)
    start = time.perf_counter()
    buildings = polygons = attributes = 0
    for obj in FileReader(source):
        buildings += 1
        polygons += sum(len(g.polygons) for g in obj.geometries)
        attributes += len(obj.attributes)
    return {
        "seconds": time.perf_counter() - start,
        "buildings": buildings,
        "polygons": polygons,
        "attributes": attributes,
    }


def in_subprocess(kind: str, path: Path) -> dict:
    # Peak memory after the imports (numba's runtime is most of the reader's) and at the
    # end: the difference is what reading the file added.
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        f"sys.path.insert(0, {str(Path(__file__).parent)!r}); import citygml_read as b; "
        "import lxml.etree; "
        + ("import citygml; " if kind == "reader" else "")
        + "from peak_memory import peak_rss_mb; imports = peak_rss_mb(); "
        f"r = b.measure_{kind}({str(path)!r}); r['import_mb'] = imports; "
        "r['peak_mb'] = peak_rss_mb(); "
        "print(json.dumps(r))"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "machi-bench-citygml-v2"
    )
    parser.add_argument(
        "--real",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "plateau",
        help="also measure the real PLATEAU files under this folder (if present)",
    )
    args = parser.parse_args()

    rows = []
    for n in args.sizes:
        path = args.workdir / f"n{n}" / "udx" / "bldg" / "53396489_bldg_6697_op.gml"
        if not path.exists():
            t = time.perf_counter()
            generate(path, n)
            print(
                f"generated {n} buildings, {path.stat().st_size / 1e6:.0f} MB in "
                f"{time.perf_counter() - t:.0f} s",
                file=sys.stderr,
            )
        size_mb = path.stat().st_size / 1e6
        # Alternate the two, best of --repeat each: this machine's speed drifts.
        floors, readers = [], []
        for _ in range(args.repeat):
            floors.append(in_subprocess("floor", path))
            readers.append(in_subprocess("reader", path))
        floor = min(floors, key=lambda r: r["seconds"])
        reader = min(readers, key=lambda r: r["seconds"])
        for best, runs in ((floor, floors), (reader, readers)):
            best["peak_mb"] = max(r["peak_mb"] for r in runs)
            best["growth_mb"] = max(r["peak_mb"] - r["import_mb"] for r in runs)
        rows.append((n, size_mb, floor, reader))

    print()
    print(
        "| buildings | file MB | floor MB/s | reader MB/s | reader buildings/s | reader / floor "
        "| floor peak MB (+ while reading) | reader peak MB (+ while reading) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, size_mb, floor, reader in rows:
        print(
            f"| {n:,} | {size_mb:.0f} | {size_mb / floor['seconds']:.1f} | "
            f"{size_mb / reader['seconds']:.1f} | {reader['buildings'] / reader['seconds']:,.0f} | "
            f"{floor['seconds'] / reader['seconds']:.2f} | {floor['peak_mb']:.0f} "
            f"(+{floor['growth_mb']:.0f}) | {reader['peak_mb']:.0f} (+{reader['growth_mb']:.0f}) |"
        )
    print(
        "\nreader / floor: share of the bare iterparse speed the full reader keeps "
        "(1.0 = as fast as parsing alone). Peak MB is the process's peak resident memory; "
        "'+' is how much of it came after the imports, i.e. from reading the file."
    )
    if args.real.is_dir():
        print_real_files(sorted(args.real.glob("*/udx/*/*.gml")))


def print_real_files(paths: list[Path], runs: int = 20) -> None:
    """The same ratio on real PLATEAU files: small, so timed in this process, best of
    ``runs`` alternating runs each (the reader's per-file set-up counts for more)."""
    logging.getLogger("citygml").setLevel(logging.ERROR)  # their missing textures, 20 times
    print(f"\nReal PLATEAU files (best of {runs} alternating runs, in one process):\n")
    print("| file | MB | features | floor ms | reader ms | reader / floor |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in paths:
        floors, readers = [], []
        for _ in range(runs):
            floors.append(measure_floor(str(path))["seconds"])
            reader = measure_reader(str(path))
            readers.append(reader["seconds"])
        floor, best = min(floors), min(readers)
        print(
            f"| {path.parent.parent.parent.name}/{path.name} | {path.stat().st_size / 1e6:.2f} | "
            f"{reader['buildings']:,} | {floor * 1e3:.1f} | {best * 1e3:.1f} | {floor / best:.2f} |"
        )


if __name__ == "__main__":
    main()
