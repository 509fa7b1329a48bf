"""The vectorised first pass: which rows could possibly match a rule at all?

Decoding and rule matching cost tens of microseconds per value in Python; a whole batch must go
through at hundreds of thousands of rows a second. So one case-insensitive regex per column runs
in Polars (Rust, linear-time, no back-tracking) over the *raw* text and keeps only rows showing a
symptom every payload needs: a character that breaks out of a context (quote, angle bracket,
backtick, pipe, backslash, parenthesis, a semicolon before a word), that character's %-encoding,
any double/Unicode/overlong encoding or entity, a dot-dot, or a tell-tale keyword. Ordinary
pages, assets, API calls and searches (``%20``, ``+``, ``%2F`` in tracking parameters) have none.

The patterns are a deliberate *superset* of the rules; ``tests/detectors/web`` proves on the
corpora that running without the prefilter finds nothing more.
"""

from __future__ import annotations

import polars as pl

from watchhouse.detectors.web.engines import EngineName, column_scanner, resolve_engine
from watchhouse.detectors.web.rules import Target
from watchhouse.detectors.web.rules_scanner import SCANNER_AGENTS

_SP = r"(?:\+|%20|%09|%0a|%0d|\s|/\*)"
# Encoded forms of breakout characters: " # $ % ' ( ) ; < > \ ` { | } NUL TAB LF CR and %uXXXX.
_ENCODED = (
    r"%(?:2[2-57-9]|3[bce]|5c|60|7[bcd]|0[09ad]|u[0-9a-f]{4}|c[01]|e0%80|ef%b[cd]|26%23|26%26|26(?:lt|gt|quot|apos))"
)
_RAW = (
    r"""['"<>`\\|^]|\$[({]|\(|&#|&&|&(?:lt|gt|quot|apos|amp);|"""
    r";(?:\+|%20|\s)*[a-z/$(`]{1,12}(?:\+|%20|\s|/|;|$|%)|\.\.|\.%2e|%2e"
)
_SQL_WORDS = (
    r"union|select|information_schema|sleep|benchmark|waitfor|extractvalue|updatexml|xmltype|char%28|from"
    + _SP
    + r"+dual|0x[0-9a-f]{6}|"
    + _SP
    + r"(?:or|and|xor|having|where)"
    + _SP
    + r"+-?[0-9]|order"
    + _SP
    + r"+by"
    + _SP
    + r"+[0-9]|sys(?:objects|columns|ibm|databases)|sys\.|pg_(?:catalog|shadow|user|tables|namespace)|"
    r"all_(?:tables|users|tab)|user_tables|sqlite_master|msysobjects|rdb\$|@@|mysql\.(?:user|db)|master\.\.|"
    r"domain\.(?:domains|tables|columns)|drop"
    + _SP
    + r"+table|insert"
    + _SP
    + r"+into|delete"
    + _SP
    + r"+from|declare"
    + _SP
    + r"+@|shutdown"
)
_XSS_WORDS = (
    r"(?:java|vb|live)script(?:\s|%20|%09|%0a|\+)*(?::|%3a)|(?:\+|%20|%09|%0a|\s)on[a-z]{3,30}(?:\+|%20)*(?:=|%3d)|"
    r"document\.|window\.|location\.|fromcharcode|data:|data%3a|\+adw-"
)
_PATH_WORDS = (
    r"etc/|etc%2f|passwd|shadow|win\.ini|boot\.ini|web\.config|web-inf|proc/self|(?:php|file|expect|zip|phar|glob)(?::|%3a)|"
    r"compress\.|0x2e|\.env|\.git/|\.aws/|\.svn/|\.ds_store|\.htpasswd|w00tw00t|trinity|eval-stdin|server-status|"
    r"inetpub|system32|windows/|\b[a-z]:(?:/|\\|%2f|%5c)+(?:boot|windows|winnt|inetpub|system32)"
)
_CMD_WORDS = (
    r"(?:/|%2f)(?:usr(?:/|%2f))?s?bin(?:/|%2f)|cmd(?:\.exe)?(?:\+|%20|\s)*(?:/|%2f)[ck]|powershell|\$ifs|%24ifs|\{ifs|"
    r"ping(?:\+|%20|\s)+-|ping\.exe|dir(?:\+|%20|%2b|\s)+(?:/[a-z](?:\+|%20|%2b|\s)+)?[a-z](?::|%3a)|\(\)|"
    r"%26(?:\+|%20|%09|%0a)*(?:/|%2f)?(?:id|whoami|uname|ls|cat|ping|wget|curl|nc|bash|sh|cmd|powershell|dir|type|echo|"
    r"sleep|rm|perl|python|php)(?:\+|%20|%09|%3b|%7c|%26|-|$)"
)

