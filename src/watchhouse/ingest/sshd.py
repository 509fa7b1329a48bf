"""sshd message rules: which syslog lines are authentication events, and what they say.

Rules are tried in order and the first match wins; each regex names the groups it provides
(``user``, ``ip``, ``method``, ``invalid``). Each line is matched by ``contains`` on all rules
(cheap: every rule starts with a literal), then captured once, by its own rule only.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

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
        r"^pam_unix\(sshd:auth\): authentication failure;.*? rhost=(?P<ip>\S*)(?:\s+user=(?P<user>\S*))?",
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
)


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


def _clean_ip(ip: pl.Expr) -> pl.Expr:
    """IPv4-mapped IPv6 ("::ffff:1.2.3.4") names the IPv4 host; an empty rhost= means unknown."""
    cleaned = ip.str.replace(r"^::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$", "$1")
    return pl.when(cleaned == "").then(None).otherwise(cleaned)
