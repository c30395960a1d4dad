"""Pedestrian flow simulation: trips from floor area and stops, logit route choice on perceived cost.

- :mod:`pipeline.flowsim.graph`: the street network as arrays (CSR) and snapping points to it.
- :mod:`pipeline.flowsim.generation`: trip ends per node from building floor area by usage
  and from station / bus-stop points, with trip rates from a named source.
- :mod:`pipeline.flowsim.assignment`: joint destination and route logit, assigned with
  Dial's algorithm over efficient paths (no path enumeration), bounded reach.
- :mod:`pipeline.flowsim.validation`: fitted ratios and the GEH table against counters.

Vehicles (車流) are out of scope: only pedestrians are simulated.
"""
from pipeline.flowsim.assignment import Assignment, assign, perceived_cost
from pipeline.flowsim.graph import FlowGraph, snap_to_nodes
from pipeline.flowsim.validation import fit_ratio, geh, validation_table

__all__ = ["Assignment", "assign", "perceived_cost", "FlowGraph", "snap_to_nodes", "fit_ratio",
           "geh", "validation_table"]
