"""The whole journey in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

Install the browser with ``scripts/install-browser.sh`` (apt-get; Playwright's own download is not
reachable). Skips, saying why, when Playwright or Chromium is missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

from watchhouse.office.accounts.roles import Role
from watchhouse.web.app import create_app
from watchhouse.web.portal.challenge import solve
from watchhouse.web.portal.settings import PortalSettings
from watchhouse.web.settings import WebSettings

from .live_server import serve, submit
from .portal_helpers import PASSWORD, PNG, add_user, form, make_office

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed: run scripts/install-browser.sh (needs apt-get)", allow_module_level=True)


def test_report_follow_group_decide_in_chromium(tmp_path: Path) -> None:
    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path)
    add_user(office, "ana", Role.ANALYST)
    app = create_app(office, WebSettings(secure_cookies=False), PortalSettings(pow_difficulty=10))
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(PNG)
    with serve(app) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        try:
            reporter = browser.new_page()
            reporter.goto(f"{base}/report")
            reporter.check("#role-victim")
            reporter.check("#category-scam")
            reporter.fill("#narrative", "A seller took 300 EUR for a bike and vanished.")
            reporter.fill("#emails", "Bike.Seller@Fraud.example")
            reporter.fill("#amount", "300")
            reporter.fill("#currency", "EUR")
            reporter.select_option("#method", "bank_transfer")
            reporter.set_input_files("#attachments", str(shot))
            reporter.check("#bona_fide")
            reporter.wait_for_function("document.getElementById('pow_nonce').value !== ''", timeout=30_000)
            reporter.click("#submit")
            reference = reporter.inner_text("#reference").strip()
            secret = reporter.inner_text("#secret").strip()
            assert re.fullmatch(r"[0-9A-Z]{10}", reference)

            # a second victim of the same seller, through the API path (proof of work solved here)
            with httpx.Client(base_url=base) as http:
                found = http.get("/report/challenge").json()
                fields = {
                    **form(emails="bike.seller@fraud.example", phones="", banks=""),
                    "challenge_token": found["token"],
                }
                fields["pow_nonce"] = solve(found["salt"], found["difficulty"])
                second = http.post("/report", data=fields, headers={"Accept": "application/json"})
                assert second.status_code == 201, second.text

            reporter.goto(f"{base}/report/status")
            reporter.fill("#reference", reference)
            reporter.fill("#secret", secret)
            reporter.click("button[type=submit]")
            assert reporter.get_attribute("#status", "data-status") == "received"

            officer = browser.new_page()
            officer.goto(f"{base}/login")
            officer.fill("#username", "ana")
            officer.fill("#password", PASSWORD)
            submit(officer, "button[type=submit]")  # the console is htmx-boosted (the public portal is not)
            officer.goto(f"{base}/portal/campaigns")
            campaign = officer.locator("section.campaign")
            assert campaign.count() == 1
            assert reference in campaign.inner_text() and campaign.locator(".victims").inner_text() == "2"
            officer.goto(f"{base}/portal/reports/{reference}")
            assert "sha256" in officer.content()
            officer.select_option("#outcome", "action_taken")
            officer.fill("#reasons", "Seller account matches 2 victims; removed.")
            officer.fill("#public_reasons", "We removed the seller's account.")
            submit(officer, "form[action$='/decide'] button")
            assert officer.inner_text("#status") == "action_taken"

            reporter.reload()
            assert reporter.get_attribute("#status", "data-status") == "action_taken"
            assert "We removed the seller's account." in reporter.content()
            assert "matches 2 victims" not in reporter.content()
        finally:
            browser.close()
            office.close()
