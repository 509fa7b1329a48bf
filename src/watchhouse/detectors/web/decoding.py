"""Undo the encodings attackers use to slip payloads past naive pattern matching.

Rules are written against *decoded* text so that one pattern covers ``' or 1=1``, ``%27%20or%201=1``,
``%2527...`` and ``&#39; or 1=1`` alike. Every transformation that actually changed something is
recorded by name, because an analyst reading an alert must be able to see how the raw log value
turned into the text that matched (and judge whether the decoding was fair).

Three views exist because the languages differ: :func:`decode` gives the *base* view (URL, HTML,
Unicode, nulls, case), :func:`sql_view` additionally strips SQL comments, :func:`shell_view`
additionally undoes word-splitting tricks of POSIX shells. All functions are total: they never
raise, whatever the input.
"""

from __future__ import annotations

import binascii
import html
import re
import unicodedata
from typing import NamedTuple
from urllib.parse import unquote

from watchhouse._native import weblex

#: How many URL-decoding passes at most; real double/triple encodings stop well before this.
MAX_URL_PASSES = 4
#: Longest value decoded; longer ones are cut so one huge request cannot stall a worker.
MAX_VALUE_CHARS = 16_384

_PCT_U = re.compile(r"%u([0-9a-fA-F]{4})")
_PCT_ANY = re.compile(r"%[0-9a-fA-F]{2}|%u[0-9a-fA-F]{4}")
# Overlong / invalid UTF-8 forms of '/', '\' and '.' that old IIS/Tomcat servers accepted.
_OVERLONG = re.compile(r"%c0%af|%e0%80%af|%c0%2f|%c1%9c|%c1%1c|%c1%af|%c0%5c|%c0%ae|%e0%80%ae", re.IGNORECASE)
_OVERLONG_MAP = {
    "%c0%af": "/",
    "%e0%80%af": "/",
    "%c0%2f": "/",
    "%c1%af": "/",
    "%c1%9c": "\\",
    "%c1%1c": "\\",
    "%c0%5c": "\\",
    "%c0%ae": ".",
    "%e0%80%ae": ".",
}
_ENTITY = re.compile(r"&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});?")
_SQL_VERSIONED = re.compile(r"/\*!\d{0,6}(.{0,2000}?)\*/", re.DOTALL)
_SQL_COMMENT = re.compile(r"/\*.{0,2000}?\*/", re.DOTALL)
_WHITESPACE = re.compile(r"\s+")
_SQL_SPLIT_WORD = re.compile(r"([a-z_]{1,20})/\*\*/([a-z_]{1,20})")
_SHELL_NEWLINE = re.compile(r"[\r\n]+")
#: keywords that evasion splits with empty comments (``UN/**/ION``) to slip past word filters
SPLIT_SQL_KEYWORDS = frozenset(
    {
        "union",
        "select",
        "from",
        "where",
        "insert",
        "update",
        "delete",
        "drop",
        "order",
        "group",
        "sleep",
        "benchmark",
        "concat",
        "information_schema",
        "table_name",
        "column_name",
        "having",
        "waitfor",
    }
)
_IFS = re.compile(r"\$\{ifs\}|\$ifs(?:\$\d|\b)", re.IGNORECASE)
_SHELL_BREAK = re.compile(r"(?<=[\w/.-])(?:['\"\\]|\$@|\$\d)+(?=[\w/.-])")
_SHELL_EMPTY_QUOTES = re.compile(r"''|\"\"")
# Windows cmd.exe drops a caret before any character and ignores quotes inside a word:
# ``w^h^o^a^m^i`` and ``n"e"t user`` run ``whoami`` and ``net user``.
_CMD_CARET = re.compile(r"(?<=[\w/.\\-])\^+(?=[\w/.\\-])")
_JS_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")
#: a token that may be base64: long, only the base64 alphabet, both letter cases (see base64_view)
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
MAX_BASE64_TOKENS = 8
#: byte -> itself when printable ASCII, else a space (how base64_view shows decoded bytes)
_PRINTABLE_OR_SPACE = bytes(b if 32 <= b < 127 else 32 for b in range(256))


class Decoded(NamedTuple):
    """Decoded text plus the names of the steps that changed it, in the order applied.

    A named tuple: every decoding step that changes a value builds one, and a frozen dataclass costs
    twice as much to build.
    """

    text: str
    steps: tuple[str, ...] = ()

    def then(self, step: str, text: str) -> Decoded:
        """Record ``step`` only when it changed the text, so explanations list real work only."""
        if text == self.text:
            return self
        return _decoded((text, (*self.steps, step)))


#: ``Decoded((text, steps))`` without the keyword-handling constructor (a third of its cost): every
#: decoding step that changes a value makes one
_decoded = Decoded._make


def _replace_overlong(text: str) -> str:
    # every overlong form starts %c0, %c1 or %e0: without one the regex has nothing to find
    if "%c" not in text and "%C" not in text and "%e0" not in text and "%E0" not in text:
        return text
    return _OVERLONG.sub(lambda m: _OVERLONG_MAP[m.group(0).lower()], text)


