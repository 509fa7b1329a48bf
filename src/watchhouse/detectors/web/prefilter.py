"""The vectorised first pass: which rows could possibly match a rule at all?

Decoding and rule matching cost tens of microseconds per value in Python; a whole batch must go
through at hundreds of thousands of rows a second. So one case-insensitive pattern per column runs
over the *raw* text of each distinct value (Hyperscan where it is installed, Polars' linear-time
Rust regex otherwise; :mod:`.engines`) and keeps only rows showing a symptom every payload
needs: a character that breaks out of a context (quote, angle bracket, backtick, pipe, backslash,
parenthesis, a semicolon before a word), that character's %-encoding, any double/Unicode/overlong
encoding or entity, a dot-dot, or a tell-tale keyword. Ordinary
pages, assets, API calls and searches (``%20``, ``+``, ``%2F`` in tracking parameters) have none.

The patterns are a deliberate *superset* of the rules; ``tests/detectors/web`` proves on the
corpora that running without the prefilter finds nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from watchhouse.detectors.web.engines import EngineName, column_scanner, resolve_engine
from watchhouse.detectors.web.rules import Target
from watchhouse.detectors.web.rules_code import base64_symptom
from watchhouse.detectors.web.rules_scanner import SCANNER_AGENTS
from watchhouse.detectors.web.rules_shell import COMMON_COMMANDS, DISTINCT_TOOLS

_SP = r"(?:\+|%20|%09|%0a|%0d|\s|/\*)"
# Encoded forms of breakout characters: " # $ % ' ( ) ; < > \ ` { | } NUL TAB LF VT FF CR and %uXXXX;
# and of letters, digits and "_", which no browser encodes: a keyword spelt ``%73elect`` must not
# slip past the keyword symptoms below.
_ENCODED = (
    r"%(?:2[2-57-9]|3[0-9bce]|4[1-9a-f]|5[0-9acf]|6[0-9a-f]|7[0-9a-d]|0[09a-d]|u[0-9a-f]{4}|c[01]|e0%80|ef%b[cd]|"
    r"26%23|26%26|26(?:lt|gt|quot|apos))"
)
# Characters that NFKC folds onto ASCII (full-width forms, circled and mathematical letters,
# ligatures, super- and subscripts): ``ｓｅｌｅｃｔ`` and ``ⓛⓞⓒⓐⓛⓗⓞⓢⓣ`` become keywords when decoded.
# (not U+212A KELVIN and U+212B ANGSTROM SIGN: they case-fold to "k" and "å", and a caseless class
# holding them would flag every "k")
_COMPATIBLE = (
    r"[\x{ff01}-\x{ff5e}\x{2460}-\x{24ff}\x{1d400}-\x{1d7ff}\x{fb00}-\x{fb06}\x{2070}-\x{209f}\x{2100}-\x{2129}"
    r"\x{212c}-\x{214f}]"
)
_RAW = (
    r"""['"<>`\\|^{}\r\n\x00*)]|(?:\s|%20|\+)http(?:/|%2f)\d|content-disposition|\$[({\[]|\(|&#|&&|&[a-z]{2,8};|\?\?|\?{1,3}(?:&|$|\s)|;(?:\+|%20|\s)*[a-z]|"""
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
    r"domain\.(?:domains|tables|columns)|tempdb|msdb|northwind|msys[a-z]|sqlite_|rlike|regexp|"
    r"group(?:\+|%20|\s)+by|(?:[0-9!]|%21)(?:\+|%20|\s){0,10}as(?:[a-z0-9_\s+]|%20){1,90}from|"
    r"(?:^|[\s+/;|(=]|%20|%2f|%3d)(?:and|or|xor)(?:\+|%20|\s){0,2}(?:[a-z0-9_@.`]|%40|%60){1,40}(?:\+|%20|\s)?"
    r"(?:=|%3d|!|%21)|(?:^|=)[0-9]{1,20}(?:-|%2d)(?:delete|update|insert|drop|select|union)|drop"
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
    r"(?:java|vb|live)script(?:\s|%20|%09|%0a|\+)*(?::|%3a)|(?:\+|%20|%09|%0a|\s)on[a-z]{3,60}(?:\+|%20)*(?:=|%3d)|"
    r"document\.|window\.|location\.|fromcharcode|data:|data%3a|\+adw-"
)
_PATH_WORDS = (
    r"etc/|etc%2f|passwd|shadow|win\.ini|boot\.ini|web\.config|web-inf|proc/self|(?:php|file|expect|zip|phar|glob)(?::|%3a)|"
    r"compress\.|0x2e|\.env|\.git/|\.aws/|\.svn/|\.ds_store|\.htpasswd|w00tw00t|trinity|eval-stdin|server-status|"
    r"inetpub|system32|windows/|\b[a-z]:(?:/|\\|%2f|%5c)+(?:boot|windows|winnt|inetpub|system32)"
)
_CMD_WORDS = (
    r"(?:/|%2f)(?:usr(?:/|%2f))?s?bin(?:/|%2f)|cmd(?:\.exe)?(?:\+|%20|\s)*(?:/|%2f)[ck]|powershell|\$ifs|%24ifs|\{ifs|"
    r"ping(?:\+|%20|\s)+-|ping\.exe|(?:^|[\s+=&\"]|%20)if(?:\s|\+|%20|/|%2f)|alias(?:\s|\+|%20)|"
    r"(?:/|%2f)(?:\?|%3f){2}|dir(?:\+|%20|%2b|\s)+(?:/[a-z](?:\+|%20|%2b|\s)+)?[a-z](?::|%3a)|\(\)|"
    r"%26(?:\+|%20|%09|%0a)*(?:/|%2f)?(?:id|whoami|uname|ls|cat|ping|wget|curl|nc|bash|sh|cmd|powershell|dir|type|echo|"
    r"sleep|rm|perl|python|php)(?:\+|%20|%09|%3b|%7c|%26|-|$)"
)

