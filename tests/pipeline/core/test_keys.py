"""The README's run-definition key table is the settings models' own documentation."""

from __future__ import annotations

import typing

from click.testing import CliRunner

from pipeline.commands.cli import main
from pipeline.core.keys import iter_keys, keys_markdown, readme_keys
from pipeline.stages import run_definition


def test_readme_key_table_is_generated_from_the_models(project_root):
    readme = (project_root / "docs" / "run-definition.md").read_text(encoding="utf-8")
    assert readme_keys(readme) == keys_markdown(run_definition()), (
        "the key table of docs/run-definition.md differs from the settings models: paste "
        "`machi validate --keys` between the keys markers"
    )


def test_validate_keys_prints_the_table():
    result = CliRunner().invoke(main, ["validate", "--keys"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == keys_markdown(run_definition())
    assert "| `scenarios.seasons` |" in result.output and "| `stages.shadow.step_minutes` |" in result.output


def _numeric(annotation) -> bool:
    return annotation in (int, float) or (
        typing.get_origin(annotation) is typing.Union
        and set(typing.get_args(annotation)) <= {int, float, type(None)}
    )


def test_every_key_has_a_description_and_every_number_bounds():
    keys = list(iter_keys(run_definition()))
    assert len(keys) > 60
    undocumented = [k.path for k in keys if len(k.description) < 8]
    assert undocumented == []
    unbounded = [
        k.path
        for k in keys
        if _numeric(k.annotation)
        and not (any(s in k.bounds for s in (">", "≥")) and any(s in k.bounds for s in ("<", "≤")))
    ]
    assert unbounded == []


def test_run_help_names_a_key_that_exists():
    result = CliRunner().invoke(main, ["run", "--help"])
    examples = [w for w in result.output.split() if w.startswith("grid.") or w.startswith("stages.")]
    assert len(examples) == 2  # --set's example and the key --lang sets
    for example in examples:
        assert example.split("=")[0] in {k.path for k in iter_keys(run_definition())}
