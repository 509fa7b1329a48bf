"""Disclosure request bodies, and turning them into the service's calls (shared by API and console).

The console's form fields are parsed into the same models, so a request typed into the web form
and one posted by a script are checked by the same rules before the service sees them. The
service stays the judge of policy (legal basis, four-eyes); these models only bound sizes and
shapes. Accounts must already be pseudonyms: the web server holds no pseudonymisation key (the
CLI ``disclosure open`` pseudonymises identifiers the authority named).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import TypeVar

from pydantic import Field, ValidationError, model_validator

from watchhouse.core.errors import UsageError
from watchhouse.office.disclosure.models import (
    Authority,
    DataCategory,
    DisclosureRequest,
    LegalBasis,
    NoticeDecision,
    RequestType,
    Scope,
    UserNotice,
)
from watchhouse.office.services import Office
from watchhouse.web.actions import parse_enum
from watchhouse.web.api.schemas import Body

_TEXT = 10_000
_NAME = 500
B = TypeVar("B", bound=Body)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_PRODUCED_BYTES = 8 * 1024 * 1024
"""What one production may hand over through the web (bigger sets go through the CLI)."""


class TextBody(Body):
    """Refuses NUL and other control characters (bar tab and newlines) in any text field: they have
    no place in a legal record, and PostgreSQL rejects NUL outright."""

    @model_validator(mode="after")
    def _printable(self) -> TextBody:
        for name, value in self:
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str) and _CONTROL.search(text):
                    raise ValueError(f"{name} contains control characters")
        return self


class LegalBasisBody(TextBody):
    """All three parts are required by the service; an incomplete basis counts as none (refused)."""

    instrument: str = Field(default="", max_length=_NAME)
    reference: str = Field(default="", max_length=_NAME)
    issuer: str = Field(default="", max_length=_NAME)

    def basis(self) -> LegalBasis | None:
        given = (self.instrument, self.reference, self.issuer)
        return LegalBasis(*given) if any(p.strip() for p in given) else None


class DisclosureOpenBody(TextBody):
    authority: str = Field(max_length=_NAME)
    country: str = Field(max_length=100)
    type: str = Field(max_length=40)
    accounts: list[str] = Field(min_length=1, max_length=500)
    start: date
    end: date
    categories: list[str] = Field(min_length=1, max_length=len(DataCategory))
    legal_basis: LegalBasisBody | None = None
    notice: str = Field(default=NoticeDecision.NOTIFY.value, max_length=20)
    notice_reason: str | None = Field(default=None, max_length=_TEXT)
    notice_until: date | None = None
    nondisclosure_order: bool = False
    nondisclosure_until: date | None = None
    justification: str | None = Field(default=None, max_length=_TEXT)
    case: str | None = Field(default=None, max_length=40)


class ReasonBody(TextBody):
    reason: str | None = Field(default=None, max_length=_TEXT)


class RejectBody(TextBody):
    reason: str = Field(min_length=1, max_length=_TEXT)


class ProduceBody(TextBody):
    """The data handed over, base64-encoded (JSON carries no raw bytes)."""

    name: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(max_length=(MAX_PRODUCED_BYTES // 3 + 1) * 4)
    media_type: str = Field(default="application/octet-stream", max_length=200)
    case: str | None = Field(default=None, max_length=40)

    def data(self) -> bytes:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("content_base64 is not valid base64") from None


def open_request(office: Office, actor: str, body: DisclosureOpenBody) -> DisclosureRequest:
    """Register the request through the service (which refuses, and audits, a missing legal basis)."""
    kind = parse_enum(RequestType, body.type, "request type")
    categories = tuple(dict.fromkeys(parse_enum(DataCategory, c, "data category") for c in body.categories))
    accounts = tuple(dict.fromkeys(a.strip() for a in body.accounts if a.strip()))
    notice = UserNotice(
        parse_enum(NoticeDecision, body.notice, "user-notice decision"),
        (body.notice_reason or "").strip() or None,
        body.notice_until,
    )
    return office.disclosures.open(
        actor,
        Authority(body.authority, body.country),
        kind,
        body.legal_basis.basis() if body.legal_basis else None,
        Scope(accounts, body.start, body.end, categories),
        notice,
        nondisclosure_order=body.nondisclosure_order,
        nondisclosure_until=body.nondisclosure_until,
        justification=body.justification,
        case=(body.case or "").strip() or None,
    )


def parse_body(model: type[B], fields: dict[str, object]) -> B:
    """A model from form fields; a validation failure becomes a usage error the page can show."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise UsageError(f"{where}: {first['msg']}") from None
