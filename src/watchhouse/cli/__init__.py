"""The ``watchhouse`` command line: thin Typer commands over the library."""
