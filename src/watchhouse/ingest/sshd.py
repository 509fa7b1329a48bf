"""sshd message rules: which syslog lines are authentication events, and what they say.

Rules are tried in order and the first match wins; each regex names the groups it provides
(``user``, ``ip``, ``method``, ``invalid``). Each line is matched by ``contains`` on all rules
(cheap: every rule starts with a literal), then captured once, by its own rule only.
"""

from __future__ import annotations

from dataclasses import dataclass

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
# Lines that _REPEATED or PREFIX can change: anything else is classified as it stands.
_REWRITTEN = r"^(?:message repeated |\[ID |error: |fatal: )"


@dataclass(frozen=True)
class Rule:
    action: str  # event.action; "{method}" means the captured method, "invalid_user" when flagged
    outcome: str
    reason: str
    pattern: str
    user: str | None = None  # a fixed user name when the message implies one


RULES: tuple[Rule, ...] = (
    Rule(
        "{method}",
        "failure",
        "failed {method}",
        r"^Failed (?P<method>\S+) for (?P<invalid>(?:invalid|illegal) user )?(?P<user>.*?) from (?P<ip>\S+)" + _TAIL,
    ),
    Rule(
        "{method}",
        "success",
        "accepted {method}",
        r"^Accepted (?P<method>\S+) for (?P<user>.*?) from (?P<ip>\S+)" + _TAIL,
    ),
    Rule(
        "invalid_user",
        "failure",
        "invalid user",
        r"^(?:Invalid|Illegal) user (?P<user>.*?) from (?P<ip>\S+?)" + _PORT + r"(?: \[preauth\])?$",
    ),
    Rule(
        "password",
        "failure",
        "pam authentication failure",
        # sshd hands PAM the attempted name as ruser; user= appears only when the account exists
        r"^pam_unix\(sshd:auth\): authentication failure;(?:.*? ruser=(?P<ruser>\S*))?.*? rhost=(?P<ip>\S*)"
        r"(?:\s+user=(?P<user>\S*))?",
    ),
    Rule(
        "password",
        "failure",
        "pam authentication failure",
        r"(?i)^PAM: authentication (?:failure|error) for (?:illegal user )?(?P<user>.*?) from (?P<ip>\S+)",
    ),
    Rule(
        "invalid_user",
        "failure",
        "pam: user not known",
        r"^PAM: User not known to the underlying authentication module for (?:illegal|invalid) user "
        r"(?P<user>.*?) from (?P<ip>\S+)",
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "disconnected during authentication",
        r"^(?:Connection closed by|Connection reset by|Disconnected from|Disconnecting) (?:authenticating|invalid) "
        r"user (?P<user>.*) (?P<ip>\S+) port [0-9]+",
    ),
    Rule(
        "max_attempts",
        "failure",
        "maximum authentication attempts exceeded",
        r"^maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?) from (?P<ip>\S+)",
    ),
    Rule(
        "max_attempts",
        "failure",
        "too many authentication failures",
        r"^Disconnecting: Too many authentication failures(?: for (?:invalid user )?(?P<user>\S+))?",
    ),
    Rule("not_allowed", "failure", "user not allowed", r"^User (?P<user>.*?) from (?P<ip>\S+) not allowed because"),
    Rule("root_refused", "failure", "root login refused", r"^ROOT LOGIN REFUSED FROM (?P<ip>\S+)", user="root"),
    Rule("refused_connect", "failure", "connection refused", r"^refused connect from \S+ \((?P<ip>[^)]+)\)"),
    Rule(
        "preauth_disconnect",
        "failure",
        "disconnected before authentication",
        r"^Received disconnect from (?P<ip>\S+?)" + _PORT + r": ?[0-9]+: "
        r"(?:.*\[preauth\]|.*Auth fail.*|.*authentication methods.*)$",
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "disconnected before authentication",
        r"^(?:Connection (?:closed|reset) by|Disconnected from) (?P<ip>\S+)" + _PORT + r"(?: \[preauth\])?$",
    ),
    Rule("no_ident", "failure", "no identification string", r"^Did not receive identification string from (?P<ip>\S+)"),
    Rule(
        "bad_protocol",
        "failure",
        "bad protocol version",
        r"^Bad protocol version identification .* from (?P<ip>\S+?)" + _PORT + "$",
    ),
    Rule("negotiation", "failure", "key exchange negotiation failed", r"^Unable to negotiate with (?P<ip>\S+) port"),
    Rule("banner", "failure", "invalid banner", r"^banner exchange: Connection from (?P<ip>\S+) port [0-9]+: invalid"),
    # The rules below name no address: sshd logs it on an earlier line of the same connection
    # (same host and pid), and :class:`Connections` fills it in from there.
    Rule(
        "no_ident",
        "failure",
        "key exchange identification failed",
        r"^kex_exchange_identification: (?:client sent invalid protocol identifier|Connection closed by remote host"
        r"|read: Connection reset by peer|banner line too long)",
    ),
    Rule(
        "preauth_disconnect",
        "failure",
        "connection reset before authentication",
        r"^Read from socket failed: Connection reset by peer \[preauth\]$",
    ),
    Rule(
        "negotiation",
        "failure",
        "key exchange negotiation failed",
        r"^(?:Unable to negotiate a key exchange method|no matching (?:mac|cipher|key exchange method) found)"
        r".*\[preauth\]$",
    ),
)

