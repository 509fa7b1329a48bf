"""The office's portal pages (``/portal``) and API (``/api/v1/portal``), behind office login.

Reading needs ``alert:read`` and acting needs ``alert:triage`` (reports from the public are triage
material, like alerts); the desk service still applies need-to-know and four-eyes itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from watchhouse.office.accounts.models import Session
from watchhouse.office.accounts.roles import Permission
from watchhouse.office.portal.campaigns import Campaign
from watchhouse.office.portal.models import CATEGORIES, STATUS_LABELS, Outcome, ReportFile
from watchhouse.web.actions import parse_enum
from watchhouse.web.auth import api_actor, form_actor, page_actor
from watchhouse.web.console.render import back_to, page
from watchhouse.web.context import ctx_of

pages = APIRouter(prefix="/portal", include_in_schema=False)
api = APIRouter(prefix="/api/v1/portal", tags=["portal"])
Reader = Annotated[Session, Depends(page_actor(Permission.ALERT_READ))]
Actor = Annotated[Session, Depends(form_actor(Permission.ALERT_TRIAGE))]
ApiReader = Annotated[Session, Depends(api_actor(Permission.ALERT_READ))]
ApiActor = Annotated[Session, Depends(api_actor(Permission.ALERT_TRIAGE))]
Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=200)]


def campaign_dict(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "reports": list(c.references),
        "victims": c.victims,
        "shared": [{"kind": k, "value": v} for k, v in c.shared],
        "categories": list(c.categories),
        "money_lost": dict(c.money_lost),
    }


def file_dict(found: ReportFile) -> dict[str, Any]:
    r = found.report
    return {
        "reference": r.reference,
        "status": r.status.value,
        "category": r.category,
        "crime_code": r.crime_code.value,
        "role": r.role.value,
        "urgent": r.urgent,
        "restricted": r.restricted,
        "content_withheld": found.content_withheld,
        "narrative": r.narrative,
        "occurred": r.occurred,
        "locations": list(r.locations),
        "money": None if r.money is None else r.money.__dict__,
        "reporter": r.reporter,
        "client": r.client,
        "received_at": r.received_at.isoformat(),
        "identifiers": [{"kind": k, "value": v} for k, v in found.identifiers],
        "attachments": [a.__dict__ for a in found.attachments],
        "decisions": [
            {
                "id": d.id,
                "outcome": d.outcome.value,
                "reasons": d.reasons,
                "public_reasons": d.public_reasons,
                "decided_by": d.decided_by,
                "appeal_of": d.appeal_of,
            }
            for d in found.decisions
        ],
        "appeals": [{"id": a.id, "decision": a.decision_id, "status": a.status, "text": a.text} for a in found.appeals],
        "links": [{"kind": k, "target": t} for k, t in found.links],
        "campaign": found.campaign,
    }


@pages.get("")
def queue_page(request: Request, session: Reader, status: str = "", notice: str = "") -> HTMLResponse:
    desk, actor = ctx_of(request).office.portal_desk, session.account.username
    items = desk.queue(actor, status or None)
    stats = desk.stats(actor)
    appeals = desk.open_appeals(actor)
    return page(
        request,
        session,
        "portal/queue.html",
        items=items,
        stats=stats,
        appeals=appeals,
        status=status,
        statuses=STATUS_LABELS,
        categories=CATEGORIES,
        notice=notice,
    )


@pages.get("/campaigns")
def campaigns_page(request: Request, session: Reader) -> HTMLResponse:
    found = ctx_of(request).office.portal_desk.campaigns(session.account.username)
    return page(request, session, "portal/campaigns.html", campaigns=found, categories=CATEGORIES, notice="")


@pages.get("/reports/{reference}")
def report_page(request: Request, session: Reader, reference: str, notice: str = "") -> HTMLResponse:
    found = ctx_of(request).office.portal_desk.show(session.account.username, reference)
    return page(
        request,
        session,
        "portal/report.html",
        file=found,
        categories=CATEGORIES,
        outcomes=[o.value for o in Outcome],
        labels=STATUS_LABELS,
        notice=notice,
    )


@pages.post("/reports/{reference}/review")
def review(request: Request, session: Actor, reference: str) -> RedirectResponse:
    ctx_of(request).office.portal_desk.start_review(session.account.username, reference)
    return back_to("portal", "reports", reference, notice="under review")


@pages.post("/reports/{reference}/decide")
def decide(
    request: Request, session: Actor, reference: str, outcome: Short, reasons: Text, public_reasons: Text = ""
) -> RedirectResponse:
    chosen = parse_enum(Outcome, outcome, "outcome")
    ctx_of(request).office.portal_desk.decide(session.account.username, reference, chosen, reasons, public_reasons)
    return back_to("portal", "reports", reference, notice="decision recorded")


@pages.post("/reports/{reference}/link")
def link(request: Request, session: Actor, reference: str, kind: Short, target: Short) -> RedirectResponse:
    ctx_of(request).office.portal_desk.link(session.account.username, reference, kind, target.strip())
    return back_to("portal", "reports", reference, notice="linked")


@pages.post("/appeals/{appeal_id}/review")
def review_appeal(
    request: Request,
    session: Actor,
    appeal_id: int,
    reference: Short,
    outcome: Short,
    reasons: Text,
    public_reasons: Text = "",
) -> RedirectResponse:
    chosen = parse_enum(Outcome, outcome, "outcome")
    desk = ctx_of(request).office.portal_desk
    desk.review_appeal(session.account.username, appeal_id, chosen, reasons, public_reasons)
    return back_to("portal", "reports", reference, notice="appeal reviewed")


@pages.post("/invalidate")
def invalidate(request: Request, session: Actor, pseudonym: Short, reason: Text) -> RedirectResponse:
    refs = ctx_of(request).office.portal_desk.invalidate(session.account.username, pseudonym.strip(), reason)
    return back_to("portal", notice=f"{len(refs)} reports invalidated")


class DecisionBody(BaseModel):
    outcome: Outcome
    reasons: str = Field(min_length=1, max_length=10_000)
    public_reasons: str = Field(default="", max_length=10_000)


@api.get("/queue")
def api_queue(request: Request, session: ApiReader, status: str = "") -> list[dict[str, Any]]:
    items = ctx_of(request).office.portal_desk.queue(session.account.username, status or None)
    return [
        {
            "reference": i.report.reference,
            "status": i.report.status.value,
            "category": i.report.category,
            "urgent": i.report.urgent,
            "received_at": i.report.received_at.isoformat(),
            "campaign": i.campaign.id if i.campaign else None,
        }
        for i in items
    ]


@api.get("/campaigns")
def api_campaigns(request: Request, session: ApiReader) -> list[dict[str, Any]]:
    return [campaign_dict(c) for c in ctx_of(request).office.portal_desk.campaigns(session.account.username)]


@api.get("/reports/{reference}")
def api_report(request: Request, session: ApiReader, reference: str) -> dict[str, Any]:
    return file_dict(ctx_of(request).office.portal_desk.show(session.account.username, reference))


@api.post("/reports/{reference}/decision")
def api_decide(request: Request, session: ApiActor, reference: str, body: DecisionBody) -> dict[str, Any]:
    desk = ctx_of(request).office.portal_desk
    decision = desk.decide(session.account.username, reference, body.outcome, body.reasons, body.public_reasons)
    return {"decision": decision}


@api.get("/stats")
def api_stats(request: Request, session: ApiReader) -> dict[str, Any]:
    stats = ctx_of(request).office.portal_desk.stats(session.account.username)
    return {
        "by_category": dict(stats.by_category),
        "by_status": dict(stats.by_status),
        "urgent_open": stats.urgent_open,
        "restricted": stats.restricted,
        "campaigns": stats.campaigns,
        "money_lost": dict(stats.money_lost),
    }
