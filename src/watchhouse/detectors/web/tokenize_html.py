"""A small HTML lexer for XSS: does a value, pasted into a page, create active markup?

Why a lexer beside the XSS signatures: a browser decides by parsing, and so can we. ``<svg/onload=``,
``<x onpointerrawupdate=...>``, ``" autofocus onfocus="`` and ``<a href=" jav&#x09;ascript:...">``
differ in spelling but each yields an element whose attribute runs script. The lexer reads tags the
way an HTML tokenizer does (name up to blank, ``/`` or ``>``; attributes as name, optional ``=``,
quoted or bare value) and the judge asks structural questions of the result.

As for SQL (:mod:`.tokenize_sql`), the value is read in several *contexts*: as page text, and as
the rest of an attribute value (bare, in single quotes, in double quotes), where closing that
value lets the payload add attributes of its own to the application's element.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

from watchhouse._native import weblex

#: longest value lexed
MAX_LEX_CHARS = 4_096
#: most tags read from one value
MAX_TAGS = 32


class HtmlContext(StrEnum):
    TEXT = "text"
    ATTR_BARE = "attribute (bare)"
    ATTR_SINGLE = "attribute (')"
    ATTR_DOUBLE = 'attribute (")'


# what each context prepends: an element whose attribute value the input continues
_PREFIX = {
    HtmlContext.TEXT: "",
    HtmlContext.ATTR_BARE: "<x a=",
    HtmlContext.ATTR_SINGLE: "<x a='",
    HtmlContext.ATTR_DOUBLE: '<x a="',
}

_TAG_OPEN = re.compile(r"<(/?)([a-z][^\s/><\x00]*|!--|!\[cdata\[|\?|!doctype)", re.IGNORECASE)
_ATTR = re.compile(
    r"""[\s/]*(?P<name>[^\s/>=][^\s/>=]*)(?:\s*=\s*(?P<value>"[^"]*"?|'[^']*'?|`[^`]*`?|[^\s>]*))?""",
)
_TAG_END = re.compile(r"[\s/]*>")


class Tag(NamedTuple):
    """One start or end tag with its attributes, as the browser would see them.

    A named tuple: cheap to build, and the shape of the compiled lexer's tag tuples.
    """

    name: str
    closing: bool
    attributes: tuple[tuple[str, str], ...] = ()
    complete: bool = False  # ended with '>'


def tokenize(text: str, context: HtmlContext = HtmlContext.TEXT) -> list[Tag]:
    """Tags in lower-case ``text`` pasted into ``context``; never raises, linear in the text.

    Where the optional compiled kernels are built (:mod:`watchhouse._native`) their twin of
    :func:`_tokenize` reads the value, unless only ``re``'s case folding can decide a tag name.
    """
    text = prefixed(text, context)
    if weblex is not None:
        found = weblex.html_tags(text, MAX_TAGS)
        if found is not None:
            return [Tag._make(tag) for tag in found]
    return _tokenize(text)


def prefixed(text: str, context: HtmlContext) -> str:
    """What the lexer reads: ``text`` (cut to :data:`MAX_LEX_CHARS`) after ``context``'s opening."""
    return _PREFIX[context] + text[:MAX_LEX_CHARS]


def _tokenize(text: str) -> list[Tag]:
    """The pure-Python :func:`tokenize` of already prefixed ``text`` (the compiled twin's reference)."""
    tags: list[Tag] = []
    pos = 0
    n = len(text)
    while len(tags) < MAX_TAGS:
        opened = _TAG_OPEN.search(text, pos)
        if opened is None:
            break
        closing, name = opened.group(1) == "/", opened.group(2).lower()
        pos = opened.end()
        if name.startswith("!") or name == "?":
            tags.append(Tag(name, closing, (), True))
            continue
        attributes: list[tuple[str, str]] = []
        complete = False
        while pos < n and len(attributes) < 64:
            end = _TAG_END.match(text, pos)
            if end is not None:
                pos = end.end()
                complete = True
                break
            if text[pos] == "<":
                break
            attr = _ATTR.match(text, pos)
            if attr is None or attr.end() == pos:
                pos += 1
                continue
            value = attr.group("value") or ""
            if value[:1] in ("'", '"', "`"):
                value = value[1:-1] if len(value) > 1 and value[-1] == value[0] else value[1:]
            attributes.append((attr.group("name").lower(), value))
            pos = attr.end()
        tags.append(Tag(name, closing, tuple(attributes), complete))
    return tags
