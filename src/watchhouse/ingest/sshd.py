"""sshd message rules: which syslog lines are authentication events, and what they say.

Rules are tried in order and the first match wins; each regex names the groups it provides
(``user``, ``ip``, ``method``, ``invalid``). Matching is vectorised over a chunk's sshd lines,
and arranged so that a line costs about one regex run instead of one per rule:

* each rule names the literal text a matching message starts with (``starts``), so a line is
  only tried against the few rules its first characters allow, decided once per distinct head;
* the busiest rules carry ``fast`` patterns: stricter, capture-cheap versions (space-free tokens,
  the exact tail sshd writes) whose groups equal the rule's on every line both match. A line a
  fast pattern takes needs no other regex; any other line goes through the rule's own pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from watchhouse.core.events import TIMESTAMP_FIELD

SSHD_PROGRAMS = ("sshd", "sshd-session")
# Solaris "[ID 800047 auth.info]" tags and "error: "/"fatal: " prefixes carry no meaning here.
PREFIX = r"^(?:\[ID [0-9]+ [\w.]+\] )?(?:(?:error|fatal): )?"
_PORT = r"(?: port [0-9]+)?"
# sshd ends "Failed/Accepted ... from IP port N ssh2" with nothing or ": <key info>". Requiring that
# tail makes a user name stuffed with "from 10.0.0.1 port 1 ssh2" fail to spoof the source address.
_TAIL = _PORT + r"(?: ssh[12])?(?:: .*)?$"
_REPEATED = r"^message repeated [0-9]+ times: \[ ?(.*)\]$"
# The optional " port N" and " [preauth]" tails as one group whose branches differ at their first
# character after the space: the same texts as _PORT + "(?: \[preauth\])?", but a regex engine can
# then capture in one pass without backtracking over which optional part a space begins (the fast
# patterns below that end so run ~40% faster).
_PORT_PREAUTH = r"(?: (?:port [0-9]+(?: \[preauth\])?|\[preauth\]))?"
# Lines that _REPEATED or PREFIX can change start with one of these: anything else is classified as it stands.
_REWRITTEN = ("message repeated ", "[ID ", "error: ", "fatal: ")


@dataclass(frozen=True)
class Rule:
    action: str  # event.action; "{method}" means the captured method, "invalid_user" when flagged
    outcome: str
    reason: str
    pattern: str
    #: literal text every message the pattern matches begins with (one of them); compared
    #: case-insensitively when the pattern starts with "(?i)"
    starts: tuple[str, ...]
    user: str | None = None  # a fixed user name when the message implies one
    #: stricter patterns, each a subset of ``pattern`` that always captures ``ip`` and, on every
    #: message it matches, captures what ``pattern`` captures (see the rules for why each holds)
    fast: tuple[str, ...] = ()


_NS = r"[^\s]"  # one space-free token character: the regex's \S, spelled so the tokens read as such
_CLOSED = ("Connection closed by ", "Connection reset by ", "Disconnected from ")

RULES: tuple[Rule, ...] = (
    Rule(
        "{method}",
        "failure",
        "failed {method}",
        r"^Failed (?P<method>\S+) for (?P<invalid>(?:invalid|illegal) user )?(?P<user>.*?) from (?P<ip>\S+)" + _TAIL,
        ("Failed ",),
        # With single tokens between the literals the lazy user can only end at the one " from "
        # after its token, the greedy address takes its whole token, and the "invalid user " branch
        # is taken exactly when the fast pattern's own is.
        fast=(
            rf"^Failed (?P<method>{_NS}+) for (?P<invalid>i(?:nvalid|llegal) user )(?P<user>{_NS}+) "
            rf"from (?P<ip>{_NS}+) port [0-9]+ ssh[12]$",
            rf"^Failed (?P<method>{_NS}+) for (?P<user>{_NS}+) from (?P<ip>{_NS}+) port [0-9]+ ssh[12]$",
        ),
    ),
    Rule(
        "{method}",
        "success",
        "accepted {method}",
        r"^Accepted (?P<method>\S+) for (?P<user>.*?) from (?P<ip>\S+)" + _TAIL,
        ("Accepted ",),
        # as for "Failed": the first " from " after the user's token ends the user
        fast=(rf"^Accepted (?P<method>{_NS}+) for (?P<user>{_NS}+) from (?P<ip>{_NS}+) port [0-9]+ ssh[12](?:: .*)?$",),
    ),
    Rule(
        "invalid_user",
        "failure",
        "invalid user",
        r"^(?:Invalid|Illegal) user (?P<user>.*?) from (?P<ip>\S+?)" + _PORT + r"(?: \[preauth\])?$",
        ("Invalid user ", "Illegal user "),
        # The lazy address cannot stop inside its token: the rest would start with neither a space
        # nor the end of the line.
        fast=(rf"^I(?:nvalid|llegal) user (?P<user>{_NS}+) from (?P<ip>{_NS}+){_PORT_PREAUTH}$",),
    ),
    Rule(
        "password",
        "failure",
        "pam authentication failure",
        # sshd hands PAM the attempted name as ruser; user= appears only when the account exists
        r"^pam_unix\(sshd:auth\): authentication failure;(?:.*? ruser=(?P<ruser>\S*))?.*? rhost=(?P<ip>\S*)"
        r"(?:\s+user=(?P<user>\S*))?",
        ("pam_unix(sshd:auth): authentication failure;",),
        # Only the ruser token starts with "ruser=" after a space, so the lazy scan stops there;
        # each greedy \S* then takes its whole token.
        fast=(
            rf"^pam_unix\(sshd:auth\): authentication failure; logname={_NS}* uid={_NS}* euid={_NS}* tty={_NS}* "
            rf"ruser=(?P<ruser>{_NS}*) rhost=(?P<ip>{_NS}*)(?:  user=(?P<user>{_NS}*))?$",
        ),
    ),
    Rule(
        "password",
        "failure",
        "pam authentication failure",
        r"(?i)^PAM: authentication (?:failure|error) for (?:illegal user )?(?P<user>.*?) from (?P<ip>\S+)",
        ("PAM: authentication ",),
    ),
    Rule(
        "invalid_user",
        "failure",
        "pam: user not known",
        r"^PAM: User not known to the underlying authentication module for (?:illegal|invalid) user "
        r"(?P<user>.*?) from (?P<ip>\S+)",
        ("PAM: User not known to the underlying authentication module for ",),
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "disconnected during authentication",
        r"^(?:Connection closed by|Connection reset by|Disconnected from|Disconnecting) (?:authenticating|invalid) "
        r"user (?P<user>.*) (?P<ip>\S+) port [0-9]+",
        (*_CLOSED, "Disconnecting "),
        # The greedy user could only grow to end before another "<token> port <digits>", and after
        # the address the tokens are "port", the digits and at most "[preauth]".
        fast=(
            rf"^(?:Connection (?:closed|reset) by|Disconnect(?:ed from|ing)) (?:authenticating|invalid) user "
            rf"(?P<user>{_NS}+) (?P<ip>{_NS}+) port [0-9]+(?: \[preauth\])?$",
        ),
    ),
    Rule(
        "max_attempts",
        "failure",
        "maximum authentication attempts exceeded",
        r"^maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?) from (?P<ip>\S+)",
        ("maximum authentication attempts exceeded for ",),
        # the optional "invalid user " is tried first by both; the user is one token, the tail exact
        fast=(
            rf"^maximum authentication attempts exceeded for (?:invalid user )?(?P<user>{_NS}+) "
            rf"from (?P<ip>{_NS}+) port [0-9]+ ssh[12](?: \[preauth\])?$",
        ),
    ),
    Rule(
        "max_attempts",
        "failure",
        "too many authentication failures",
        r"^Disconnecting: Too many authentication failures(?: for (?:invalid user )?(?P<user>\S+))?",
        ("Disconnecting: Too many authentication failures",),
    ),
    Rule(
        "not_allowed",
        "failure",
        "user not allowed",
        r"^User (?P<user>.*?) from (?P<ip>\S+) not allowed because",
        ("User ",),
    ),
    Rule(
        "root_refused",
        "failure",
        "root login refused",
        r"^ROOT LOGIN REFUSED FROM (?P<ip>\S+)",
        ("ROOT LOGIN REFUSED FROM ",),
        user="root",
    ),
    Rule(
        "refused_connect",
        "failure",
        "connection refused",
        r"^refused connect from \S+ \((?P<ip>[^)]+)\)",
        ("refused connect from ",),
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "disconnected before authentication",
        r"^Received disconnect from (?P<ip>\S+?)" + _PORT + r": ?[0-9]+: "
        r"(?:.*\[preauth\]|.*Auth fail.*|.*authentication methods.*)$",
        ("Received disconnect from ",),
        # A lazy address of digits and dots cannot stop early: the rest would start with one.
        fast=(r"^Received disconnect from (?P<ip>[0-9.]+)" + _PORT + r": ?[0-9]+: [^\[\n]*\[preauth\]$",),
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "disconnected before authentication",
        r"^(?:Connection (?:closed|reset) by|Disconnected from) (?P<ip>\S+)" + _PORT + r"(?: \[preauth\])?$",
        _CLOSED,
        # the rule itself, but read as a fast pattern it settles a line in one regex run instead of two
        fast=(rf"^(?:Connection (?:closed|reset) by|Disconnected from) (?P<ip>{_NS}+){_PORT_PREAUTH}$",),
    ),
    Rule(
        "no_ident",
        "failure",
        "no identification string",
        r"^Did not receive identification string from (?P<ip>\S+)",
        ("Did not receive identification string from ",),
    ),
    Rule(
        "bad_protocol",
        "failure",
        "bad protocol version",
        r"^Bad protocol version identification .* from (?P<ip>\S+?)" + _PORT + "$",
        ("Bad protocol version identification ",),
    ),
    Rule(
        "negotiation",
        "failure",
        "key exchange negotiation failed",
        r"^Unable to negotiate with (?P<ip>\S+) port",
        ("Unable to negotiate with ",),
    ),
    Rule(
        "banner",
        "failure",
        "invalid banner",
        r"^banner exchange: Connection from (?P<ip>\S+) port [0-9]+: invalid",
        ("banner exchange: Connection from ",),
    ),
    # The rules below name no address: sshd logs it on an earlier line of the same connection
    # (same host and pid), and :class:`Connections` fills it in from there.
    Rule(
        "no_ident",
        "failure",
        "key exchange identification failed",
        r"^kex_exchange_identification: (?:client sent invalid protocol identifier|Connection closed by remote host"
        r"|read: Connection reset by peer|banner line too long)",
        ("kex_exchange_identification: ",),
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "connection reset before authentication",
        r"^Read from socket failed: Connection reset by peer \[preauth\]$",
        ("Read from socket failed: Connection reset by peer [preauth]",),
    ),
    Rule(
        "negotiation",
        "failure",
        "key exchange negotiation failed",
        r"^(?:Unable to negotiate a key exchange method|no matching (?:mac|cipher|key exchange method) found)"
        r".*\[preauth\]$",
        ("Unable to negotiate a key exchange method", "no matching "),
    ),
)

#: sshd lines that open a connection: not auth events, but they name the address of the pid
_OPENERS = r"^Connection from (?P<a>\S+) port [0-9]+(?: on .*)?$|^SSH: Server;Ltype: \w+;Remote: (?P<b>[^;]+)-[0-9]+;"
#: an "Accepted" line whose connection failed for other accounts first (see :class:`Connections`)
SWITCHED_REASON = "accepted after failures for other accounts on the same connection"


def _group(pattern: str, name: str) -> bool:
    return f"(?P<{name}>" in pattern


_AUTH_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "user.name": pl.String(),
    "source.ip": pl.String(),
    "event.outcome": pl.String(),
    "event.action": pl.String(),
    "event.reason": pl.String(),
}
#: characters of a message that pick its candidate rules; longer heads tell more rules apart but
#: take in more of the variable text (user names) and so make more distinct heads to look up
_HEAD_CHARS = 12


def classify(frame: pl.DataFrame) -> pl.DataFrame:
    """Auth fields for the sshd rows of ``frame`` (columns ``_row`` and ``message``).

    Returns one row per matching line: ``_row`` plus user.name, source.ip, event.outcome,
    event.action and event.reason. Lines no rule matches are simply absent (they stay host events).
    """
    # syslog's "message repeated 5 times: [ Failed password ...]" carries one event (the count is
    # not expanded: the host event stream keeps the original text). Both rewrites only touch lines
    # starting with their literal, so a chunk without any skips them; whether it has any is told
    # by the few distinct heads, not by a look at every line.
    text = pl.col("message")
    texts = frame.select("_row", text.alias("_text"), _head=text.str.slice(0, _HEAD_CHARS))
    heads = texts.get_column("_head").unique().drop_nulls().to_list()
    if any(head.startswith(tuple(start[:_HEAD_CHARS] for start in _REWRITTEN)) for head in heads):
        text = text.str.replace(_REPEATED, "$1").str.replace(PREFIX, "")
        texts = frame.select("_row", text.alias("_text"), _head=text.str.slice(0, _HEAD_CHARS))
        heads = texts.get_column("_head").unique().drop_nulls().to_list()
    groups = {head: _candidates(head) for head in heads}
    ids = {candidates: number for number, candidates in enumerate(sorted(set(groups.values()))) if candidates}
    keyed = texts.select(
        "_row",
        "_text",
        _group=pl.col("_head").replace_strict(
            {head: ids.get(candidates) for head, candidates in groups.items()}, default=None, return_dtype=pl.Int32
        ),
    ).drop_nulls("_group")
    parts: list[pl.DataFrame] = []
    for (number,), rows in keyed.partition_by("_group", as_dict=True, include_key=False).items():
        candidates = next(c for c, n in ids.items() if n == number)
        parts.extend(_match_in_order(rows, candidates))
    if not parts:
        return pl.DataFrame(schema=_AUTH_SCHEMA)
    auth = pl.concat(parts).sort("_row")
    # cleaned once for the whole chunk (not per rule): the checks are cheap, a rewrite is rare
    ip = auth.get_column("source.ip")
    cleaned = _clean_ip(ip)
    return auth if cleaned is ip else auth.with_columns(cleaned)


@lru_cache(maxsize=1 << 16)
def _candidates(head: str) -> tuple[int, ...]:
    """Indices of the rules a message starting with ``head`` may match, in rule order (the same
    heads recur in every chunk, hence the cache)."""
    found: list[int] = []
    for index, rule in enumerate(RULES):
        folded = rule.pattern.startswith("(?i)")
        key = head.casefold() if folded else head
        for start in rule.starts:
            literal = start.casefold() if folded else start
            if literal.startswith(key) or key.startswith(literal):
                found.append(index)
                break
    return tuple(found)


def _match_in_order(rows: pl.DataFrame, candidates: tuple[int, ...]) -> list[pl.DataFrame]:
    """Fields of ``rows`` (``_row``, ``_text``) for the first of ``candidates`` each matches.

    A row a rule's fast pattern takes matches that rule (fast patterns are subsets) and no earlier
    candidate (those had their turn), so it is settled without the rule's own regex.
    """
    parts: list[pl.DataFrame] = []
    for index in candidates:
        rule = RULES[index]
        for pattern in rule.fast:
            if rows.height == 0:
                return parts
            got = rows.select("_row", _g=pl.col("_text").str.extract_groups(pattern)).unnest("_g")
            ip = got.get_column("ip")
            # a group of lines of one shape is usually taken whole: then nothing is copied, and the
            # count of nulls (kept by the column, not counted) says so without a mask
            if ip.null_count() == 0:
                parts.append(_fields(rule, pattern, got))
                return parts
            if ip.null_count() < rows.height:
                taken = ip.is_not_null()
                parts.append(_fields(rule, pattern, got.filter(taken)))
                rows = rows.filter(~taken)
        if rows.height == 0:
            return parts
        hit = rows.get_column("_text").str.contains(rule.pattern)
        count = int(hit.sum())
        if count:
            hits = rows if count == rows.height else rows.filter(hit)
            got = hits.select("_row", _g=pl.col("_text").str.extract_groups(rule.pattern)).unnest("_g")
            parts.append(_fields(rule, rule.pattern, got))
            rows = rows.clear() if count == rows.height else rows.filter(~hit)
    return parts


def _fields(rule: Rule, pattern: str, groups: pl.DataFrame) -> pl.DataFrame:
    """The auth columns of ``rule`` from ``groups``, the named groups ``pattern`` captured per row."""
    user = pl.col("user") if _group(pattern, "user") else pl.lit(rule.user, pl.String)
    if _group(pattern, "ruser"):
        user = pl.coalesce(_blank_null(user), _blank_null(pl.col("ruser")))
    ip = pl.col("ip") if _group(pattern, "ip") else pl.lit(None, pl.String)
    method = pl.col("method") if _group(pattern, "method") else pl.lit("", pl.String)
    action: pl.Expr = method if rule.action == "{method}" else pl.lit(rule.action)
    if _group(pattern, "invalid"):
        action = pl.when(pl.col("invalid").is_not_null()).then(pl.lit("invalid_user")).otherwise(action)
    reason = pl.lit(rule.reason)
    if "{method}" in rule.reason:
        reason = pl.concat_str([pl.lit(rule.reason.replace("{method}", "")), method])
    return groups.select(
        pl.col("_row"),
        user.alias("user.name"),
        ip.alias("source.ip"),
        pl.lit(rule.outcome).alias("event.outcome"),
        action.alias("event.action"),
        reason.alias("event.reason"),
    )


def _blank_null(value: pl.Expr) -> pl.Expr:
    return pl.when(value == "").then(None).otherwise(value)


def _clean_ip(ip: pl.Series) -> pl.Series:
    """IPv4-mapped IPv6 ("::ffff:1.2.3.4") names the IPv4 host; an empty rhost= means unknown.

    Returns ``ip`` itself when nothing is to be cleaned."""
    if ip.str.starts_with("::ffff:").any():  # rare: spare every other chunk a regex run per row
        ip = ip.str.replace(r"^::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$", "$1")
    return ip.set(ip == "", None) if (ip == "").any() else ip


# Connections and accounts are remembered by 64-bit hashes: joins and dedups on integers cost a
# fraction of those on strings, and a collision would need two live connections to share 64 bits.
_CONN_SCHEMA: dict[str, pl.DataType] = {"_conn": pl.UInt64(), "_ts": pl.Int64(), "_ip": pl.String()}
_FAILED_SCHEMA: dict[str, pl.DataType] = {"_conn": pl.UInt64(), "_ts": pl.Int64(), "_user": pl.UInt64()}


class Connections:
    """What sshd said earlier on each connection (``host`` + ``pid``), so later lines can be read in context.

    Why: sshd names the client address once per connection ("Connection from A port P", the
    ``SSH: Server;...;Remote: A-P`` audit lines, or any failure that names it) and then logs some
    failures without it ("Disconnecting: Too many authentication failures", a reset during key
    exchange, a failed negotiation). Those are failures of that address; fail2ban's test logs
    label them so, and an address probing with key-exchange garbage should not hide behind it.

    The same memory shows a second pattern: a connection that fails for one or more accounts and
    is then *accepted* for yet another one. That is an intruder guessing user names and passwords
    in one session, and the success is the end of the guessing, not a fresh honest login; its
    ``event.reason`` says so (:data:`SWITCHED_REASON`). It stays a success: that someone got in is
    what matters most to the analyst and to the detectors' "completed" stage.

    Memory is bounded: a line is linked only to what its connection said within
    ``horizon_seconds`` (sshd's ``LoginGraceTime`` is two minutes; pids are reused later), and
    at most ``capacity`` connections are remembered, the most recently seen ones.
    """

    def __init__(self, *, horizon_seconds: int = 600, capacity: int = 100_000) -> None:
        self.horizon = horizon_seconds * 1_000_000
        self.capacity = capacity
        self.addresses = pl.DataFrame(schema=_CONN_SCHEMA)  # last known address per connection
        self.failed = pl.DataFrame(schema=_FAILED_SCHEMA)  # accounts that failed per connection

    def link(self, sshd: pl.DataFrame, auth: pl.DataFrame) -> pl.DataFrame:
        """``auth`` (the :func:`classify` output for the sshd rows ``sshd``: ``_row``, ``@timestamp``,
        ``host.name``, ``process.pid``, ``message``) with addresses filled in from earlier lines of the
        same connection and switched-account successes marked.

        Both frames are in line order and ``auth``'s rows are some of ``sshd``'s, so each auth row
        finds its connection by binary search instead of a hash join."""
        if sshd.height == 0:
            return auth
        conn = pl.when(pl.col("process.pid").is_not_null()).then(
            pl.struct(pl.col("host.name").fill_null(""), "process.pid").hash(seed=0x55D)
        )
        rows = sshd.select("_row", _conn=conn, _ts=pl.col(TIMESTAMP_FIELD).dt.epoch("us"))
        at = np.searchsorted(rows.get_column("_row").to_numpy(), auth.get_column("_row").to_numpy())
        keys = rows.select(pl.col("_conn", "_ts").gather(pl.Series(at, dtype=pl.Int64)))  # aligned with auth
        message = sshd.get_column("message")
        is_opener = message.str.starts_with("Connection from ") | message.str.starts_with("SSH: Server;")
        opened = (
            pl.concat([sshd.select("message").filter(is_opener), rows.filter(is_opener)], how="horizontal")
            .select("_conn", "_ts", "_row", _g=pl.col("message").str.extract_groups(_OPENERS))
            .unnest("_g")
            .select("_conn", "_ts", _ip=pl.coalesce("a", "b"), _row="_row")
        )
        named = pl.concat([auth.select("_row", _ip="source.ip"), keys], how="horizontal").select(*_CONN_SCHEMA, "_row")
        known = (
            pl.concat([opened, named]).filter(pl.col("_ip").is_not_null() & pl.col("_conn").is_not_null()).sort("_row")
        )
        auth = self._fill_addresses(auth, keys, known)
        auth = self._mark_switches(auth, keys)
        self.addresses = self._keep(pl.concat([self.addresses, known.drop("_row")]))
        return auth

    def _fill_addresses(self, auth: pl.DataFrame, keys: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
        """Addressless auth rows take the latest address their connection named before them."""
        missing = (
            pl.concat([auth.select("_row", "source.ip"), keys], how="horizontal")
            .filter(pl.col("source.ip").is_null() & pl.col("_conn").is_not_null())
            .select("_row", "_conn", "_ts")
        )
        if missing.height == 0:
            return auth
        seeds = self.addresses.filter(pl.col("_conn").is_in(missing["_conn"].implode())).with_columns(
            _row=pl.lit(-1, pl.Int64)
        )
        timeline = pl.concat(
            [
                seeds.select("_row", "_conn", "_ts", "_ip", _seen=pl.col("_ts")),
                known.select("_row", "_conn", "_ts", "_ip", _seen=pl.col("_ts")),
                missing.select("_row", "_conn", "_ts", _ip=pl.lit(None, pl.String), _seen=pl.lit(None, pl.Int64)),
            ]
        ).sort("_row", maintain_order=True)
        filled = timeline.with_columns(
            _ip=pl.col("_ip").forward_fill().over("_conn"), _seen=pl.col("_seen").forward_fill().over("_conn")
        ).filter(pl.col("_row").is_in(missing["_row"].implode()) & ((pl.col("_ts") - pl.col("_seen")) <= self.horizon))
        filled = filled.unique("_row", keep="last").select("_row", "_ip")
        return (
            auth.join(filled, on="_row", how="left", maintain_order="left")
            .with_columns(pl.coalesce("source.ip", "_ip").alias("source.ip"))
            .drop("_ip")
        )

    def _mark_switches(self, auth: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
        """Mark successes whose connection failed for other accounts first; remember this chunk's failures."""
        user = pl.when(pl.col("user.name").is_not_null()).then(pl.col("user.name").hash(seed=0x55D))
        keyed = pl.concat([auth.select("_row", "event.outcome", _u=user), keys], how="horizontal").filter(
            pl.col("_conn").is_not_null()
        )
        failures = keyed.filter((pl.col("event.outcome") == "failure") & pl.col("_u").is_not_null())
        successes = keyed.filter(pl.col("event.outcome") == "success")
        if successes.height:
            # the remembered failures run to 2 x capacity rows: pick the few on these connections
            # before adding a column, not after
            opened = pl.col("_conn").is_in(successes.get_column("_conn").implode())
            earlier = pl.concat(
                [
                    self.failed.filter(opened).with_columns(_frow=pl.lit(-1, pl.Int64)),
                    failures.filter(opened).select("_conn", "_ts", _user=pl.col("_u"), _frow=pl.col("_row")),
                ]
            )
            switched = (
                successes.join(earlier, on="_conn")
                .filter(
                    (pl.col("_frow") < pl.col("_row"))
                    & (pl.col("_user") != pl.col("_u"))
                    & ((pl.col("_ts") - pl.col("_ts_right")) <= self.horizon)
                )
                .get_column("_row")
                .unique()
            )
            if switched.len():
                auth = auth.with_columns(
                    pl.when(pl.col("_row").is_in(switched.implode()))
                    .then(pl.lit(SWITCHED_REASON))
                    .otherwise(pl.col("event.reason"))
                    .alias("event.reason")
                )
        if failures.height:
            new = failures.select("_conn", "_ts", _user=pl.col("_u"))
            self.failed = self._keep(pl.concat([self.failed, new]), by=["_conn", "_user"])
        return auth

    def _keep(self, frame: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
        """``frame`` (oldest rows first), compacted to the latest row per ``by`` (default: per
        connection) and at most ``capacity`` rows once it holds twice that. Readers of the memory
        take the latest row per connection anyway, so compacting lazily changes no result and
        spares a dedup of the whole memory on every chunk."""
        if frame.height <= 2 * self.capacity:
            return frame
        key = pl.col("_conn")
        for name in by or []:  # 64-bit hashes side by side: one exact 128-bit key hashes faster than a struct
            if name != "_conn":
                key = key.cast(pl.UInt128) * (1 << 64) + pl.col(name).cast(pl.UInt128)
        frame = frame.filter(key.is_last_distinct())
        return frame.tail(self.capacity) if frame.height > self.capacity else frame
