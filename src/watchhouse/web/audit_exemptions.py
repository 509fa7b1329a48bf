"""The one list of web routes that deliberately leave no audit entry, each with its reason.

The rule (issue 6) is that every call touching office data is an audit entry: reads of alerts,
cases, evidence, identities, searches, exports, reveals, disclosures, logins and changes. A route
may stay silent only if it is listed here, so a reviewer (and ``tests/web/test_audit_coverage.py``,
which calls every route of the app and fails on any that is neither audited nor listed) has one
place to check. Keys are route path templates as FastAPI declares them; the exemption covers every
method of that path.
"""

from __future__ import annotations

from types import MappingProxyType

_STATIC = "static asset or page shell: no office data in it"
_PORTAL_PUBLIC = (
    "public reporter side of the portal: no office account is involved; the reporter sees only "
    "their own report, and the portal records submissions, additions and appeals as portal events"
)

EXEMPT_ROUTES: MappingProxyType[str, str] = MappingProxyType(
    {
        # Reading the audit log is not itself audited (ADR 0004): verification must be repeatable
        # without changing what it verifies, and an auditor's reads would otherwise grow the log.
        "/api/v1/audit/verify": "reads the audit log itself (ADR 0004)",
        "/api/v1/audit/tail": "reads the audit log itself (ADR 0004)",
        "/audit": "console view of the audit log itself (ADR 0004)",
        # One's own session: who am I, and the login form before anyone is known.
        "/api/v1/session": "the caller's own session; logins and failed logins are audited by the account service",
        "/api/v1/openapi.json": "the API description: no office data",
        "/": "redirects to the queue or the login page; no office data",
        "/disclosures/new": "the blank form for a new disclosure request; submitting it is audited",
        "/login": "the login form; the login itself is audited by the account service",
        "/static/console.css": _STATIC,
        "/static/htmx.min.js": _STATIC,
        "/report/static/{name}": _STATIC,
        "/report": _PORTAL_PUBLIC,
        "/report/challenge": _PORTAL_PUBLIC,
        "/report/status": _PORTAL_PUBLIC,
        "/report/status/view": _PORTAL_PUBLIC,
        "/report/status/add": _PORTAL_PUBLIC,
        "/report/status/appeal": _PORTAL_PUBLIC,
        "/report/status/logout": _PORTAL_PUBLIC,
    }
)
"""Route path -> why calling it leaves no audit entry."""

UNAUDITED_ROUTES = frozenset(EXEMPT_ROUTES)
"""The exempt paths alone (what ``web.api.audit`` has always exported)."""
