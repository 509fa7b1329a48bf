"""``eval crs`` / ``eval params`` through Typer on tiny corpora: tables, JSON, paranoia option."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from watchhouse.cli.eval_web_cmd import eval_crs, eval_params
from watchhouse.detectors.web.evaluation import as_sent

app = typer.Typer()
app.command("crs")(eval_crs)
app.command("params")(eval_params)


def _crs(tmp_path: Path) -> Path:
    headers = {"Host": "localhost", "User-Agent": "OWASP CRS test agent", "Accept": "*/*"}
    base = {"method": "GET", "headers": headers, "data": None, "response_side": False}
    tests = [
        {**base, "id": "942100-1", "rule_id": 942100, "label": "fire", "uri": "/?id=1'+union+select+null,null--"},
        {**base, "id": "932100-1", "rule_id": 932100, "label": "fire", "uri": "/?x=hello"},
        {**base, "id": "999999-1", "rule_id": 999999, "label": "no_fire", "uri": "/?q=shoes"},
        {**base, "id": "951100-1", "rule_id": 951100, "label": "fire", "uri": "/reflect", "response_side": True},
    ]
    path = tmp_path / "derived" / "crs_requests.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(t) for t in tests) + "\n")
    return tmp_path


def test_eval_crs_json_counts_families_and_benign(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["crs", str(_crs(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["fire_by_family"]["SQL injection"] == {"hit": 1, "total": 1, "share": 1.0}
    assert data["fire_by_family"]["RCE / command injection"]["hit"] == 0
    assert data["fire_overall"]["total"] == 2
    assert data["benign_999999"]["flagged"] == 0 and data["benign_999999"]["total"] == 1
    assert data["response_side_fire_tests_not_inspected"] == 1
    # the missed command-injection test carries its (harmless) payload in the query string
    assert data["missed_by_location"] == {"RCE / command injection": {"query": 1}}


def test_eval_crs_table(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["crs", str(_crs(tmp_path)), "--paranoia", "4"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "paranoia 4" in result.output and "SQL injection" in result.output and "50.0%" in result.output
    assert "Missed fire tests" in result.output and "query" in result.output


def test_eval_params_reports_classes_and_norm(tmp_path: Path) -> None:
    csv = tmp_path / "payload_full.csv"
    csv.write_text(
        '"payload","length","attack_type","label"\n'
        '"1 union select null,null--","1","sqli","anom"\n'
        '"<script>alert(1)</script>","1","xss","anom"\n'
        '"../../{file}","1","path-traversal","anom"\n'
        '"madrid","1","norm","norm"\n'
    )
    result = CliRunner().invoke(app, ["params", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["detection_by_class"]["sqli"]["share"] == 1.0
    assert data["detection_by_class"]["xss"]["share"] == 1.0
    assert data["norm_false_positives"]["hit"] == 0
    assert data["path_traversal_with_file_filled"]["hit"] == 1
    table = CliRunner().invoke(app, ["params", str(csv)], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "norm (false positives)" in table.output


# -- the replay is what go-ftw sends, not the YAML as written ------------------------------------

_TEST = {"id": "x-1", "rule_id": 942100, "label": "fire", "method": "POST", "uri": "/post", "version": "HTTP/1.1"}


def test_form_data_gets_the_content_type_and_encoding_go_ftw_adds() -> None:
    headers = {"Host": "localhost", "User-Agent": "OWASP CRS test agent"}
    test = {**_TEST, "headers": headers, "data": "code=cat /etc/passwd\n&x=a b", "autocomplete_headers": True}
    method, uri, version, sent, body = as_sent(test)
    assert (method, uri, version) == ("POST", "/post", "HTTP/1.1")
    assert body == "code=cat+%2Fetc%2Fpasswd%0A&x=a+b"
    assert sent["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["Content-Length"] == str(len(body)) and sent["Connection"] == "close"
    assert headers == {"Host": "localhost", "User-Agent": "OWASP CRS test agent"}  # the test itself is untouched


def test_escaped_data_and_raw_requests_are_sent_as_written() -> None:
    escaped = {**_TEST, "headers": {}, "data": "pay=%27+or+1", "autocomplete_headers": True}
    assert as_sent(escaped)[4] == "pay=%27+or+1"
    bare = {**_TEST, "headers": {"Host": "localhost"}, "data": "test", "autocomplete_headers": False}
    assert as_sent(bare)[3] == {"Host": "localhost"} and as_sent(bare)[4] == "test"
    raw = "GET /a?b=1 HTTP/1.0\r\nHost: localhost\r\nX-A: 1\r\nX-A: 2\r\n\r\nbody"
    encoded = {**_TEST, "headers": {}, "encoded_request": "R0VU", "raw_request_decoded": raw}
    assert as_sent(encoded) == ("GET", "/a?b=1", "HTTP/1.0", {"Host": "localhost", "X-A": ["1", "2"]}, "body")


def test_multipart_bodies_get_crlf_line_ends() -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    test = {**_TEST, "headers": headers, "data": '--b\nContent-Disposition: form-data; name="a"\n\nx\n--b--\n'}
    body = as_sent(test)[4]
    assert body is not None and "\r\n" in body and "\n" not in body.replace("\r\n", "")
