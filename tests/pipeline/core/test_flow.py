"""The runner's bookkeeping (pipeline.core.flow): which stage is ready for which tiles.

No Dask here: the tests tell a :class:`Flow` what was planned, submitted and finished,
as the runner does, and check what it answers. Tiles are real third-level mesh codes: a
row of four in the 2nd-level mesh 533964 (00 01 02 03 from west to east, so 00 and 02
are the neighbours of 01, and 03 is not) and one far away.
"""

from __future__ import annotations

import pytest

from pipeline.core.flow import EVERYWHERE, Flow, reach_of, touch_keys
from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage

ROW = ["53396400", "53396401", "53396402", "53396403"]
FAR = "53396477"


def _stage(name: str, needs=None, reach="run") -> Stage:
    return Stage(name=name, settings=StageSettings, plan=lambda ctx, records: [], needs=needs, reach=reach)


INGEST = _stage("ingest", needs=())
SURFACE = _stage("surface", needs=("ingest",), reach="neighbours")
SHADOW = _stage("shadow", needs=("surface",), reach="tile")
MAPS = _stage("maps", needs=("shadow",))


def _drain(flow: Flow) -> list[tuple[str, list[str] | None]]:
    """Everything ready now, reported planned (with no task submitted) as it is taken."""
    taken = []
    while (ready := flow.next_ready()) is not None:
        stage, tiles = ready
        flow.planned(stage, tiles)
        taken.append((stage.name, tiles))
    return taken


def test_touch_keys_follow_the_meshes_a_task_declares():
    assert touch_keys(["53396401"]) == ("53396401",)
    assert touch_keys(["533964"]) == ("533964",)  # a 2nd-level file holds 64 tiles
    assert touch_keys(["5339640112"]) == ("53396401",)  # a quarter mesh lies in one tile
    assert touch_keys([]) == (EVERYWHERE,)  # a run-wide task (tile "all", a layer) declares none
    assert touch_keys(["a"], frozenset({"a"})) == ("a",)  # a run's own tile names, whatever they are
    assert touch_keys(["53396401", "53396400", "53396401"]) == ("53396400", "53396401")
    with pytest.raises(ValueError, match="'bldg' is not a JIS X 0410 mesh code"):
        touch_keys(["bldg"])


def test_a_task_touching_two_tiles_holds_both_until_it_finishes():
    flow = Flow([INGEST, SURFACE, SHADOW], ROW)
    flow.submitted(INGEST, (ROW[0], ROW[3]))
    flow.planned(INGEST, None)
    # 01 and 02 see 00 in their neighbourhood, 02 and 03 see 03: nothing is ready
    assert _drain(flow) == []
    flow.finished_task(INGEST, (ROW[0], ROW[3]))
    assert _drain(flow) == [("surface", ROW), ("shadow", ROW)]


def test_reach_is_the_tile_or_its_neighbourhood():
    assert reach_of(ROW[1], "tile") == {ROW[1]}
    neighbourhood = reach_of(ROW[1], "neighbours")
    assert len(neighbourhood) == 9 and {ROW[0], ROW[1], ROW[2]} <= neighbourhood
    assert ROW[3] not in neighbourhood


def test_a_tile_goes_on_when_its_reach_is_in_while_others_still_run():
    flow = Flow([INGEST, SURFACE, SHADOW, MAPS], ROW + [FAR])
    assert flow.next_ready() == (INGEST, None)
    for tile in ROW + [FAR]:
        flow.submitted(INGEST, (tile,))
    flow.planned(INGEST, None)
    assert _drain(flow) == []

    for tile in (ROW[2], ROW[3], FAR):
        flow.finished_task(INGEST, (tile,))
    # 03 and FAR have every file of their neighbourhood in; 02 waits for 01's file.
    assert _drain(flow) == [("surface", [ROW[3], FAR]), ("shadow", [ROW[3], FAR])]
    assert not flow.by_name["maps"].fully_planned

    flow.finished_task(INGEST, (ROW[1],))  # 01 still waits for 00's file
    assert _drain(flow) == [("surface", [ROW[2]]), ("shadow", [ROW[2]])]
    flow.finished_task(INGEST, (ROW[0],))
    assert _drain(flow) == [("surface", ROW[:2]), ("shadow", ROW[:2]), ("maps", None)]
    assert flow.finished
    assert [s.name for s in flow.newly_complete()] == ["ingest", "surface", "shadow", "maps"]
    assert flow.newly_complete() == []


