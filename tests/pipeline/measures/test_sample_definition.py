"""The sample's measure run is the sample run plus its measures: every other key is equal,
or the run on the baseline refuses it (as `make demo` would find out at its end)."""

from pipeline.stages import load_run_definition

#: The keys the measure run may differ in.
OWN_KEYS = {"name", "output"}
OWN_INPUTS = {"measures", "baseline"}


def test_the_sample_trees_run_equals_the_sample_run_but_for_its_measures(project_root):
    base = load_run_definition(project_root / "dags" / "sample.yaml").model_dump(mode="json")
    trees = load_run_definition(project_root / "dags" / "sample_trees.yaml").model_dump(mode="json")
    assert trees["inputs"]["measures"] and trees["inputs"]["baseline"] == base["output"]
    for definition in (base, trees):
        for key in OWN_KEYS:
            definition.pop(key)
        for key in OWN_INPUTS:
            definition["inputs"].pop(key, None)
    assert trees == base
