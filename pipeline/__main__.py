"""``python -m pipeline`` runs the ``machi`` command line."""

from pipeline.commands.cli import main

main()
