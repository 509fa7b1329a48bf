"""A small SQL lexer that turns a request value into a *fingerprint* of token classes.

Why: a regex sees characters, an injection is a grammar. ``1' or 'a'='a``, ``-1 oR 2>1#`` and
``x')/**/||/**/('1`` share no keyword a signature could anchor on, yet once lexed as SQL they all
read "string, logic operator, value, operator, value": the *shape* of a query fragment breaking
out of its literal. Ordinary input ("o'brien", "c/ caridad s/n", "3 rooms, 2 baths") lexes into
shapes no attacker needs. The idea is libinjection's (Nick Galbreath); the token classes, folding
and decision below are written here and the fingerprints are derived from our own data
(:mod:`.fingerprints`).

A value is lexed in three *contexts*, because the lexer cannot know where the application pastes
it: as-is (a numeric parameter, ``id=1 or 1=1``), and as if it followed an opening single or
double quote (``name='<value>'``), where the value's first quote *closes* the application's
literal. A quote context is tried only when the value contains that quote.

Token classes (one character each, so fingerprints are short strings)::

    n number      s string      b bareword    v variable (@x, @@version)
    k keyword     E statement   U union       f function (word before "(")
    o operator    & logic op    c comment to end of input
    ( ) , ; .     x anything else

The lexer is total (never raises) and linear: one compiled regex scans the value once. Where the
optional compiled kernels are built (:mod:`watchhouse._native`), :func:`leading_tokens` runs their
twin of this lexer, which reads the value one code point at a time and gives the same tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import NamedTuple

from watchhouse._native import weblex

#: tokens kept per fingerprint: a breakout shows itself in its first few tokens
FINGERPRINT_TOKENS = 8
#: longest value lexed; payloads that matter fit, and no value can cost more than this
MAX_LEX_CHARS = 2_048


class Context(StrEnum):
    """Where the application is assumed to paste the value."""

    NONE = "none"  # as-is: a number or identifier position
    SINGLE = "single"  # after an opening '
    DOUBLE = "double"  # after an opening "


_QUOTE = {Context.SINGLE: "'", Context.DOUBLE: '"'}

# Word classes. The lists are ours: SQL's reserved words that carry structure in an injection.
_UNION = frozenset({"union", "intersect", "except", "minus"})
_STATEMENT = frozenset(
    {
        "select",
        "insert",
        "update",
        "delete",
        "drop",
        "create",
        "alter",
        "truncate",
        "exec",
        "execute",
        "declare",
        "waitfor",
        "shutdown",
        "grant",
        "revoke",
        "rename",
        "handler",
        "values",
        "call",
    }
)
_LOGIC = frozenset({"and", "or", "xor", "not"})
_WORD_OPERATORS = frozenset(
    {"like", "rlike", "regexp", "glob", "is", "in", "between", "sounds", "div", "mod", "collate", "escape", "notnull"}
)
_KEYWORDS = frozenset(
    {
        "from",
        "where",
        "having",
        "group",
        "order",
        "by",
        "limit",
        "offset",
        "into",
        "outfile",
        "dumpfile",
        "table",
        "procedure",
        "analyse",
        "as",
        "case",
        "when",
        "then",
        "else",
        "end",
        "null",
        "true",
        "false",
        "asc",
        "desc",
        "distinct",
        "all",
        "top",
        "join",
        "inner",
        "outer",
        "cross",
        "natural",
        "using",
        "delay",
        "begin",
        "exists",
        "returning",
        "fetch",
        "some",
        "any",
        "set",
        "nocase",
        "binary",
        "unknown",
        "immediate",
        "load",
        "data",
        "infile",
    }
)
_TOKEN = re.compile(
    r"""
    (?P<ws>[\s\x00-\x1f\xa0]+)
  | (?P<vopen>/\*!\d{0,6})                 # MySQL versioned comment: its content is SQL
  | (?P<close>\*/)
  | (?P<block>/\*.*?\*/)                    # closed comment: noise between tokens
  | (?P<eol>--|\#|/\*|;\x00|%00)            # comment (or NUL) swallowing the rest of the input
  | (?P<sq>'(?:[^'\\]|\\.|'')*'?)
  | (?P<dq>"(?:[^"\\]|\\.|"")*"?)
  | (?P<bq>`[^`]*`?|\[[^\]\s]{1,64}\])       # quoted identifier
  | (?P<num>0x[0-9a-f]+|0b[01]+|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?(?![\w$]))
  | (?P<var>@@?[\w.$]*|@`[^`]*`?)
  | (?P<word>[^\W]+(?:[$.][^\W]+)*)
  | (?P<logic>\|\||&&)
  | (?P<op><=>|!=|<>|<=|>=|:=|::|==|->>?|[=<>!+\-*/%^|&~])
  | (?P<punct>[(),;.])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL | re.IGNORECASE,
)


