"""The machi command line."""

from __future__ import annotations

from click.testing import CliRunner

from pipeline.commands.cli import main


def test_info_on_the_sample_district(project_root):
    result = CliRunner().invoke(main, ["info", str(project_root / "sample_data/omiya")])
    assert result.exit_code == 0, result.output
    assert "bldg:Building                        502   LOD0: 502, LOD1: 502, LOD2: 400" in result.output
    assert "i-UR uro version: 3.1" in result.output
    assert "EPSG/0/6697" in result.output


def test_info_reports_a_rejected_file(tmp_path):
    path = tmp_path / "udx/bldg/53396489_bldg_6697_op.gml"
    path.parent.mkdir(parents=True)
    path.write_text('<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0"><core:cityObject')
    result = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert result.exit_code == 1
    assert "rejected files (1)" in result.output and "53396489_bldg_6697_op.gml:1" in result.output


def test_validate_names_unknown_keys(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("stagez: {}\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and "stagez: unknown key" in result.output


def test_run_lang_sets_the_report_language(project_root, monkeypatch):
    """``machi run --lang en`` hands the run the definition with ``stages.walkability.report_lang: en``."""
    from types import SimpleNamespace

    import pipeline.core.runner as runner

    seen = {}

    def fake_run(definition, **kwargs):
        seen["lang"] = definition.stages.walkability.report_lang
        return SimpleNamespace(executed=0, skipped=0, failed=[], output=definition.output, summary=lambda: "")

    monkeypatch.setattr(runner, "run", fake_run)
    result = CliRunner().invoke(main, ["run", str(project_root / "dags/sample.yaml"), "--lang", "en"])
    assert seen == {"lang": "en"}, result.output
    CliRunner().invoke(main, ["run", str(project_root / "dags/sample.yaml")])
    assert seen == {"lang": "ja"}
    bad = CliRunner().invoke(main, ["run", str(project_root / "dags/sample.yaml"), "--lang", "fr"])
    assert bad.exit_code != 0 and "'fr' is not one of 'ja', 'en'" in bad.output
