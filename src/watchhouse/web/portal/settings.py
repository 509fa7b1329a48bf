"""Settings of the portal in one app instance, passed to ``create_app`` by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchhouse.office.portal.uploads import UploadPolicy


@dataclass(frozen=True)
class PortalSettings:
    submissions_per_client: int = 10
    """Reports one client address may submit per ``submission_window_s`` (bench and tests raise it)."""
    submission_window_s: float = 600.0
    status_logins_per_client: int = 30
    """Reference + code tries per client per window: 50-bit references cannot be enumerated anyway,
    this keeps a guesser from even trying at speed."""
    status_window_s: float = 300.0
    pow_difficulty: int = 14
    """Leading zero bits of SHA-256(salt:nonce) the browser must find (~16k hashes, well under a second)."""
    challenge_ttl_s: int = 3600
    upload: UploadPolicy = field(default_factory=UploadPolicy)
    max_body_bytes: int = 12 * 1024 * 1024
    reporter_cookie: str = "wh_reporter"
    reporter_session_s: int = 1800
