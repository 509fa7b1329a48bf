"""Types of the compiled lexer twins (:file:`_weblex.pyx`)."""

from collections.abc import Callable, Container
from typing import Any, Literal

SOURCE_SHA256: str

def sql_leading(
    text: str, quote: str, first: Container[str] | None, word_kinds: dict[str, str]
) -> list[tuple[str, str]] | None: ...
def html_tags(text: str, max_tags: int) -> list[tuple[str, bool, tuple[tuple[str, str], ...], bool]] | None: ...
def unquote(text: str) -> str: ...
def shell_unbreak(text: str) -> str: ...
def xss_context(
    text: str,
    max_tags: int,
    attr_context: bool,
    markup: bool,
    tables: tuple[
        Container[str],
        Container[str],
        Container[str],
        Container[str],
        Container[str],
        Callable[[str], bool],
        Callable[[str], Any],
    ],
) -> tuple[int, str, str, tuple[str, bool, tuple[tuple[str, str], ...], bool]] | Literal[False] | None: ...
