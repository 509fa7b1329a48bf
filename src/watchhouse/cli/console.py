"""The consoles the command line prints with: text is printed as it is, never read as markup.

Why: most of what Watchhouse prints is other people's text: the URLs, agents and decoded payloads
of alerts, reporters' words, analysts' notes, file names. Rich reads ``[...]`` in a printed string
as markup, so an attacker's ``[/]`` in a request made ``alerts show`` fail with a markup error,
``[black on black]`` hid part of a payload from the analyst reading it, and a file name with
brackets crashed the very message reporting that it could not be read. Styling is given with
``style=`` or :class:`rich.text.Text`, never spelt inside the text.
"""

from __future__ import annotations

from rich.console import Console


def plain_console(*, stderr: bool = False) -> Console:
    """A console (standard output, or standard error) that reads no markup in what it prints."""
    return Console(stderr=stderr, markup=False)