def _unquote_reference(text: str) -> str:
    return unquote(text, errors="replace")


def _shell_unbreak_reference(text: str) -> str:
    return _SHELL_BREAK.sub("", _SHELL_EMPTY_QUOTES.sub("", text))


# the compiled twins where built (see :mod:`watchhouse._native`), else the reference above
#: ``unquote(text, errors="replace")``
_unquote = weblex.unquote if weblex is not None else _unquote_reference
#: empty quotes, then quotes/backslashes/``$@``/``$1`` inside a word, removed
_shell_unbreak = weblex.shell_unbreak if weblex is not None else _shell_unbreak_reference


def _pct_u(text: str) -> str:
    if "%u" not in text:  # nothing for the pattern to find (most values): no scan, no callback made
        return text
    return _PCT_U.sub(_escaped_char, text)


def url_decode(value: Decoded, *, plus_as_space: bool) -> Decoded:
    """Percent-decode until stable (at most :data:`MAX_URL_PASSES` passes).

    ``+`` means space only in the raw query string (form encoding), so it is replaced once,
    before the first pass; a ``%2B`` decoded later stays a literal plus.
    """
    out = value
    if plus_as_space and "+" in out.text:
        out = out.then("plus_as_space", out.text.replace("+", " "))
    for _ in range(MAX_URL_PASSES):
        text = out.text
        if "%" not in text or not _PCT_ANY.search(text):
            break
        text = _replace_overlong(text)
        if text != out.text:
            out = out.then("overlong_utf8", text)
        text = _pct_u(text)
        if text != out.text:
            out = out.then("percent_u", text)
        decoded: str = _unquote(text)
        if decoded == text:
            break
        out = out.then("url_decode", decoded)
    return out


def html_decode(value: Decoded) -> Decoded:
    """Named and numeric character references, twice at most (``&amp;lt;`` is a known trick)."""
    out = value
    for _ in range(2):
        if "&" not in out.text or not _ENTITY.search(out.text):
            break
        try:
            text = html.unescape(out.text)
        except (ValueError, OverflowError):  # pragma: no cover - html.unescape is total in practice
            break
        if text == out.text:
            break
        out = out.then("html_entities", text)
    return out


def decode(raw: str, *, plus_as_space: bool = False) -> Decoded:
    """The base view: URL -> HTML entities -> NFKC -> null bytes -> lower case.

    NFKC folds full-width and other compatibility characters (``＜ｓｃｒｉｐｔ＞``) onto ASCII so
    one rule covers them; lower-casing lets every rule be written in lower case.
    """
    out = _url_decoded(raw, plus_as_space)
    out = html_decode(out)
    if "\\u" in out.text:  # JSON / JavaScript escapes: "$\u007bjndi:" is "${jndi:"
        out = out.then("js_unicode_escapes", _js_unescaped(out.text))
    if not out.text.isascii():
        out = out.then("nfkc", unicodedata.normalize("NFKC", out.text))
    if "\x00" in out.text:
        out = out.then("null_bytes", out.text.replace("\x00", ""))
    return out.then("lowercase", out.text.lower())


#: the last raw value percent-decoded and its decoding: the detector reads each value in its base view
#: and then in its base64 view, and both start with the same url_decode of the same raw text
_last_url: tuple[str, bool, Decoded] = ("", False, Decoded(""))


def _url_decoded(raw: str, plus_as_space: bool) -> Decoded:
    """``url_decode`` of ``raw`` cut to :data:`MAX_VALUE_CHARS`, done once for two views in a row."""
    global _last_url
    last_raw, last_plus, last = _last_url
    if last_plus is plus_as_space and (last_raw is raw or last_raw == raw):
        return last
    decoded = url_decode(_decoded((raw[:MAX_VALUE_CHARS], ())), plus_as_space=plus_as_space)
    _last_url = (raw, plus_as_space, decoded)  # one tuple: a reader in another thread sees a whole entry
    return decoded


def _js_unescaped(text: str) -> str:
    return _JS_UNICODE.sub(_escaped_char, text)


def _escaped_char(match: re.Match[str]) -> str:
    """The character a ``%uXXXX`` or ``\\uXXXX`` escape names; a lone surrogate cannot stand in a str
    that must be encodable, so it is dropped."""
    code = int(match.group(1), 16)
    return "" if 0xD800 <= code <= 0xDFFF else chr(code)


def base64_view(raw: str, *, plus_as_space: bool = False) -> Decoded:
    """Base64-looking tokens of a value, decoded at each of the four possible alignments.

    Why four: an attacker (or a serialiser) may embed an encoded payload anywhere in a longer
    base64 string, so the interesting bytes need not start on a 4-character boundary; decoding
    from offsets 0-3 makes one of them line up. Only tokens of 8+ characters (a 6-byte name) that mix upper and
    lower case letters count as "clearly encoded" (plain words and hex ids do not); undecodable
    bytes become spaces. Case is kept until after decoding, since base64 is case-sensitive.
    """
    return _base64_of(_url_decoded(raw, plus_as_space).text)


