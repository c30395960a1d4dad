"""The sample's measure run is the sample run plus its measures: every other key is equal,
or the run on the baseline refuses it (as `make demo` would find out at its end)."""

import yaml

#: The keys the measure run may differ in.
OWN_KEYS = {"name", "output"}
OWN_INPUTS = {"measures", "baseline"}


def test_the_sample_trees_run_equals_the_sample_run_but_for_its_measures(project_root):
    # the YAML as written: the baseline folder need not exist yet (make demo writes it first)
    base = yaml.safe_load((project_root / "dags" / "sample.yaml").read_text(encoding="utf-8"))
    trees = yaml.safe_load((project_root / "dags" / "sample_trees.yaml").read_text(encoding="utf-8"))
    assert trees["inputs"]["measures"] and trees["inputs"]["baseline"] == base["output"]
    for definition in (base, trees):
        for key in OWN_KEYS:
            definition.pop(key)
        for key in OWN_INPUTS:
            definition["inputs"].pop(key, None)
    assert trees == base
