from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from tests.ingest.helpers import PSEUDO, quarantined, read_bytes

from watchhouse.core.events import Dataset
from watchhouse.ingest.sshd import SWITCHED_REASON, Connections, classify

SAMPLE = b"""Mar  1 12:00:01 web1 sshd[123]: Failed password for invalid user admin from 203.0.113.5 port 4242 ssh2
Mar  1 12:00:02 web1 sshd[123]: Failed password for root from 2001:db8::7 port 22 ssh2
Mar  1 12:00:03 web1 sshd[124]: Accepted publickey for deploy from 198.51.100.2 port 5050 ssh2: RSA SHA256:abc
Mar  1 12:00:04 web1 sshd[125]: Invalid user oracle from 203.0.113.6 port 1111
Mar  1 12:00:05 w sshd[126]: pam_unix(sshd:auth): authentication failure; tty=ssh ruser= rhost=203.0.113.7  user=root
Mar  1 12:00:06 web1 sshd[127]: Connection closed by authenticating user root 203.0.113.8 port 3333 [preauth]
Mar  1 12:00:07 w sshd[128]: error: maximum authentication attempts exceeded for root from 203.0.113.9 port 1 ssh2
Mar  1 12:00:08 web1 sshd[129]: User bob from 203.0.113.10 not allowed because not listed in AllowUsers
Mar  1 12:00:09 web1 sshd[130]: Received disconnect from 198.51.100.2 port 5050:11: disconnected by user
Mar  1 12:00:10 web1 CRON[200]: (root) CMD (run-parts /etc/cron.hourly)
Mar  1 12:00:11 web1 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls

this is not syslog
2026-03-02T00:00:01.123456+00:00 web2 sshd[9]: Failed publickey for carol from 192.0.2.44 port 9 ssh2
<38>1 2026-03-02T00:00:02-04:00 web3 sshd 57 - - Failed none for invalid user x from 192.0.2.45 port 1 ssh2
"""


def test_sshd_and_host_events(tmp_path: Path) -> None:
    out = read_bytes(tmp_path, SAMPLE, year=2026)
    assert out.reader.fmt == "syslog"
    auth = {r["log.file.line"]: r for r in out.frame(Dataset.AUTH).iter_rows(named=True)}
    host = {r["log.file.line"]: r for r in out.frame(Dataset.HOST).iter_rows(named=True)}
    assert sorted(auth) == [1, 2, 3, 4, 5, 6, 7, 8, 14, 15]
    assert sorted(host) == [9, 10, 11]
    assert (auth[1]["event.action"], auth[1]["event.outcome"], auth[1]["source.ip"]) == (
        "invalid_user",
        "failure",
        "203.0.113.5",
    )
    assert auth[1]["user.name"] == PSEUDO.pseudonym("admin") and auth[1]["process.pid"] == 123
    assert auth[1]["host.name"] == "web1" and auth[1]["service.name"] == "sshd"
    assert auth[1]["@timestamp"] == datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)
    assert (auth[2]["event.action"], auth[2]["source.ip"]) == ("password", "2001:db8::7")
    assert (auth[3]["event.outcome"], auth[3]["event.action"]) == ("success", "publickey")
    assert auth[4]["event.action"] == "invalid_user"
    assert (auth[5]["source.ip"], auth[5]["user.name"]) == ("203.0.113.7", PSEUDO.pseudonym("root"))
    assert auth[6]["event.action"] == "preauth_disconnect"
    assert auth[7]["event.action"] == "max_attempts" and auth[8]["event.action"] == "not_allowed"
    assert auth[14]["@timestamp"] == datetime(2026, 3, 2, 0, 0, 1, 123456, tzinfo=UTC)
    assert (auth[15]["host.name"], auth[15]["process.pid"], auth[15]["source.ip"]) == ("web3", 57, "192.0.2.45")
    assert auth[15]["@timestamp"] == datetime(2026, 3, 2, 4, 0, 2, tzinfo=UTC)
    assert (host[10]["process.name"], host[10]["process.pid"]) == ("CRON", 200)
    assert host[11]["process.name"] == "sudo" and host[11]["message"].startswith("alice : TTY")
    assert [e["line"] for e in quarantined(out)] == [13]
    assert out.stats.blank == 1


def test_year_rollover(tmp_path: Path) -> None:
    data = b"Dec 31 23:59:59 h cron[1]: a\nJan  1 00:00:01 h cron[1]: b\n"
    out = read_bytes(tmp_path, data, year=2025, batch_bytes=20)
    stamps = out.frame(Dataset.HOST)["@timestamp"].to_list()
    assert [s.year for s in stamps] == [2025, 2026]


def test_invalid_date_is_quarantined(tmp_path: Path) -> None:
    out = read_bytes(tmp_path, b"Feb 30 10:00:00 h cron[1]: x\nFeb 28 10:00:00 h cron[1]: y\n", fmt="syslog", year=2026)
    assert [e["reason"] for e in quarantined(out)] == ["invalid syslog timestamp"]