_SP1 = r"(?:\s|\+|%20)"
# a command name where a value starts (WH-SHELL-*: "ls -la", "time sh -c id", "/bin/cat ~/.ssh/id_rsa"),
# after a single "&" in a body or header, or after a separator in a user agent; the names are the
# shell rules' own lists, with their spaces written as the raw forms a space takes
_BIN = r"(?:(?:/|%2f)?(?:usr(?:/|%2f))?(?:local(?:/|%2f))?s?bin(?:/|%2f))?"
_COMMAND = (
    _BIN + r"(?:command|" + COMMON_COMMANDS.replace(r"\s", _SP1) + "|" + DISTINCT_TOOLS.replace(r"\s", _SP1) + ")"
)
_COMMAND_ARGUMENT = r"(?:-|%2d|/|%2f|~|%7e|\.|\$|[a-z]{1,8}(?:=|%3d)|[a-z0-9_.-]{1,60}\.[a-z]{2,4}\b)"
#: where a value starts in a column: its beginning, a parameter's "=", a JSON string's quote
_VALUE_START = r"(?:^|[=\"]|\\\")" + _SP1 + r"?(?:['\"]|%2[27])?"
_QUOTE = r"(?:['\"]|%2[27])?"


def _whole_command(names: str) -> str:
    """A value that starts with one of ``names`` and ends there or goes on with a space or separator."""
    return _VALUE_START + names + _QUOTE + r"(?:\s|\+|%20|$|[;|&`'\"])"


