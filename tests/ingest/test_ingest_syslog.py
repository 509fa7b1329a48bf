from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.ingest.helpers import PSEUDO, quarantined, read_bytes

from watchhouse.core.events import Dataset

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
