"""The office's journey in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

Alerts come from a real scan of a small generated access log (background traffic plus one SQL
injection campaign). Then, as the issue lists it: an investigator logs in, triages an alert into a
case and seals its source lines; the legal team registers a disclosure request, its requester's
own sign-off is refused on the page, two approvers sign, legal produces; the auditor verifies the
audit log; legal views the transparency report. htmx boosts the console's links and forms into
in-page requests, so every click waits for htmx to settle the swapped page (``_submit``), and the
journey checks that boosting really happened (no full page load between pages).

Install the browser with ``scripts/install-browser.sh`` (apt-get; Playwright's own download is not
reachable). Skips, saying why, when Playwright or Chromium is missing.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console

from watchhouse.cli.home import Home
from watchhouse.cli.scan import ScanRequest, execute_scan
from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office
from watchhouse.web.app import create_app
from watchhouse.web.settings import WebSettings

from .web_helpers import ACCOUNT_A, PASSWORD, Clock, add_user, make_office

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed: run scripts/install-browser.sh (needs apt-get)", allow_module_level=True)

ATTACKER = "203.0.113.9"


def _live_server() -> ModuleType:
    """The portal tests' uvicorn-in-a-thread helper (tests/portal/live_server.py), loaded by path."""
    name = "watchhouse_test_live_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "portal" / "live_server.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _scanned_office(tmp_path: Path) -> Office:
    """Scan a generated log into an office home, then open the office over the same database."""
    log = tmp_path / "access.log"
    background = [
        f'198.51.100.{n % 200 + 1} - - [02/Mar/2026:09:{n % 60:02d}:00 +0000] "GET /products?page={n} HTTP/1.1" '
        f'200 5120 "-" "Mozilla/5.0"\n'
        for n in range(200)
    ]
    attack = [
        f'{ATTACKER} - - [02/Mar/2026:10:00:{n:02d} +0000] "GET /search?q=1%27%20UNION%20SELECT%20username,'
        f'password%20FROM%20users--{n} HTTP/1.1" 200 512 "-" "sqlmap/1.7"\n'
        for n in range(5)
    ]
    log.write_text("".join(background[:120] + attack + background[120:]))
    home = Home(tmp_path / "office")
    summary = execute_scan(ScanRequest(paths=[str(log)], home=home, progress=False), Console(quiet=True))
    assert summary.alert_count == 5 and summary.quarantined == 0
    office: Office = make_office(f"sqlite:///{home.database}", tmp_path, Clock())
    return office


def _submit(page: Any, selector: str) -> None:
    _live_server().submit(page, selector)


