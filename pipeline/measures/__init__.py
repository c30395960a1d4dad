"""Measures (施策): trees, tree rows, canopies, buildings, removed buildings and street
changes read from a measures file, applied to a tile's surface and street network, and
their effects compared with a baseline run (docs/measures.md)."""
