"""The engine: run definition, planning, the Dask runner, the manifest.

It never names a stage, an input format or a domain package: stages, their settings,
their input keys (``inputs:``) and how a run finds its files (``RunSources``) come from
the registry (``pipeline.stages``) through the run-definition model it builds; stages
pass each other typed outputs (:mod:`pipeline.core.outputs`). Stage modules import
:mod:`pipeline.core.task`, :mod:`pipeline.core.settings`, :mod:`pipeline.core.outputs`
and :mod:`pipeline.core.stage`, nothing else of the engine (an import contract checks it).
"""