def _login(browser: Any, base: str, name: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    _submit(page, "button[type=submit]")
    return page


def test_triage_seal_disclose_with_two_approvers_verify_and_report_in_chromium(tmp_path: Path) -> None:
    office = _scanned_office(tmp_path)
    for name, role in (
        ("ivy", Role.INVESTIGATOR),
        ("leo", Role.LEGAL),
        ("pat", Role.APPROVER),
        ("quinn", Role.APPROVER),
        ("aud", Role.AUDITOR),
    ):
        add_user(office, name, role)
    alert_id = next(a.id for a in office.alerts.all())
    app = create_app(office, WebSettings(secure_cookies=False))
    with _live_server().serve(app) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        try:
            # an investigator opens a case, triages the alert into it and seals its source lines
            ivy = _login(browser, base, "ivy")
            assert ivy.evaluate("typeof window.htmx") == "object"
            ivy.evaluate("window.__sameDocument = true")
            _submit(ivy, "nav a[href='/cases']")
            assert ivy.url == f"{base}/cases" and ivy.evaluate("window.__sameDocument") is True  # boosted
            ivy.fill("#n-title", "SQL injection campaign against /search")
            ivy.select_option("#n-crime", "illegal_access")
            _submit(ivy, "form[method='post'][action='/cases'] button[type=submit]")
            case_id = re.search(r"/cases/(WH-\d{4}-\d{4})", ivy.url).group(1)  # type: ignore[union-attr]
            ivy.goto(f"{base}/alerts/{alert_id}")
            assert ATTACKER in ivy.content()
            ivy.select_option("#t-action", "status")
            ivy.fill("#t-value", "in_progress")
            ivy.fill("#t-reason", "sqlmap against /search")
            _submit(ivy, "form[action$='/triage'] button[type=submit]")
            assert "in_progress" in ivy.locator("table").last.inner_text()  # the alert's history
            ivy.fill("#l-case", case_id)
            ivy.fill("#l-reason", "same campaign")
            _submit(ivy, "form[action$='/link'] button[type=submit]")
            ivy.fill("#s-purpose", "preserve the request lines")
            _submit(ivy, "form[action$='/seal'] button[type=submit]")
            assert "/evidence/" in ivy.url and alert_id in ivy.content()
            evidence_id = ivy.url.split("/evidence/")[1].split("?")[0]
            sealed = office.evidence.view(evidence_id, "ivy")[0]
            blob = next(p for p in (tmp_path / "evidence").rglob("*") if p.is_file() and sealed.sha256 in str(p))
            assert b"UNION%20SELECT" in blob.read_bytes()
            ivy.goto(f"{base}/cases/{case_id}")
            ivy.fill("#k-target", evidence_id)
            ivy.select_option("#k-kind", "evidence")
            _submit(ivy, "form[action$='/link'] button[type=submit]")
            case_page = ivy.content()
            assert f'href="/alerts/{alert_id}"' in case_page and f'href="/evidence/{evidence_id}"' in case_page

            # legal registers a disclosure request for the case; its own sign-off is refused
            leo = _login(browser, base, "leo")
            leo.goto(f"{base}/disclosures/new?case={case_id}")
            leo.fill("#dr-authority", "Bundeskriminalamt")
            leo.fill("#dr-country", "DE")
            leo.select_option("#dr-type", "subscriber_info")
            leo.fill("#dr-instrument", "production order")
            leo.fill("#dr-reference", "AZ 12 Js 345/26")
            leo.fill("#dr-issuer", "Amtsgericht Berlin-Tiergarten")
            leo.fill("#dr-accounts", ACCOUNT_A)
            leo.fill("#dr-start", "2026-03-01")
            leo.fill("#dr-end", "2026-03-02")
            leo.check("#dr-cat-subscriber")
            _submit(leo, "#dr-submit")
            request_url = leo.url.split("?")[0]
            assert re.search(r"/disclosures/DR-2026-\d{4}$", request_url)
            assert leo.inner_text("#status") == "received"
            _submit(leo, "#review")
            leo.fill("#ap-reason", "I know this order is valid")
            _submit(leo, "#approve")
            assert "its requester (leo) cannot approve it" in leo.inner_text("#error")
            assert leo.inner_text("#approvers").startswith("none yet")

            # two approvers sign; then legal hands over the data, sealed as evidence
            for name in ("pat", "quinn"):
                approver = _login(browser, base, name)
                approver.goto(request_url)
                _submit(approver, "#approve")
                assert name in approver.inner_text("#approvers")
            leo.goto(request_url)
            assert leo.inner_text("#status") == "approved"
            produced = tmp_path / "subscriber.txt"
            produced.write_text(f"{ACCOUNT_A}: registered 2025-11-02\n")
            leo.set_input_files("#pr-data", str(produced))
            _submit(leo, "#produce")
            assert leo.inner_text("#status") == "produced"
            assert leo.locator("a[href^='/evidence/']").count() == 1

            # the auditor verifies the log; legal views the transparency report
            aud = _login(browser, base, "aud")
            aud.goto(f"{base}/audit")
            verified = aud.inner_text("p.ok")
            assert verified.startswith("Verified:") and "nothing changed" in verified
            leo.goto(f"{base}/reports/transparency")
            leo.fill("#tr-from", "2026-01-01")
            leo.fill("#tr-to", "2026-12-31")
            _submit(leo, "#generate")
            row = leo.locator("#by-country tbody tr").first.inner_text().split("\t")
            assert row[:4] == ["DE", "1", "1", "100.0%"]
        finally:
            browser.close()
            office.close()