#: raw request targets: URL, body, referrer
URL_PATTERN = "(?i)" + "|".join((_RAW, _ENCODED, _SQL_WORDS, _XSS_WORDS, _PATH_WORDS, _CMD_WORDS))
#: user agents: tool names plus the few payload markers rules look for in agents
AGENT_PATTERN = (
    "(?i)"
    + r"(?:^|[^a-z0-9-])(?:"
    + "|".join(a.replace("-", r"\-") for a in SCANNER_AGENTS)
    + r")(?:[^a-z0-9-]|$)|"
    + "|".join((r"['\"<>`\\|]|\$[({]|\(\s*\)|%[0-9a-f]{2}|&#|\.\.", _SQL_WORDS, _XSS_WORDS, _PATH_WORDS, _CMD_WORDS))
)
#: headers are JSON text, whose own quotes and backslashes must not count
HEADER_PATTERN = "(?i)" + "|".join(
    (
        r"['<>`|^]|\$[({]|\(\s*\)|&#|\\\\|\.\.|%[0-9a-f]{2}",
        _SQL_WORDS,
        _XSS_WORDS,
        _PATH_WORDS,
        _CMD_WORDS,
    )
)

URL = "url.original"
BODY = "http.request.body.content"
REFERRER = "http.request.referrer"
AGENT = "user_agent.original"
HEADERS = "http.request.headers"

ANY = "_any"

COLUMN_PATTERNS: dict[str, str] = {
    URL: URL_PATTERN,
    BODY: URL_PATTERN,
    REFERRER: URL_PATTERN,
    AGENT: AGENT_PATTERN,
    HEADERS: HEADER_PATTERN,
}


def part_symptoms() -> dict[Target, str]:
    """The same patterns per request part (a value inside a column).

    A value that shows no symptom cannot match a rule for the same reason a row cannot, so the
    exact matcher skips clean parameters of a candidate row (``page=2`` beside ``q=o'brien``).
    """
    return {
        Target.QUERY: URL_PATTERN,
        Target.PATH: URL_PATTERN,
        Target.BODY: URL_PATTERN,
        Target.REFERRER: URL_PATTERN,
        Target.USER_AGENT: AGENT_PATTERN,
        Target.HEADERS: HEADER_PATTERN,
    }


def column_flags(frame: pl.DataFrame, engine: EngineName | str = EngineName.AUTO) -> pl.DataFrame:
    """One boolean column per inspected column (True: worth decoding), plus ``_any``.

    Per-column flags let the exact matcher skip the parts of a candidate row that showed no
    symptom (a row flagged for its query string need not have its user agent decoded). All-null
    columns cost nothing: they are skipped.
    """
    chosen = resolve_engine(engine)
    columns = [
        column_scanner(pattern, chosen).flags(frame[column]).alias(column)
        for column, pattern in COLUMN_PATTERNS.items()
    ]
    flags = pl.DataFrame(columns)
    return flags.with_columns(pl.any_horizontal(list(COLUMN_PATTERNS)).alias(ANY))


def candidate_mask(frame: pl.DataFrame) -> pl.Series:
    """True for rows worth decoding in any column."""
    return column_flags(frame)[ANY]