def test_a_running_upstream_task_of_a_tile_holds_that_tile_only():
    flow = Flow([INGEST, SURFACE, SHADOW, MAPS], ROW)
    flow.planned(INGEST, None)  # every ingest task found finished: nothing submitted
    stage, tiles = flow.next_ready()
    assert (stage, tiles) == (SURFACE, ROW)
    for tile in tiles:
        flow.submitted(SURFACE, (tile,))
    flow.planned(SURFACE, tiles)
    flow.finished_task(SURFACE, (ROW[3],))
    assert _drain(flow) == [("shadow", [ROW[3]])]  # shadow reads its own tile's surface only
    for tile in ROW[:3]:
        flow.finished_task(SURFACE, (tile,))
    assert _drain(flow) == [("shadow", ROW[:3]), ("maps", None)]


def test_a_coarse_or_run_wide_upstream_task_holds_every_tile_it_holds():
    flow = Flow([INGEST, SURFACE], ROW + [FAR])
    flow.submitted(INGEST, ("533964",))  # holds the row and FAR
    flow.submitted(INGEST, ())
    flow.planned(INGEST, None)
    assert _drain(flow) == []
    flow.finished_task(INGEST, ())
    assert _drain(flow) == []
    flow.finished_task(INGEST, ("533964",))
    assert _drain(flow) == [("surface", ROW + [FAR])]


def test_a_per_tile_stage_waits_until_its_upstream_is_planned_on_the_whole_reach():
    halo = _stage("halo", needs=("shadow",), reach="neighbours")
    flow = Flow([INGEST, SURFACE, SHADOW, halo], ROW)
    flow.planned(INGEST, None)
    flow.next_ready()
    for tile in ROW:
        flow.submitted(SURFACE, (tile,))
    flow.planned(SURFACE, ROW)
    flow.finished_task(SURFACE, (ROW[3],))
    assert _drain(flow) == [("shadow", [ROW[3]])]  # halo of 03 also needs shadow of 02
    flow.finished_task(SURFACE, (ROW[2],))
    assert _drain(flow) == [("shadow", [ROW[2]]), ("halo", [ROW[3]])]


def test_needs_default_to_every_earlier_stage_and_unwanted_ones_count_as_done():
    later = _stage("later")  # needs=None: after everything before it
    flow = Flow([INGEST, SURFACE, later], ROW)
    assert [s.name for s in flow.by_name["later"].needs] == ["ingest", "surface"]
    # SHADOW needs surface, which this run does not want: it is ready at once.
    flow = Flow([INGEST, SHADOW], ROW)
    assert flow.next_ready() == (INGEST, None)
    flow.submitted(INGEST, ())
    flow.planned(INGEST, None)
    assert flow.next_ready() == (SHADOW, ROW)


def test_needs_must_name_earlier_stages():
    with pytest.raises(ValueError, match=r"loop needs \['loop'\], which do not come before it"):
        Flow([_stage("loop", needs=("loop",))], ROW)
    with pytest.raises(ValueError, match=r"first needs \['second'\]"):
        Flow([_stage("first", needs=("second",)), _stage("second", needs=())], ROW)
    # a stage the run does not want (or that is not registered) counts as finished
    assert Flow([_stage("first", needs=("elsewhere",))], ROW).by_name["first"].needs == []


def test_a_run_without_tiles_plans_per_tile_stages_as_done():
    flow = Flow([INGEST, SURFACE, MAPS], [])
    assert flow.by_name["surface"].fully_planned
    assert _drain(flow) == [("ingest", None), ("maps", None)]
    assert flow.finished


def test_bad_reach_is_refused():
    with pytest.raises(ValueError, match="reach must be one of"):
        _stage("x", reach="city")
