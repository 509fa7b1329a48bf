"""``python -m watchhouse`` runs the command line."""

from watchhouse.cli.main import main

main()