#: sshd lines that open a connection: not auth events, but they name the address of the pid
_OPENERS = r"^Connection from (?P<a>\S+) port [0-9]+(?: on .*)?$|^SSH: Server;Ltype: \w+;Remote: (?P<b>[^;]+)-[0-9]+;"
#: an "Accepted" line whose connection failed for other accounts first (see :class:`Connections`)
SWITCHED_REASON = "accepted after failures for other accounts on the same connection"


def _group(pattern: str, name: str) -> bool:
    return f"(?P<{name}>" in pattern


def classify(frame: pl.DataFrame) -> pl.DataFrame:
    """Auth fields for the sshd rows of ``frame`` (columns ``_row`` and ``message``).

    Returns one row per matching line: ``_row`` plus user.name, source.ip, event.outcome,
    event.action and event.reason. Lines no rule matches are simply absent (they stay host events).
    """
    # syslog's "message repeated 5 times: [ Failed password ...]" carries one event (the count is
    # not expanded: the host event stream keeps the original text). Both rewrites only touch lines
    # starting with their literal, so a chunk without any skips them.
    messages = frame.get_column("message")
    if messages.str.contains(_REWRITTEN).any():
        text = pl.col("message").str.replace(_REPEATED, "$1").str.replace(PREFIX, "")
    else:
        text = pl.col("message")
    which = pl.lit(None, dtype=pl.Int32)
    for index in reversed(range(len(RULES))):
        which = (
            pl.when(pl.col("_text").str.contains(RULES[index].pattern)).then(pl.lit(index, pl.Int32)).otherwise(which)
        )
    tagged = frame.select("_row", text.alias("_text")).with_columns(which.alias("_rule")).drop_nulls("_rule")
    parts: list[pl.DataFrame] = []
    for (index,), part in tagged.partition_by("_rule", as_dict=True).items():
        rule = RULES[int(str(index))]
        # capture once per rule, then read the groups as columns
        groups = part.select("_row", pl.col("_text").str.extract_groups(rule.pattern).alias("_g")).unnest("_g")
        user = pl.col("user") if _group(rule.pattern, "user") else pl.lit(rule.user, pl.String)
        if _group(rule.pattern, "ruser"):
            user = pl.coalesce(_blank_null(user), _blank_null(pl.col("ruser")))
        ip = pl.col("ip") if _group(rule.pattern, "ip") else pl.lit(None, pl.String)
        method = pl.col("method") if _group(rule.pattern, "method") else pl.lit("", pl.String)
        action: pl.Expr = method if rule.action == "{method}" else pl.lit(rule.action)
        if _group(rule.pattern, "invalid"):
            action = pl.when(pl.col("invalid").is_not_null()).then(pl.lit("invalid_user")).otherwise(action)
        reason = pl.lit(rule.reason)
        if "{method}" in rule.reason:
            reason = pl.concat_str([pl.lit(rule.reason.replace("{method}", "")), method])
        parts.append(
            groups.select(
                pl.col("_row"),
                user.alias("user.name"),
                _clean_ip(ip).alias("source.ip"),
                pl.lit(rule.outcome).alias("event.outcome"),
                action.alias("event.action"),
                reason.alias("event.reason"),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "_row": pl.Int64,
                "user.name": pl.String,
                "source.ip": pl.String,
                "event.outcome": pl.String,
                "event.action": pl.String,
                "event.reason": pl.String,
            }
        )
    return pl.concat(parts).sort("_row")