class Token(NamedTuple):
    """One lexed token: its class letter and the text it came from (for explanations).

    A named tuple (a lexed value makes up to nine of these): cheaper to build than a frozen
    dataclass, and the compiled lexer's ``(kind, text)`` pairs have the same shape.
    """

    kind: str
    text: str


#: class of a word whose class does not depend on what follows it (a keyword stays ``k`` before
#: a parenthesis); any other word is ``f`` before one and ``b`` elsewhere. Earlier lists win.
_WORD_KINDS: dict[str, str] = {
    **dict.fromkeys(_KEYWORDS, "k"),
    **dict.fromkeys(_WORD_OPERATORS, "o"),
    **dict.fromkeys(_LOGIC, "&"),
    **dict.fromkeys(_STATEMENT, "E"),
    **dict.fromkeys(_UNION, "U"),
}


def _word_kind(word: str, next_char: str) -> str:
    kind = _WORD_KINDS.get(word)
    if kind is not None:
        return kind
    return "f" if next_char == "(" else "b"


def _next_char(text: str, pos: int) -> str:
    """The next significant character after ``pos`` (skipping blanks and closed comments)."""
    n = len(text)
    while pos < n:
        c = text[pos]
        if c.isspace():
            pos += 1
        elif text.startswith("/*", pos) and not text.startswith("/*!", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                return ""
            pos = end + 2
        else:
            return c
    return ""


def tokenize(text: str, context: Context = Context.NONE) -> list[Token]:
    """The SQL tokens of lower-case ``text`` as pasted into ``context``; never raises.

    In a quote context the first token is the rest of the application's literal, up to the
    value's first matching quote (or the whole value, when none closes it).
    """
    return list(_tokens(text[:MAX_LEX_CHARS], context))


_SKIPPED = frozenset({"ws", "vopen", "close", "block"})
_FIXED_KIND = {"sq": "s", "dq": "s", "bq": "b", "num": "n", "var": "v", "logic": "&", "op": "o", "other": "x"}


def _tokens(text: str, context: Context) -> Iterator[Token]:
    """:func:`tokenize`, one token at a time (``text`` already cut to :data:`MAX_LEX_CHARS`)."""
    pos = 0
    if context is not Context.NONE:
        quote = _QUOTE[context]
        close = _closing_quote(text, quote)
        if close < 0:
            yield Token("s", text)
            return
        yield Token("s", text[:close])
        pos = close + 1
    for match in _TOKEN.finditer(text, pos):
        group = match.lastgroup
        if group in _SKIPPED:
            continue
        value = match.group()
        if group == "eol":
            yield Token("c", text[match.start() :])
            return
        if group == "word":
            yield Token(_word_kind(value, _next_char(text, match.end())), value)
        elif group == "punct":
            yield Token(value, value)
        else:
            yield Token(_FIXED_KIND.get(group or "other", "x"), value)


def _closing_quote(text: str, quote: str) -> int:
    """Index of the first quote that would close an open literal (backslash and doubled quotes escape)."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i
        i += 1
    return -1


_MERGING = frozenset("so&k(")


def fold(tokens: list[Token]) -> list[Token]:
    """Drop what does not change the shape: repeats, unary signs, string concatenation.

    ``'a' 'b'`` is one string in SQL, ``1 = = 1`` is still a comparison, ``-1`` is a number and
    ``and not`` one logic step; folding makes those equal so fewer fingerprints cover more.
    """
    out: list[Token] = []
    for token in tokens:
        _fold_into(out, token)
    return out


def _fold_into(out: list[Token], token: Token) -> None:
    """Add one token to folded ``out`` (only ever changes or extends its last element)."""
    if out:
        last = out[-1]
        if token.kind == last.kind and token.kind in _MERGING:
            return
        if token.kind == "n" and last.kind == "o" and last.text in ("-", "+", "~", "!"):
            before = out[-2].kind if len(out) > 1 else ""
            if before in ("", "o", "&", "(", ",", "k", "E"):
                out[-1] = token
                return
    out.append(token)


def leading_tokens(text: str, context: Context, first: frozenset[str] | None = None) -> list[Token] | None:
    """The folded tokens a fingerprint is read from, lexing no further than needed.

    Equal to the first tokens of ``fold(tokenize(text, context))``: folding only ever changes or
    extends the last folded token, so once :data:`FINGERPRINT_TOKENS` + 1 exist the first
    :data:`FINGERPRINT_TOKENS` (the fingerprint and what explains it) are final and lexing stops.
    With ``first``, None as soon as the first folded token's class (final once a second token
    exists) is known not to be one of ``first``: no fingerprint starting so can matter.
    """
    if weblex is None:
        return _leading_tokens(text, context, first)
    pairs = leading_pairs(text, context, first)
    return None if pairs is None else [Token(kind, value) for kind, value in pairs]


def leading_pairs(text: str, context: Context, first: frozenset[str] | None = None) -> Sequence[tuple[str, str]] | None:
    """:func:`leading_tokens` as ``(class, text)`` pairs, from the compiled lexer where it is built.

    What a fingerprint is read from without building token objects: a caller makes
    :class:`Token` s only for the few values it reports on.
    """
    if weblex is not None:
        pairs: list[tuple[str, str]] | None = weblex.sql_leading(
            text[:MAX_LEX_CHARS], _QUOTE.get(context, ""), first, _WORD_KINDS
        )
        return pairs
    return _leading_tokens(text, context, first)


def _leading_tokens(text: str, context: Context, first: frozenset[str] | None) -> list[Token] | None:
    """The pure-Python :func:`leading_tokens` (the reference the compiled twin is held to)."""
    out: list[Token] = []
    for token in _tokens(text[:MAX_LEX_CHARS], context):
        _fold_into(out, token)
        size = len(out)
        if size == 2 and first is not None and out[0].kind not in first:
            return None
        if size > FINGERPRINT_TOKENS:
            return out
    if first is not None and (not out or out[0].kind not in first):
        return None
    return out


def fingerprint(tokens: list[Token]) -> str:
    """The first :data:`FINGERPRINT_TOKENS` token classes of folded tokens, as one string."""
    return "".join(t.kind for t in tokens[:FINGERPRINT_TOKENS])


def contexts(text: str) -> list[Context]:
    """The contexts worth lexing ``text`` in: quote contexts only when that quote occurs."""
    out = [Context.NONE]
    if "'" in text:
        out.append(Context.SINGLE)
    if '"' in text:
        out.append(Context.DOUBLE)
    return out


def fingerprints(text: str) -> list[tuple[Context, str, list[Token]]]:
    """``(context, fingerprint, folded tokens)`` for each context worth trying."""
    out: list[tuple[Context, str, list[Token]]] = []
    for context in contexts(text):
        tokens = fold(tokenize(text, context))
        out.append((context, fingerprint(tokens), tokens))
    return out
