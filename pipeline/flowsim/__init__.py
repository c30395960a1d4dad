"""Pedestrian flow simulation: trips from floor area and stops, logit route choice on perceived cost.

- :mod:`pipeline.flowsim.graph`: the street network as arrays (CSR) and snapping points to it.
- :mod:`pipeline.flowsim.generation`: trip ends per node from building floor area by usage
  and from station / bus-stop points, with trip rates from a named source.
- :mod:`pipeline.flowsim.assignment`: joint destination and route logit, assigned with
  Dial's algorithm over efficient paths (no path enumeration), bounded reach.
- :mod:`pipeline.flowsim.scaling`: trips per hour to people per 100 m (80 m/min), the MLIT ratio.
- :mod:`pipeline.flowsim.validation`: fitted ratios and the GEH table against counters.
- :mod:`pipeline.flowsim.simulate`: a district's scenarios put together, for a stage to call.

Vehicles (車流) are out of scope: only pedestrians are simulated.
"""

from pipeline.flowsim.assignment import Assignment, assign, perceived_cost
from pipeline.flowsim.graph import FlowGraph, snap_to_nodes
from pipeline.flowsim.simulate import FittedFlow, fit_and_validate, simulate_scenarios
from pipeline.flowsim.validation import fit_ratio, geh, validation_table

__all__ = [
    "Assignment",
    "assign",
    "perceived_cost",
    "FlowGraph",
    "snap_to_nodes",
    "FittedFlow",
    "fit_and_validate",
    "simulate_scenarios",
    "fit_ratio",
    "geh",
    "validation_table",
]
