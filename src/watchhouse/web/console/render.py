"""Rendering console pages and answering form posts (post, then redirect, then get)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.web.context import ctx_of


def page(
    request: Request, session: Session | None, template: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    ctx = ctx_of(request)
    may = {p.name.lower(): session.account.may(p) for p in Permission} if session else {}
    html = ctx.templates.get_template(template).render(
        session=session,
        csrf_token=session.csrf_token if session else "",
        may=may,
        vault=ctx.office.identities is not None,
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


def back_to(*parts: str, notice: str | None = None) -> RedirectResponse:
    """A redirect to one of our own pages, built from quoted path parts (never from user URLs)."""
    path = "/" + "/".join(quote(p, safe="") for p in parts)
    if notice:
        path += "?notice=" + quote(notice[:200], safe="")
    return RedirectResponse(path, status_code=303)
