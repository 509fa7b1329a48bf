"""The test to run on outside text before ``int`` (or ``hmac.compare_digest``) reads it.

Why one place: ``str.isdigit`` holds for superscripts ("²"), circled digits and other digit signs
that ``int`` refuses with a ValueError, and ``hmac.compare_digest`` raises on any non-ASCII text.
Each place that trusted ``isdigit`` turned one hostile value into a crash: a reader stopped on a
status code, a pid or a serial, a forged portal cookie or a typed sign-in code made a server error,
and a Content-Length of "²" went unflagged. Numbers in logs, headers, cookies and codes are ASCII.
"""

from __future__ import annotations


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits and nothing else (no sign, no blank)."""
    return text.isascii() and text.isdigit()
