"""The manifest's journal, its compaction, and reading files cut off mid-write (no Dask)."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass

import pytest

from pipeline.core.manifest import JOURNAL_NAME, MANIFEST_NAME, Manifest, ManifestError, dumps
from pipeline.core.task import Outputs, Record
from tiles.atomic import atomic_path, remove_temporaries


@dataclass(frozen=True)
class TextOutputs(Outputs):
    text: str


def _record(out, stage: str, tile: str, *, write: bool = True) -> Record:
    path = out / stage / f"{tile}.txt"
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tile)
    return Record(
        stage=stage,
        tile=tile,
        key=f"{stage}-{tile}-0123456789abcdef",
        outputs=TextOutputs(text=str(path)),
        counts={"n": len(tile)},
        seconds=0.5,
    )


def _records(out, n: int = 30) -> list[Record]:
    return [
        _record(out, stage, f"{533900 + i:08d}")
        for stage in ("ingest", "surface", "shadow")
        for i in range(n)
    ]


def test_recording_a_task_appends_one_line_and_rewrites_nothing(tmp_path):
    manifest = Manifest.open(tmp_path)
    records = _records(tmp_path, 5)
    manifest.record(records[0])
    manifest.compact()  # manifest.json exists; the journal is gone
    assert not (tmp_path / JOURNAL_NAME).exists()
    before = (tmp_path / MANIFEST_NAME).read_bytes()
    stat = (tmp_path / MANIFEST_NAME).stat()
    journal = tmp_path / JOURNAL_NAME
    sizes, contents = [], []
    for record in records[1:]:
        manifest.record(record)
        sizes.append(journal.stat().st_size)
        contents.append(journal.read_bytes())
    # Each record adds exactly one line at the end; earlier bytes never change.
    for i, (size, content) in enumerate(zip(sizes, contents)):
        lines = content.splitlines(keepends=True)
        assert len(lines) == i + 1 and size == len(content)
        assert json.loads(lines[-1])["task"]["key"] == records[i + 1].key
        if i:
            assert content.startswith(contents[i - 1])
            assert size == sizes[i - 1] + len(lines[-1])
    # manifest.json was not touched by recording.
    assert (tmp_path / MANIFEST_NAME).read_bytes() == before
    assert (tmp_path / MANIFEST_NAME).stat().st_mtime_ns == stat.st_mtime_ns
    manifest.close()


def test_reopening_reads_the_manifest_then_the_journal(tmp_path):
    manifest = Manifest.open(tmp_path)
    first, second = _records(tmp_path, 1)[:2]
    manifest.record(first)
    manifest.compact()
    manifest.input_hash("a.gml", 3, 1.0, lambda: "f" * 64)
    manifest.record(second)
    failed = Record(stage=first.stage, tile=first.tile, key=first.key, status="failed", error="boom")
    manifest.record(failed)  # a later line wins
    manifest.close()
    again = Manifest.open(tmp_path)
    assert again.recovery.manifest_tasks == 1 and again.recovery.journal_tasks == 2
    assert again.recovery.interrupted and not again.recovery.bad_lines
    assert again.finished(second.key, outputs=TextOutputs).outputs == second.outputs
    assert again.finished(first.key, outputs=TextOutputs) is None  # now recorded as failed
    assert again.input_hash("a.gml", 3, 1.0, lambda: pytest.fail("rehashed")) == "f" * 64


def test_compaction_is_the_same_bytes_whatever_the_completion_order(tmp_path):
    records = _records(tmp_path)
    texts = []
    for seed in (1, 2, 3):
        folder = tmp_path / f"run{seed}"
        folder.mkdir()
        manifest = Manifest.open(folder)
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        for name in random.Random(seed).sample(["b.gml", "a.gml", "c.gml"], 3):
            manifest.input_hash(name, 1, 2.0, lambda name=name: name * 8)
        for record in shuffled:
            manifest.record(record)
        manifest.data.update(
            run="r",
            crs="EPSG:6677",
            versions={"machi": "1"},
            definition={"a": 1},
            outputs=[p for r in shuffled for p in r.outputs.paths],
            failures=[{"stage": "x", "tile": t, "error": "e"} for t in ("2", "1")],
        )
        manifest.data["runs"].append({"started": "2026-01-01T00:00:00+00:00", "executed": 90})
        manifest.compact()
        texts.append((folder / MANIFEST_NAME).read_bytes())
    assert texts[0] == texts[1] == texts[2]
    data = json.loads(texts[0])
    # The public shape: the same keys as before the journal, tasks keyed by task key.
    assert {"run", "crs", "versions", "definition", "inputs", "runs", "failures", "tasks", "outputs"} == set(
        data
    )
    assert list(data["tasks"]) == sorted(data["tasks"], key=lambda k: (k.split("-")[0], k))
    assert data["tasks"][records[0].key]["outputs"] == {"text": records[0].outputs.text}
    assert list(data["inputs"]) == ["a.gml", "b.gml", "c.gml"]
    assert [f["tile"] for f in data["failures"]] == ["1", "2"]


def test_a_journal_cut_off_mid_line_is_named_and_its_tail_ignored(tmp_path, caplog):
    manifest = Manifest.open(tmp_path)
    records = _records(tmp_path, 4)
    for record in records:
        manifest.record(record)
    manifest.close()
    journal = tmp_path / JOURNAL_NAME
    content = journal.read_bytes()
    journal.write_bytes(content[:-40])  # the last line is torn
    with caplog.at_level(logging.WARNING, logger="pipeline.core.manifest"):
        again = Manifest.open(tmp_path)
    assert again.recovery.journal_tasks == len(records) - 1
    [bad] = again.recovery.bad_lines
    assert bad.startswith(f"{journal}:{len(records)}: cut off mid-write, not valid JSON")
    assert f"{journal}, line {len(records)}: cut off mid-write" in caplog.text
    assert (
        all(again.finished(r.key, outputs=TextOutputs) for r in records[:-1])
        and again.finished(records[-1].key, outputs=TextOutputs) is None
    )
    # Compaction drops the torn line; appending afterwards starts on a clean line.
    again.compact()
    again.record(records[-1])
    again.close()
    third = Manifest.open(tmp_path)
    assert not third.recovery.bad_lines
    assert all(third.finished(r.key, outputs=TextOutputs) for r in records)


def test_a_manifest_cut_off_mid_file_keeps_the_records_before_the_cut(tmp_path, caplog):
    manifest = Manifest.open(tmp_path)
    records = _records(tmp_path, 20)
    manifest.input_hash("a.gml", 1, 2.0, lambda: "a" * 64)
    for record in records:
        manifest.record(record)
    manifest.data["outputs"] = [p for r in records for p in r.outputs.paths]
    manifest.compact()
    path = tmp_path / MANIFEST_NAME
    text = path.read_text()
    lines = text.splitlines()
    cut = text.index(records[30].key) + 10  # in the middle of a task line, mid-file
    path.write_text(text[:cut])
    bad_line = text[:cut].count("\n") + 1
    with caplog.at_level(logging.WARNING, logger="pipeline.core.manifest"):
        again = Manifest.open(tmp_path)
    assert f"{path} is damaged at line {bad_line}" in caplog.text
    assert again.recovery.bad_lines[0].startswith(f"{path}:{bad_line}: cut off mid-write")
    kept = [r for r in records if again.finished(r.key, outputs=TextOutputs)]
    assert len(kept) == len(again.data["tasks"]) and 0 < len(kept) < len(records)
    order = sorted(records, key=lambda r: (r.stage, r.tile))
    assert kept == [] or {r.key for r in kept} == {r.key for r in order[: len(kept)]}
    assert again.data["inputs"]["a.gml"]["sha256"] == "a" * 64
    assert len(lines) > bad_line


def test_a_record_is_trusted_only_with_its_key_and_its_outputs(tmp_path):
    manifest = Manifest.open(tmp_path)
    good, missing, moved = _records(tmp_path, 1)
    for record in (good, missing, moved):
        manifest.record(record)
    manifest.close()
    (tmp_path / "surface" / f"{missing.tile}.txt").unlink()
    manifest.data["tasks"]["shadow-other-key"] = manifest.data["tasks"].pop(moved.key)  # not its key
    assert manifest.finished(good.key, "ingest", good.tile, outputs=TextOutputs) is not None
    assert manifest.finished(good.key, "surface", good.tile, outputs=TextOutputs) is None
    assert manifest.finished(missing.key, outputs=TextOutputs) is None
    assert manifest.finished("shadow-other-key", outputs=TextOutputs) is None


def test_a_record_whose_outputs_its_stage_no_longer_declares_runs_again(tmp_path, caplog):
    """A manifest of older code (an output since renamed) resumes: the task is named,
    with the output and the type, and runs again; nothing else is lost."""
    manifest = Manifest.open(tmp_path)
    record = _record(tmp_path, "ingest", "53390000")
    manifest.record(record)
    manifest.close()

    @dataclass(frozen=True)
    class Renamed(Outputs):
        words: str

    again = Manifest.open(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pipeline.core.manifest"):
        assert again.finished(record.key, outputs=Renamed) is None
    assert f"task {record.key}: stage 'ingest': outputs ['text'] are not declared by Renamed" in caplog.text
    assert "the task runs again, as does every task of stage 'ingest' recorded so" in caplog.text
    other = _record(tmp_path, "ingest", "53390001")
    again.record(other)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipeline.core.manifest"):
        assert again.finished(other.key, outputs=Renamed) is None
    assert caplog.text == ""  # named once per stage, not once per tile
    assert again.finished(record.key, outputs=TextOutputs).outputs == record.outputs


def test_an_unwritable_journal_is_a_clear_error_naming_it(tmp_path):
    (tmp_path / JOURNAL_NAME).mkdir()  # works as root too, where chmod would not stop a write
    with pytest.raises(ManifestError, match=f"cannot read the run journal {tmp_path / JOURNAL_NAME}"):
        Manifest.open(tmp_path)
    (tmp_path / JOURNAL_NAME).rmdir()
    manifest = Manifest.open(tmp_path)
    (tmp_path / JOURNAL_NAME).mkdir()
    with pytest.raises(
        ManifestError, match=f"cannot write the run journal {tmp_path / JOURNAL_NAME}: Is a directory"
    ):
        manifest.record(_records(tmp_path, 1)[0])
    (tmp_path / MANIFEST_NAME).mkdir()
    (tmp_path / MANIFEST_NAME / "x").touch()
    with pytest.raises(ManifestError, match=f"cannot write the manifest {tmp_path / MANIFEST_NAME}"):
        manifest.compact()


def test_dumps_is_valid_json_one_item_per_line():
    data = {
        "tasks": {"b": {"stage": "s", "tile": "1"}, "a": {"stage": "s", "tile": "1"}},
        "inputs": {},
        "runs": [],
        "extra": 1,
        "run": "x",
    }
    text = dumps(data)
    assert json.loads(text) == data
    assert text.splitlines() == [
        "{",
        '"run": "x",',
        '"inputs": {},',
        '"runs": [],',
        '"tasks": {',
        ' "a": {"stage": "s", "tile": "1"},',
        ' "b": {"stage": "s", "tile": "1"}',
        "},",
        '"extra": 1',
        "}",
    ]


def test_temporaries_of_killed_writers_are_removed(tmp_path):
    with atomic_path(tmp_path / "a" / "x.tif") as tmp:
        tmp.write_bytes(b"1")
        left = tmp.with_name(tmp.name.replace(tmp.name[3:11], "deadbeef"))
        left.write_bytes(b"half")
    folder = tmp_path / "b" / ".tileset.0123abcd.tmp"
    folder.mkdir(parents=True)
    (folder / "t.glb").write_bytes(b"half")
    keep = tmp_path / "b" / ".hidden.tif"
    keep.write_bytes(b"keep")
    assert remove_temporaries(tmp_path) == sorted([left, folder])
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".hidden.tif", "a", "b", "x.tif"]