def _blank_null(value: pl.Expr) -> pl.Expr:
    return pl.when(value == "").then(None).otherwise(value)


def _clean_ip(ip: pl.Expr) -> pl.Expr:
    """IPv4-mapped IPv6 ("::ffff:1.2.3.4") names the IPv4 host; an empty rhost= means unknown."""
    cleaned = ip.str.replace(r"^::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$", "$1")
    return pl.when(cleaned == "").then(None).otherwise(cleaned)


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
        same connection and switched-account successes marked."""
        if sshd.height == 0:
            return auth
        conn = pl.when(pl.col("process.pid").is_not_null()).then(
            pl.struct(pl.col("host.name").fill_null(""), "process.pid").hash(seed=0x55D)
        )
        rows = sshd.select("_row", _conn=conn, _ts=pl.col(TIMESTAMP_FIELD).dt.epoch("us"))
        rows = rows.filter(pl.col("_conn").is_not_null())
        message = sshd.get_column("message")
        openers = sshd.filter(message.str.starts_with("Connection from ") | message.str.starts_with("SSH: Server;"))
        opened = (
            openers.select("_row", _g=pl.col("message").str.extract_groups(_OPENERS))
            .unnest("_g")
            .select("_row", _ip=pl.coalesce("a", "b"))
            .drop_nulls("_ip")
        )
        named = auth.select("_row", _ip=pl.col("source.ip")).drop_nulls("_ip")
        known = pl.concat([opened, named]).join(rows, on="_row").select(*_CONN_SCHEMA, "_row").sort("_row")
        auth = self._fill_addresses(auth, rows, known)
        auth = self._mark_switches(auth, rows)
        self.addresses = self._keep(pl.concat([self.addresses, known.drop("_row")]))
        return auth

    def _fill_addresses(self, auth: pl.DataFrame, rows: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
        """Addressless auth rows take the latest address their connection named before them."""
        missing = auth.filter(pl.col("source.ip").is_null()).select("_row").join(rows, on="_row")
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

    def _mark_switches(self, auth: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
        """Mark successes whose connection failed for other accounts first; remember this chunk's failures."""
        user = pl.when(pl.col("user.name").is_not_null()).then(pl.col("user.name").hash(seed=0x55D))
        keyed = auth.select("_row", "event.outcome", _u=user).join(rows, on="_row")
        failures = keyed.filter((pl.col("event.outcome") == "failure") & pl.col("_u").is_not_null())
        successes = keyed.filter(pl.col("event.outcome") == "success")
        if successes.height:
            earlier = pl.concat(
                [
                    self.failed.with_columns(_frow=pl.lit(-1, pl.Int64)),
                    failures.select("_conn", "_ts", _user=pl.col("_u"), _frow=pl.col("_row")),
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
        frame = frame.unique(by or ["_conn"], keep="last", maintain_order=True)
        return frame.tail(self.capacity) if frame.height > self.capacity else frame