def _base64_of(text: str) -> Decoded:
    """:func:`base64_view` of a value whose percent-decoding is ``text``."""
    if text.lower() == text or text.upper() == text:  # no token can mix cases: nothing to look for
        return _NO_TOKENS
    pieces: list[str] = []
    for token in _B64_TOKEN.findall(text)[:MAX_BASE64_TOKENS]:
        if token.lower() == token or token.upper() == token:
            continue
        body = token.rstrip("=").replace("-", "+").replace("_", "/")
        for shift in range(4):
            chunk = body[shift:]
            if len(chunk) < 8:
                continue
            # pad rather than cut the tail: a short token's last bytes are often the interesting ones
            chunk += "A" * (-len(chunk) % 4)
            try:
                # the chunk holds only the base64 alphabet (the token pattern, '-' and '_' mapped, 'A'
                # padding), so what b64decode(validate=True) would check always holds: decode directly
                data = binascii.a2b_base64(chunk)
            except (binascii.Error, ValueError):
                continue
            pieces.append(data.translate(_PRINTABLE_OR_SPACE).decode("ascii"))
    if not pieces:
        return _NO_TOKENS
    return Decoded(" | ".join(pieces).lower(), ("base64", "lowercase"))


#: the base64 view of a value without a clearly encoded token (shared: named tuples are immutable)
_NO_TOKENS = Decoded("")
#: the base64 view of every value where no rule reads that view (not asked for: none is made)
NO_BASE64 = Decoded("")


def collapse_whitespace(value: Decoded) -> Decoded:
    text = value.text
    # every blank but the ASCII space is unprintable: a printable text without a doubled, leading or
    # trailing space has nothing to collapse (the common case, checked in C)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return value
    return value.then("collapse_whitespace", _WHITESPACE.sub(" ", text).strip())


def sql_view(value: Decoded) -> Decoded:
    """Base view with SQL comments removed (MySQL ``/*!50000 ...*/`` keeps its content).

    ``UN/**/ION SEL/**/ECT`` is not valid SQL, but ``UNION/**/SELECT`` is, and comments are
    the classic way to replace spaces that a filter looks for; removing them with a space keeps
    tokens apart.
    """
    out = value
    if "/**/" in out.text:
        joined = _SQL_SPLIT_WORD.sub(_join_split_keyword, out.text)
        if joined != out.text:
            out = out.then("sql_split_keywords", joined)
    if "/*" in out.text:
        out = out.then("sql_versioned_comments", _SQL_VERSIONED.sub(r" \1 ", out.text))
        out = out.then("sql_comments", _SQL_COMMENT.sub(" ", out.text))
    return collapse_whitespace(out)


def _join_split_keyword(match: re.Match[str]) -> str:
    joined = match.group(1) + match.group(2)
    return joined if joined in SPLIT_SQL_KEYWORDS else match.group(0)


def shell_view(value: Decoded) -> Decoded:
    """Base view with shell word-splitting tricks undone: ``c'a't``, ``w\\hoami``, ``${IFS}``.

    A shell concatenates adjacent quoted pieces and drops backslashes, so ``c'a't`` runs ``cat``;
    ``$IFS`` expands to whitespace. Undoing both lets rules match the command name itself.
    """
    out = value
    if "\n" in out.text or "\r" in out.text:  # a newline ends a shell command like ";" does
        out = out.then("shell_newline_separator", _shell_newlines(out.text))
    if "$" in out.text:
        out = out.then("shell_ifs", _shell_ifs(out.text))
    if "^" in out.text:
        out = out.then("cmd_caret_escapes", _cmd_carets(out.text))
    if "'" in out.text or '"' in out.text or "\\" in out.text or "$" in out.text:
        out = out.then("shell_quotes", _shell_unbreak(out.text))
    return collapse_whitespace(out)


def _shell_newlines(text: str) -> str:
    return _SHELL_NEWLINE.sub(" ; ", text)


def _shell_ifs(text: str) -> str:
    return _IFS.sub(" ", text)


def _cmd_carets(text: str) -> str:
    return _CMD_CARET.sub("", text)


def decode_tables() -> tuple[object, ...]:
    """What the compiled decoding twin (:func:`watchhouse._native._webdecode.decode_views`) runs of
    this module: the steps that rewrite a value with a regular expression or a table (percent and
    entity decoding, SQL comments, shell tricks) are the functions above, and the twin decides only
    whether each has anything to do; whitespace collapsing and base64 tokens it does itself. The
    order is the twin's."""
    return (
        Decoded,
        MAX_VALUE_CHARS,
        _replace_overlong,
        _pct_u,
        _unquote,
        html_decode,
        _js_unescaped,
        _shell_newlines,
        _shell_ifs,
        _cmd_carets,
        _shell_unbreak,
        sql_view,
        _NO_TOKENS,
        NO_BASE64,
    )