_SHELL_WORDS = (
    r"(?:^|[=&\"]|\\\"|%26)"
    + _SP1
    + "?"
    + _QUOTE
    + _COMMAND
    + _QUOTE
    + _SP1
    + r"{1,5}"
    + _QUOTE
    + r"(?:"
    + _COMMAND
    + "|"
    + _COMMAND_ARGUMENT
    + ")|"
    + _whole_command(_BIN + DISTINCT_TOOLS.replace(r"\s", _SP1))
)
_SQ = r"(?:['\"]|%2[27])?"
#: value shapes of rules anchored to a whole value (``^...$``): a bare comparison or dangling operator
#: (WH-SQLI-029/035/041), a php.ini directive (WH-PHP-012), a session file (WH-PHP-013), an ORM lookup
#: (WH-SQLI-039/040), a URL with credentials or a port (WH-RFI-003/004), system files and dumps
#: (WH-PATH-008/009), DDL and driver names (WH-SQLI-036/037/042), shell variables and dot-commands
#: (WH-CMDI-018/021/022); ``<SP>`` stands for any raw form of a space, ``<Q>`` for an optional quote
_VALUE_SHAPES = (
    (
        r"(?:^|=|\")<SP>?(?:~|%7e)(?:[+-]|%2b|%2d|[0-9])|(?:^|=|\")<SP>?<Q>-?[0-9]{1,10}<Q><SP>?(?:=|%3d|!|"
        r"%21|<|>|%3c|%3e|<SP>(?:like|is|not)<SP>)|(?:,|%2c)<SP>?[0-9]{1,10}<SP>?(?:=|%3d)|(?:^|=|"
        r"\")<Q><SP>?(?:or|xor|and)<SP>(?:['\"]|%2[27]|[0-9])|(?:<SP>|/|%2f)<SP>?(?:or|and|xor)<SP>?(?:\(|"
        r"%28)?<SP>?(?:&|$|\")|set<SP>(?:@|%40)|(?:^|=|\")<SP>?(?:--|%2d%2d)<SP>?(?:alter|drop|select|insert|"
        r"update|delete|create)|[0-9](?:or|and|xor)[0-9]|when<SP>[0-9]{1,10}<SP>then|case<SP>when|[0-9]\.e\.|"
        r"(?:^|=|\")<SP>?drop<SP>|or<SP>[0-9]{1,10}<SP>?#|or<SP>?(?:--|%2d%2d)|(?:^|=|\")<SP>?(?:opcache|"
        r"session|mbstring|zend|pcre|mysqli|pdo_mysql|xdebug|apc|assert|phar|suhosin|zlib|date|mail|soap|curl|"
        r"openssl|realpath_cache|user_ini)(?:\.|%2e)|(?:^|=|\")<SP>?(?:engine|extension|extension_dir|"
        r"zend_extension|precision|smtp|smtp_port|sendmail_path|unserialize_max_depth|memory_limit|"
        r"max_execution_time|allow_url_fopen|allow_url_include|auto_prepend_file|auto_append_file|"
        r"disable_functions|disable_classes|open_basedir|display_errors|error_log|include_path|upload_tmp_dir|"
        r"short_open_tag|register_globals|safe_mode)<SP>?(?:=|%3d)|sess_(?:[a-z0-9,-]|%2c){16}|(?:/|"
        r"%2f)(?:tcp|udp)(?:/|%2f)|\.ssh(?:/|%2f)|sys(?:/|%2f)(?:class|kernel|devices|firmware)|proc(?:/|%2f)|"
        r"\.(?:docker|kube|gnupg)(?:/|%2f)|(?:^|=|\")<SP>?(?:xor|rlike|regexp|not<SP>?(?:regexp|null)|"
        r"is<SP>(?:not<SP>)?null|like<SP>null|(?:!|%21|=|%3d)(?:=|%3d)|having<SP>[0-9]|execute<SP>[a-z_]|"
        r"(?:order|group)<SP>by)|(?:^|=|\")<SP>?url(?::|%3a)|local_file(?::|%3a)|(?:https?|ftps?)(?::|"
        r"%3a)(?:/|%2f){2}[^/?#\s&]{0,300}(?:@|%40)|(?:^|=|\")<SP>?(?:ftps?(?::|%3a)(?:/|%2f){2}|https?(?::|"
        r"%3a)(?:/|%2f){2}[^/?#\s:&]{1,300}(?::|%3a)[0-9]{2}|(?:https?|ftps?|file)(?:\?|%3f))|(?:/|"
        r"%2f)(?:https?|ftps?)(?::|%3a)(?:/|%2f){2}|/\*\s?(?:\+|%2b)|4294967296|9223372036854775808|"
        r"2\.2250738585072011e|1\.7976931348623157e|varchar|nchar|sysname|\.sql\.|wp-content(?:/|%2f)(?:debug|"
        r"error)|\.history|_history|__(?:i?startswith|i?endswith|i?contains|i?exact|i?regex|search|isnull|"
        r"gte?|lte?|in|range|has_keys?|has_any_keys|contained_by|overlap)(?:&|$|\"|=|%3d)|"
        r"create<SP>(?:temporary<SP>)?(?:table|database|schema|index|view|function|procedure|trigger|user)|"
        r"alter<SP>table|declare<SP>*(?:@|%40)|execute<SP>immediate|exec<SP>master|having<SP>[0-9]|"
        r"\$[@*!?_$#-]|[a-z]\$[a-z]{1,2}(?:\s|\+|/|%20|%2f)|(?:!|%21)entity|"
        r";<SP>*(?:\\n)?<SP>*<Q><SP>*\.<SP>?\\?<Q><SP>?(?:shell|system|sh|databases|tables|schema|import|"
        r"output|once|load|dump|read)|utl_|msdasql|sqloledb|lo_(?:get|import|export|open|creat|unlink|"
        r"from_bytea|put)|from<SP>[a-z0-9_.`\[\]%]{1,64}<SP>(?:where|group|order|limit)"
    )
    .replace("<SP>", _SP1)
    .replace("<Q>", _SQ)
)
# keywords of the code-injection, SSRF, protocol and vulnerable-path rules that need no breakout character
_CODE_WORDS = (
    r"\[php\]|auto_(?:pre|ap)pend_file|allow_url_|disable_functions|open_basedir|safe_mode|suhosin|"
    r"java\.|javax\.|org\.(?:apache|springframework|codehaus|omg|mozilla|hibernate)|com\.sun|sun\.misc|processbuilder|"
    r"getruntime|scriptenginemanager|urlclassloader|getdeclaredmethod|defineclass|newinstance|transformer|closure|"
    r"factory|templatesimpl|annotationinvocationhandler|lazymap|transformedmap|ro0ab|ks7qa|kztaa|cs7qa|aced0005|"
    r"__proto__|constructor|class\.module|_memberaccess|localhost|127\.0|0\.0\.0\.0|0x7f|0177\.|2130706433|"
    r"017700000001|169\.254|metadata|100\.100\.100\.200|instance-data|localtest|nip\.io|sslip\.io|docker\.internal|"
    r"containers\.internal|lvh\.me|ssh2\.|(?:https?|ftps?|local_file)(?::|%3a)(?:/|%2f){0,2}(?:[0-9]|\[|%5b)|"
    r"kubernetes\.default|ip6-l|ipv6-l|(?:/|%2f){2}\d{8}|(?:gopher|dict|ldaps?|tftp|sftp|acap|jar|netdoc|rmi|iiop|imaps?|"
    r"pop3s?|smtps?|telnet|redis|mysql|postgres|mongodb|memcache|ogg|ssh2|rtsp|fcgi)(?::|%3a)|%26[^&\s]{0,60}(?:@|%40)|"
    r"(?:\+|%20)(?:@|%40)|\[|%5b|(?:https?|ftps?)(?::|%3a)(?:/|%2f){2}\d{1,3}\.|%3f(?:%3f)*(?:&|$|\s)|"
    r"actuator/|/\.(?:codex|claude|aider|kiro|cursor|continue|windsurf|copilot|roo|zed|cline|rovodev|opencode|a0proj|"
    r"plandex|fabric|n8n|junie|gemini|qodo|augment|tabnine|codeium|amazonq|goose|aiignore)|_ignition|solr/admin|hnap1|boaform|"
    r"goform|manager/html|jmx-console|invoker/|webtools/control|owa/auth|autodiscover|mifs/|fgt_lang|cgi-bin/|"
    r"\bif(?:\+|%20|\s)+(?:not(?:\+|%20|\s)+)?(?:exist|defined|errorlevel|cmdextversion)|invoke-|start-process|"
    r"new-object|downloadstring|downloadfile|get-(?:content|childitem|process|wmiobject)|set-executionpolicy|"
    r"add-mppreference|frombase64string|%2a|:\(\)|xp_|sp_(?:executesql|oacreate|configure|password)|schema_name|"
    r"table_schema|outfile|dumpfile|load(?:\+|%20|\s)data|set(?:\+|%20|\s)names|character(?:\+|%20|\s)set|openrowset|"
    r"opendatasource|::|->|@>|%3a%3a|%40%3e|opensymphony|module\.exports|__js_function|(?::|%3a)(?:/|%2f){2}0|"
    + base64_symptom()
)
# NoSQL operators as a bare value or JSON key (WH-SQLI-027): ``filter=$ne``, a header holding
# ``{"$where": ...}``. The bracketed form (``u[$ne]=``) already shows ``[``; the bare one has no
# breakout character, and without its own symptom it passed only when a neighbouring value
# happened to be flagged across the scanner's value separator.
_NOSQL_WORDS = r"\$(?:ne|nin|regex|where|exists|not|nor|elemmatch|text|expr)\b"
# symptoms only the paranoia 3-4 rules need: whole-value commands and URLs, bare operators, base64 tokens
_PARANOID_WORDS = (
    r"(?:^|=|\")(?:url:)?(?:https?|ftps?|file|ldap)(?::|%3a)|(?:^|=|\")(?:get|post|put|delete|patch|head|options|trace|"
    r"connect|propfind|proppatch|mkcol|copy|move|lock|unlock)(?:&|$)|(?:^|=|\")(?:\s|\+|%20)?(?:time(?:\+|%20|\s))?(?:ansible|chef-|cscli|"
    r"zstdcat|busybox|python|perl|ruby|(?:ll|sh|bash|nc|ncat|wget|curl|cat|ls|id|whoami|uname|chmod|rm|set|trap|"
    r"history)(?:\+|%20|\s|&|$|\"))|(?:^|=|\+|%20|\s)(?:and|or|xor)(?:\+|%20|%09|\s|\(|$)|select|from|execute|union|[a-z0-9+/_-]{12,}|##|\\\"|"
    r"[~!@#$%^&*()=+{}\[\]|:;\"'`<>\\-][^~!@#$%^&*()=+{}\[\]|:;\"'`<>\\-]{0,20}[~!@#$%^&*()=+{}\[\]|:;\"'`<>\\-]|"
    + _whole_command(_COMMAND)
)

