"""The engine: run definition, planning, the Dask runner, the manifest.

It never names a stage: stages come from the registry (``pipeline.stages``) through
the run-definition model it builds. Stage modules import :mod:`pipeline.core.task`,
:mod:`pipeline.core.settings` and :mod:`pipeline.core.stage`, nothing else of the engine.
"""
