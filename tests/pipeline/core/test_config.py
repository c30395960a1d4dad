"""Run definitions: validated, with unknown keys and bad values named by their path."""

from __future__ import annotations

import pytest

from pipeline.core.config import RunDefinitionError
from pipeline.stages import load_run_definition


def write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_definition_is_valid(project_root):
    definition = load_run_definition(project_root / "dags" / "sample.yaml")
    assert definition.inputs.citygml == [project_root / "sample_data" / "omiya"]
    assert definition.output == project_root / "out" / "sample"
    assert definition.area.meshes == ["53396489", "53396499", "53396580", "53396590"]


def test_unknown_key_is_named_with_its_path(tmp_path):
    path = write(tmp_path, "inputs:\n  citygml: x\n  tpyes: [bldg]\nstages:\n  ingest:\n    enabeld: true\n")
    with pytest.raises(RunDefinitionError) as caught:
        load_run_definition(path)
    message = str(caught.value)
    assert "inputs.tpyes: unknown key" in message
    assert "stages.ingest.enabeld: unknown key" in message
    assert str(path) in message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("crs: EPSG:4326\n", "not a projected"),
        ("crs: EPSG:99999999\n", "not a CRS"),
        ("area:\n  meshes: [5339x489]\n", "not a JIS X 0410 mesh code"),
        ("area:\n  bbox: [140, 36, 139, 35]\n", "min < max"),
        ("inputs:\n  types: [bldg, buildings]\n", "unknown feature type"),
        ("dask:\n  workers: 0\n", "dask.workers"),
        ("scenarios:\n  seasons: {winter: 13-01}\n", "is not MM-DD"),
        (
            "scenarios:\n  seasons: {hot: {date: 08-05, weather: hot}}\n",
            "season 'hot': weather: Input should be",
        ),
        ("scenarios:\n  seasons: {hot: {date: 08-05, colour: red}}\n", "season 'hot': colour: Extra inputs"),
        ("scenarios:\n  seasons: {hot: {weather: file}}\n", "season 'hot': date: Field required"),
        (
            "scenarios:\n  seasons: {hot: {date: 08-05, threshold_c: 36}}\n",
            "season 'hot': threshold_c applies to weather: observed_hot_days only (this season's weather is file)",
        ),
        (
            "scenarios:\n  seasons: {heat_day: {date: 08-05, radiation: cloudy}}\n",
            "season 'heat_day': radiation:",
        ),
        ("scenarios:\n  slots: {noon: ['12:00', '11:00']}\n", "is not after start"),
        ("scenarios:\n  slots: {noon: ['noon', '13:00']}\n", "HH:MM"),
        ("timezone: Asia/Omiya\n", "not an IANA time zone"),
        ("stages:\n  shadow:\n    seasons: {winter: 12-21}\n", "stages.shadow.seasons: unknown key"),
    ],
)
def test_bad_values_are_explained(tmp_path, text, fragment):
    with pytest.raises(RunDefinitionError) as caught:
        load_run_definition(write(tmp_path, text))
    assert fragment in str(caught.value)


def test_overrides_use_dotted_keys(project_root):
    definition = load_run_definition(
        project_root / "dags" / "sample.yaml", {"dask.workers": 3, "crs": "EPSG:6677"}
    )
    assert definition.dask.workers == 3 and definition.crs == "EPSG:6677"


def test_scenarios_are_a_run_level_section(tmp_path):
    definition = load_run_definition(
        write(
            tmp_path,
            (
                "scenarios:\n  year: 2025\n  seasons: {winter: 12-22}\n"
                "  slots: {noon: ['11:30', '12:30'], evening: ['17:00', '19:00']}\n"
            ),
        )
    )
    names = [s.name for s in definition.scenarios.scenarios()]
    assert names == ["winter_noon", "winter_evening"]
    assert (
        definition.scenarios.scenarios()[0].season.date(definition.scenarios.year).isoformat() == "2025-12-22"
    )


def test_a_season_carries_its_weather(tmp_path):
    from pipeline.geo.scenarios import SeasonWeather

    definition = load_run_definition(
        write(
            tmp_path,
            (
                "scenarios:\n  seasons:\n    heat_day: 08-05\n    summer: 07-20\n"
                "    hot: {date: 08-01, weather: observed_hot_days, threshold_c: 36, window_days: 20, radiation: observed}\n"
                "    design: {date: 07-25, weather: design_heat_day, max_temperature_c: 37.5}\n"
                "  slots: {noon: ['11:30', '12:30']}\n"
            ),
        )
    )
    weather = {s.season.name: s.season.weather for s in definition.scenarios.scenarios()}
    assert weather == {
        "heat_day": SeasonWeather("design_heat_day", max_temperature_c=35.0),  # by its name
        "summer": SeasonWeather("file"),
        "hot": SeasonWeather("observed_hot_days", threshold_c=36.0, window_days=20, radiation="observed"),
        "design": SeasonWeather("design_heat_day", max_temperature_c=37.5),
    }
    assert hash(definition.scenarios.scenarios()[0])  # a season stays hashable


@pytest.mark.parametrize(
    "old, new, yaml",
    [
        ("stages.walkability.streets", "inputs.streets", "stages:\n  walkability:\n    streets: s.osm\n"),
        (
            "stages.walkability.districts",
            "inputs.districts",
            "stages:\n  walkability:\n    districts: d.geojson\n",
        ),
        ("stages.thermal.weather", "inputs.weather", "stages:\n  thermal:\n    weather: w.csv\n"),
        (
            "stages.export_tiles.extra_tables",
            "inputs.extra_tables",
            "stages:\n  export_tiles:\n    extra_tables: [t.parquet]\n",
        ),
    ],
)
def test_an_input_key_of_a_stage_section_says_where_it_moved(tmp_path, old, new, yaml):
    """Every input file is under `inputs:`; the keys that were in stage sections say so."""
    with pytest.raises(RunDefinitionError) as caught:
        load_run_definition(write(tmp_path, yaml))
    assert f"  {old}: moved to {new} (every input file is under `inputs:`)" in str(caught.value)
    with pytest.raises(RunDefinitionError, match=f"{old}: moved to {new}"):
        load_run_definition(write(tmp_path, "name: x\n"), {old: "x"})  # --set too


def test_every_input_file_key_is_under_inputs():
    """One rule: a stage section holds no path; the inputs section holds every path."""
    from pipeline.core.keys import iter_keys
    from pipeline.stages import run_definition

    for key in iter_keys(run_definition()):
        if "_exists" in str(key.annotation):  # an InputPath: a file the run reads
            assert key.path.startswith("inputs."), key.path


def test_relative_paths_resolve_against_the_definition_and_must_exist(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "streets.geojson").write_text("{}")
    definition = load_run_definition(
        write(tmp_path, ("output: results\ninputs:\n  streets: data/streets.geojson\n"))
    )
    assert definition.output == tmp_path / "results"
    assert definition.inputs.streets == [tmp_path / "data" / "streets.geojson"]
    with pytest.raises(RunDefinitionError) as caught:
        load_run_definition(write(tmp_path, "inputs:\n  lidar: [missing.laz]\n"))
    assert "inputs.lidar.0" in str(caught.value) and "missing.laz: no such file" in str(caught.value)


def test_set_overrides_reject_a_key_below_a_value(project_root):
    with pytest.raises(RunDefinitionError, match="name is not a section"):
        load_run_definition(project_root / "dags" / "sample.yaml", {"name.x": 1})
