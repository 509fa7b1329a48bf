"""htmx in the console: the vendored file is the one we pinned, and it needs no CSP exception.

The browser journey (test_console_browser.py) runs with htmx active; these checks keep the
rules that make it safe from eroding: scripts only from our origin, no inline script or handler
that the CSP would have to allow, no eval, no page snapshots in browser storage, and downloads
left to the browser (a boosted request would swap a STIX bundle into the page).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchhouse.office.accounts.roles import Role
from watchhouse.office.services import Office
from watchhouse.web.static_files import STATIC

from .web_helpers import Clock, add_user, client_for, make_office

TEMPLATES = STATIC.parent / "templates"
CONSOLE_TEMPLATES = sorted(p for p in TEMPLATES.rglob("*.html"))


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    office = make_office(f"sqlite:///{tmp_path / 'office.db'}", tmp_path, Clock())
    add_user(office, "ana", Role.ANALYST)
    yield office
    office.close()


def test_the_served_htmx_is_the_pinned_release(office: Office) -> None:
    pinned = re.search(
        r"`htmx\.min\.js` \|[^|]+\| ([\d.]+) \|[^|]+\| `([0-9a-f]{64})`", (STATIC / "VENDORED.md").read_text()
    )
    assert pinned is not None
    answer = client_for(office).get("/static/htmx.min.js")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/javascript")
    assert hashlib.sha256(answer.content).hexdigest() == pinned.group(2)
    assert f'version:"{pinned.group(1)}"' in answer.text


def test_the_csp_allows_our_own_scripts_and_nothing_inline_or_evaluated(office: Office) -> None:
    csp = client_for(office).get("/login").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert "unsafe" not in csp and "default-src 'none'" in csp


@pytest.mark.parametrize("template", CONSOLE_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_carry_no_inline_script_handler_or_style(template: Path) -> None:
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=\"/)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"\shx-on[:-]|\bhx-vars=|\bjs:", text), "htmx attributes that need eval"
    assert 'style="' not in text, "inline style attribute"


def test_the_htmx_configuration_is_the_safe_one() -> None:
    base = (TEMPLATES / "base.html").read_text()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", base).group(1))  # type: ignore[union-attr]
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True and config["historyCacheSize"] == 0
    assert config["includeIndicatorStyles"] is False  # it would inject an inline <style> the CSP blocks
    assert {"code": "...", "swap": True} in config["responseHandling"]  # error pages are shown, not dropped
    assert '<body hx-boost="true">' in base


def test_downloads_are_not_boosted() -> None:
    for template in CONSOLE_TEMPLATES:
        text = template.read_text()
        for form in re.findall(r"<form[^>]*action=\"[^\"]*/export\"[^>]*>", text):
            assert 'hx-boost="false"' in form, f"{template.name}: {form}"
        for line in text.splitlines():
            if re.search(r"href=\"[^\"]*\.(csv|html)\?", line):
                assert 'hx-boost="false"' in line, f"{template.name}: {line.strip()[:120]}"
