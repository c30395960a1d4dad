"""Time of the effects stage on a finished measure run, with 日影規制 of two added buildings.

Reads the records of a measure run (``--run``, e.g. the sample's ``dags/sample_trees.yaml``
output) and its baseline (``--baseline``) from the run's manifest, writes a measures file
of two buildings (a 20 x 12 m prism of 30 m and one of 10 m, 300 m apart, at ``--at`` in
the run's CRS) and runs :func:`pipeline.stages.effects.effects_run` into ``--out`` with the
limits ``--limits`` where the use districts have none. Prints the seconds, the counts and
the shadow-regulation table (``--measures``: the run's own measures files, drawn on the
maps with the two buildings)::

    PYTHONPATH=. python -m benchmarks.effects --run out/sample_trees --baseline out/sample \\
        --definition dags/sample.yaml --out out/effects_bench
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from pipeline.core.task import Record
from pipeline.stages import STAGES, load_run_definition
from pipeline.stages.effects import effects_run

READ = ("walkability_score", "walkability_summary", "thermal", "shadow", "ingest", "surface")


def buildings_file(path: Path, x: float, y: float, crs: str) -> Path:
    def prism(dx: float) -> dict:
        ring = [[x + dx - 10, y - 6], [x + dx + 10, y - 6], [x + dx + 10, y + 6], [x + dx - 10, y + 6]]
        return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}

    name = f"urn:ogc:def:crs:{crs.replace(':', '::')}"
    features = [
        {
            "type": "Feature",
            "properties": {"kind": "building", "id": "tower", "height_m": 30},
            "geometry": prism(0),
        },
        {
            "type": "Feature",
            "properties": {"kind": "building", "id": "low", "height_m": 10},
            "geometry": prism(300),
        },
    ]
    collection = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": name}}}
    path.write_text(json.dumps({**collection, "features": features}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--definition", default="dags/sample.yaml")
    parser.add_argument("--out", required=True)
    parser.add_argument("--at", nargs=2, type=float, default=(-19900.0, -10500.0))
    parser.add_argument("--crs", default="EPSG:6677", help="the run's CRS (the sample's: JGD2011 zone IX)")
    parser.add_argument("--limits", default="(一) 4時間-2.5時間／4m")
    parser.add_argument(
        "--measures",
        nargs="*",
        default=[],
        help="the run's measures files, drawn on the maps with the two buildings",
    )
    args = parser.parse_args()
    definition = load_run_definition(args.definition)
    crs = args.crs
    outputs = {s.name: s.outputs for s in STAGES}
    records: dict[str, list[Record]] = {name: [] for name in READ}
    for data in json.loads((Path(args.run) / "manifest.json").read_text())["tasks"].values():
        if data.get("stage") in READ and data.get("status", "done") == "done":
            records[data["stage"]].append(Record.from_json(data, outputs[data["stage"]]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    measures = buildings_file(out / "buildings.geojson", *args.at, crs)
    walk = definition.stages.walkability
    start = time.perf_counter()
    result = effects_run(
        str(out / "effects"),
        args.run,
        args.baseline,
        crs,
        districts=str(definition.inputs.districts) if definition.inputs.districts else None,
        district_name=walk.district_name,
        regulation={
            "measures": (*args.measures, str(measures)),
            "limits": args.limits,
            "year": definition.scenarios.year,
            "timezone": definition.timezone,
        },
        scenarios=definition.scenarios.scenarios(),
        report_lang=walk.report_lang,
        walkability_score=records["walkability_score"],
        walkability_summary=records["walkability_summary"],
        ingest=records["ingest"],
        thermal=records["thermal"],
        shadow=records["shadow"],
        surface=records["surface"],
    )
    seconds = time.perf_counter() - start
    print(f"effects stage: {seconds:.1f} s, {result.counts}, {len(result.outputs.maps)} maps")
    table = pd.read_parquet(result.outputs.shadow_regulation["parquet"])
    print(
        table[["building_id", "status", "near_max_h", "far_max_h", "near_area_over_m2", "far_area_over_m2"]]
    )


if __name__ == "__main__":
    main()
