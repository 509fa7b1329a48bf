"""Reporter contact data: sealed with AES-256-GCM at rest, pseudonymised in the office.

One 32-byte key file in the office home (``portal-contact.key``, hex, created 0600 and refused
when group or others may read it) is the root of three uses, each derived with HMAC-SHA-256 and
its own label so that no output of one use can be replayed as another:

* the AES-GCM key that seals contact details (fresh 96-bit nonce, the report reference as
  associated data so a ciphertext moved to another report fails to open);
* the pseudonym key: HMAC of the normalised e-mail/phone, so reports from the same reporter can
  be grouped (and invalidated together) while the office never sees who the reporter is;
* the signing key of the portal's own stateless tokens (reporter sessions, challenges).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from watchhouse.office.errors import IntegrityError
from watchhouse.office.keyfiles import load_or_create_key
from watchhouse.office.portal.models import Contact

KEY_BYTES = 32


def load_or_create_portal_key(path: Path) -> bytes:
    """The portal's root key; created 0600 on first use, refused when others may read it."""
    return load_or_create_key(path, "portal key", KEY_BYTES)


def _derive(root: bytes, label: str) -> bytes:
    return hmac.new(root, b"watchhouse-portal/" + label.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class SealedContact:
    key_id: str
    nonce: bytes
    ciphertext: bytes


class PortalKeys:
    def __init__(self, root: bytes) -> None:
        self._aead = AESGCM(_derive(root, "contact-aead"))
        self._pseudonym = _derive(root, "pseudonym")
        self.token_key = _derive(root, "tokens")
        self.key_id = hashlib.sha256(_derive(root, "key-id")).hexdigest()[:16]

    def seal(self, reference: str, contact: Contact) -> SealedContact:
        nonce = secrets.token_bytes(12)
        plain = json.dumps({"name": contact.name, "email": contact.email, "phone": contact.phone}).encode()
        return SealedContact(self.key_id, nonce, self._aead.encrypt(nonce, plain, reference.encode()))

    def open(self, reference: str, sealed: SealedContact) -> Contact:
        if sealed.key_id != self.key_id:
            raise IntegrityError(f"contact of {reference} was sealed with another key ({sealed.key_id})")
        try:
            data = json.loads(self._aead.decrypt(sealed.nonce, sealed.ciphertext, reference.encode()))
        except InvalidTag:
            raise IntegrityError(f"contact of {reference} does not authenticate (moved or altered)") from None
        return Contact(str(data["name"]), str(data["email"]), str(data["phone"]))

    def pseudonym(self, kind: str, value: str) -> str:
        """``rp-`` + 20 hex of a keyed HMAC: stable per reporter, meaningless without the key."""
        digest = hmac.new(self._pseudonym, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind[:2]}-{digest[:20]}"
