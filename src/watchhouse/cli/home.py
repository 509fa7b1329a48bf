"""The composition root's view of the local office: where its database, key and quarantine live.

Everything is kept under one folder (``.watchhouse`` in the working directory unless
``--home``/``WATCHHOUSE_HOME`` says otherwise) so an embedded install needs no set-up and a
user can see, back up or delete all of it at once.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from watchhouse.core.errors import InputError

DEFAULT_HOME = Path(".watchhouse")
KEY_BYTES = 32


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, given: Path | None) -> Home:
        env = os.environ.get("WATCHHOUSE_HOME")
        return cls(given or (Path(env) if env else DEFAULT_HOME))

    @property
    def database(self) -> Path:
        return self.root / "office.db"

    @property
    def key_file(self) -> Path:
        return self.root / "pseudonym.key"

    @property
    def audit_signing_key(self) -> Path:
        """Ed25519 key (PEM, 0600) that signs audit checkpoints; its public half can be shared."""
        return self.root / "audit-signing.key"

    @property
    def evidence_dir(self) -> Path:
        """Content-addressed, read-only evidence blobs (see ``office.evidence.vault``)."""
        return self.root / "evidence"

    @property
    def identity_vault_key(self) -> Path:
        """AES-256 key (hex, 0600) sealing the identity vault's pseudonym -> identifier rows."""
        return self.root / "identity-vault.key"

    @property
    def suppressions_file(self) -> Path:
        """``[[suppress]]`` TOML regenerated from the office database after every rule change."""
        return self.root / "suppressions.toml"

    def quarantine_file(self, started: datetime) -> Path:
        return self.root / "quarantine" / f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}.jsonl"

    def pseudonym_key(self) -> bytes:
        """The keyed-HMAC secret for pseudonyms, created (0600) on first use.

        Keeping it stable is what makes pseudonyms, and so alert ids, stable across scans.
        """
        try:
            if self.key_file.exists():
                key = bytes.fromhex(self.key_file.read_text(encoding="ascii").strip())
                if len(key) < 16:
                    raise InputError("pseudonymisation key is too short", path=str(self.key_file))
                return key
            self.root.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(KEY_BYTES)
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key.hex() + "\n")
            return key
        except ValueError as exc:
            raise InputError(f"pseudonymisation key is not hex: {exc}", path=str(self.key_file)) from exc
        except OSError as exc:
            raise InputError(f"cannot use the pseudonymisation key: {exc.strerror}", path=str(self.key_file)) from exc