# One sshd connection (pid 700) names its address once, then fails without it; pid 701 is another
# client; pid 702 guesses two accounts and gets in with a third; pid 703 mistypes and gets in.
CONNECTIONS = b"""Feb 12 04:09:18 h sshd[700]: Connection from 198.51.100.7 port 51353 on 10.0.0.1 port 22
Feb 12 04:09:19 h sshd[701]: Connection from 198.51.100.8 port 4000
Feb 12 04:09:21 h sshd[700]: Disconnecting: Too many authentication failures for root [preauth]
Feb 12 04:09:22 h sshd[701]: error: kex_exchange_identification: client sent invalid protocol identifier ""
Feb 12 04:09:23 h sshd[701]: fatal: Unable to negotiate a key exchange method [preauth]
Feb 12 04:09:24 h sshd[702]: pam_unix(sshd:auth): authentication failure; uid=0 tty=ssh ruser=root rhost=203.0.113.4
Feb 12 04:09:25 h sshd[702]: Failed password for oracle from 203.0.113.4 port 5 ssh2
Feb 12 04:09:26 h sshd[702]: Accepted password for backup from 203.0.113.4 port 5 ssh2
Feb 12 04:09:27 h sshd[703]: Failed password for alice from 192.0.2.50 port 6 ssh2
Feb 12 04:09:28 h sshd[703]: Accepted password for alice from 192.0.2.50 port 6 ssh2
Feb 12 04:39:29 h sshd[700]: Disconnecting: Too many authentication failures [preauth]
Feb 12 04:39:30 x sshd[701]: fatal: Read from socket failed: Connection reset by peer [preauth]
"""


@pytest.mark.parametrize("batch_bytes", [8 << 20, 90])
def test_sshd_lines_without_address_take_it_from_their_connection(tmp_path: Path, batch_bytes: int) -> None:
    # batch_bytes=90 cuts the log into chunks of a line or two: the memory must carry across them
    out = read_bytes(tmp_path, CONNECTIONS, fmt="syslog", year=2005, batch_bytes=batch_bytes)
    auth = {r["log.file.line"]: r for r in out.frame(Dataset.AUTH).iter_rows(named=True)}
    assert sorted(auth) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert (auth[3]["source.ip"], auth[3]["event.action"], auth[3]["event.outcome"]) == (
        "198.51.100.7",
        "max_attempts",
        "failure",
    )
    assert (auth[4]["source.ip"], auth[4]["event.action"]) == ("198.51.100.8", "no_ident")
    assert (auth[5]["source.ip"], auth[5]["event.action"]) == ("198.51.100.8", "negotiation")
    # half an hour later the pid may belong to another client: no address is guessed;
    # line 12 is another host's pid 701
    assert auth[11]["source.ip"] is None and auth[12]["source.ip"] is None
    assert auth[11]["event.outcome"] == "failure"


def test_accepted_after_failures_for_other_accounts_is_marked(tmp_path: Path) -> None:
    auth = {
        r["log.file.line"]: r
        for r in read_bytes(tmp_path, CONNECTIONS, fmt="syslog", year=2005).frame(Dataset.AUTH).iter_rows(named=True)
    }
    # PAM names the attempted account in ruser= when the account does not exist (no user=)
    assert auth[6]["user.name"] == PSEUDO.pseudonym("root")
    assert (auth[8]["event.outcome"], auth[8]["event.reason"]) == ("success", SWITCHED_REASON)
    # the owner's own typo, then their login: an ordinary success
    assert (auth[10]["event.outcome"], auth[10]["event.reason"]) == ("success", "accepted password")


def test_connection_memory_is_bounded_and_keeps_the_latest_address() -> None:
    memory = Connections(capacity=3)
    stamp = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def chunk(pid: int, message: str) -> pl.DataFrame:
        """One syslog chunk of one sshd line, through classify and the connection memory."""
        sshd = pl.DataFrame(
            {"_row": [0], "@timestamp": [stamp], "host.name": ["h"], "process.pid": [pid], "message": [message]},
            schema_overrides={"@timestamp": pl.Datetime("us", "UTC")},
        )
        return memory.link(sshd, classify(sshd))

    for pid in range(50):  # fifty connections, each naming its address (not an auth event itself)
        assert chunk(pid, f"Connection from 192.0.2.{pid} port 22").height == 0
        assert memory.addresses.height <= 2 * 3
    # the newest connections are remembered, the oldest forgotten
    too_many = "Disconnecting: Too many authentication failures [preauth]"
    assert chunk(49, too_many)["source.ip"].to_list() == ["192.0.2.49"]
    assert chunk(1, too_many)["source.ip"].to_list() == [None]