#: raw request targets: URL, body, referrer
URL_PATTERN = "(?i)" + "|".join(
    (
        _RAW,
        _ENCODED,
        _COMPATIBLE,
        _SQL_WORDS,
        _XSS_WORDS,
        _PATH_WORDS,
        _CMD_WORDS,
        _SHELL_WORDS,
        _VALUE_SHAPES,
        _CODE_WORDS,
        _NOSQL_WORDS,
    )
)
#: user agents: tool names plus the few payload markers rules look for in agents
AGENT_PATTERN = (
    "(?i)"
    + r"(?:^|[^a-z0-9-])(?:"
    + "|".join(a.replace("-", r"\-") for a in SCANNER_AGENTS)
    + r")(?:[^a-z0-9-]|$)|"
    + "|".join(
        (
            r"['\"<>`\\|{}]|\$[({\[]|\(\s*\)|%[0-9a-f]{2}|&#|&[a-z]{2,8};|\.\.|;\s?(?:[a-z]{1,20}\s?(?:;|-[a-z]|$))|\r",
            _COMPATIBLE,
            r"&&|(?:;|&&)\s?['\"]?" + _COMMAND + r"['\"]?(?:\s|$)",
            _SHELL_WORDS,
            _VALUE_SHAPES,
            _SQL_WORDS,
            _XSS_WORDS,
            _PATH_WORDS,
            _CMD_WORDS,
            _CODE_WORDS,
        )
    )
)
#: headers are JSON text, whose own quotes and backslashes must not count; control characters
#: show as ``\r`` escapes in the column but as themselves in a header value the matcher inspects
HEADER_PATTERN = "(?i)" + "|".join(
    (
        _COMPATIBLE,
        r"['<>`|^\r\n]|&&|\$[({\[]|\{\{|#\{|%\{|@\{|\(|&#|&[a-z]{2,8};|\\\\|\\u|\\r|\\n|\.\.|%[0-9a-f]{2}|"
        r";\s?[a-z][a-z-]{0,15}(?:\s|\"|$)|\.(?:php\d?|phtml|phps|phar|pht|jsp|jspx|asp|aspx|cer|asa|shtml|cgi|pl)\.?(?:\"|$)",
        _SQL_WORDS,
        _XSS_WORDS,
        _PATH_WORDS,
        _CMD_WORDS,
        _SHELL_WORDS,
        _VALUE_SHAPES,
        _CODE_WORDS,
        _NOSQL_WORDS,
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


#: from this paranoia level on, the broad rules' symptoms join every pattern
PARANOID_FROM = 3


def column_patterns(paranoia: int = 1) -> dict[str, str]:
    """The per-column patterns for a paranoia level: levels 3-4 add the paranoid rules' symptoms.

    Why per level: the broad rules' symptoms (any 12-character token for base64, a bare "or")
    would let most ordinary rows through, costing throughput at the levels that do not run them.
    """
    if paranoia < PARANOID_FROM:
        return dict(COLUMN_PATTERNS)
    return {column: f"{pattern}|{_PARANOID_WORDS}" for column, pattern in COLUMN_PATTERNS.items()}


def part_symptoms(paranoia: int = 1) -> dict[Target, str]:
    """The same patterns per request part (a value inside a column).

    A value that shows no symptom cannot match a rule for the same reason a row cannot, so the
    exact matcher skips clean parameters of a candidate row (``page=2`` beside ``q=o'brien``).
    """
    patterns = column_patterns(paranoia)
    url, agent, headers = patterns[URL], patterns[AGENT], patterns[HEADERS]
    return {
        Target.QUERY: url,
        Target.PATH: url,
        Target.BODY: url,
        Target.REFERRER: url,
        Target.USER_AGENT: agent,
        Target.HEADERS: headers,
    }


def column_flags(
    frame: pl.DataFrame,
    engine: EngineName | str = EngineName.AUTO,
    paranoia: int = 1,
    also: Sequence[tuple[str, str, str]] = (),
) -> pl.DataFrame:
    """One boolean column per inspected column (True: worth decoding), plus ``_any``.

    Per-column flags let the exact matcher skip the parts of a candidate row that showed no
    symptom (a row flagged for its query string need not have its user agent decoded). All-null
    columns cost nothing: they are skipped.

    ``also`` holds ``(name, column, pattern)`` of another stage's symptoms (the request policy's):
    each comes back as the flag column ``name``, found in the same scan as the prefilter's own
    pattern for that column, so a column two stages ask about is scanned once. ``_any`` stays the
    prefilter's alone.
    """
    chosen = resolve_engine(engine)
    columns: list[pl.Series] = []
    for column, patterns, outputs in _scans(paranoia, also):
        found = column_scanner(patterns[0], chosen, *patterns[1:]).each(frame[column])
        columns += [found[index].alias(name) for name, index in outputs]
    flags = pl.DataFrame(columns)
    return flags.with_columns(pl.any_horizontal(list(COLUMN_PATTERNS)).alias(ANY))


def prepare(
    engine: EngineName | str = EngineName.AUTO, paranoia: int = 1, also: Sequence[tuple[str, str, str]] = ()
) -> None:
    """Build or load every scanner :func:`column_flags` will use with these arguments.

    Why: a detector is ready when constructed, like its matcher, so a pattern the engine rejects
    fails at start-up, and the first batch does not pay the databases' loading (60 ms).
    """
    chosen = resolve_engine(engine)
    for _, patterns, _ in _scans(paranoia, also):
        column_scanner(patterns[0], chosen, *patterns[1:])


def _scans(
    paranoia: int, also: Sequence[tuple[str, str, str]]
) -> list[tuple[str, tuple[str, ...], tuple[tuple[str, int], ...]]]:
    """``(column, patterns, outputs)`` per column scan: the prefilter's pattern first, then other
    stages' patterns; ``outputs`` names the flag columns wanted, each with its pattern's index (the
    prefilter's named after its column). Columns the prefilter reads with the same pattern (the
    URL's is the body's and the referrer's) scan the other stages' patterns of all of them, so
    they share one database: the prefilter's pattern is the large one, and compiling it once per
    column, joined with a different small pattern each time, cost ten CPU seconds on every
    machine with an empty cache. Other stages' columns the prefilter does not read come last."""
    extra: dict[str, list[tuple[str, str]]] = {}
    for name, column, pattern in also:
        extra.setdefault(column, []).append((name, pattern))
    patterns = column_patterns(paranoia)
    riders: dict[str, list[str]] = {}  # per prefilter pattern, the other patterns of its columns
    for column, pattern in patterns.items():
        for _, theirs in extra.get(column, []):
            if theirs not in riders.setdefault(pattern, []):
                riders[pattern].append(theirs)
    scans = []
    for column, pattern in patterns.items():
        joined = (pattern, *riders.get(pattern, []))
        outputs = ((column, 0), *((name, joined.index(theirs)) for name, theirs in extra.pop(column, [])))
        scans.append((column, joined, outputs))
    for column, theirs_all in extra.items():  # a column the prefilter itself does not read
        joined = tuple(dict.fromkeys(p for _, p in theirs_all))
        scans.append((column, joined, tuple((name, joined.index(p)) for name, p in theirs_all)))
    return scans


def candidate_mask(frame: pl.DataFrame) -> pl.Series:
    """True for rows worth decoding in any column."""
    return column_flags(frame)[ANY]
