"""Settings of one web app instance, passed to ``create_app`` by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class WebSettings:
    secure_cookies: bool = True
    """Mark cookies ``Secure`` (and send HSTS). Only plain-HTTP loopback tests and ``serve`` on
    127.0.0.1 turn it off: browsers drop Secure cookies over http."""
    session_cookie: str = "wh_session"
    login_cookie: str = "wh_login"
    """Holds the login form's CSRF token before there is a session (double-submit)."""
    client_login_attempts: int = 20
    """Login attempts per client address per ``client_login_window``, whatever the user names
    (the per-account lockout cannot see a spray across many accounts)."""
    client_login_window: timedelta = timedelta(minutes=5)
    page_size: int = 50
