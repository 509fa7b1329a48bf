"""The incident report for people: one self-contained HTML page with an inline SVG timeline.

No scripts, no external resources, every value escaped. The chart draws one lane per kind of
timeline event (status, notes, links, custody, reveals) across the case's time span, each mark
titled with what happened; the same items follow as a table, so the chart is never the only way
to read them (the SVG is labelled for screen readers and the table is the accessible source).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from watchhouse.core.taxonomy import CRIMES
from watchhouse.office.cases.models import TimelineItem
from watchhouse.office.exports.bundle import CaseBundle, subject_of

WIDTH, LANE, LEFT, RIGHT, TOP = 760, 28, 130, 20, 20

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:62rem;color:#111;line-height:1.4}
table{border-collapse:collapse;margin:1rem 0 2rem;width:100%}
caption{text-align:left;font-weight:600;margin-bottom:.5rem}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}
.marking{font-weight:700;padding:.2rem .5rem;border:2px solid #111;display:inline-block}
"""


def timeline_svg(items: tuple[TimelineItem, ...] | list[TimelineItem]) -> str:
    """An SVG chart of the timeline: x is time, each lane is one kind of event."""
    if not items:
        return "<p>No timeline events.</p>"
    lanes = list(dict.fromkeys(i.kind for i in items))
    start, end = items[0].at, items[-1].at
    span = max((end - start).total_seconds(), 1.0)
    height = TOP * 2 + LANE * len(lanes) + 20
    plot = WIDTH - LEFT - RIGHT

    def x(at: datetime) -> str:
        return f"{LEFT + plot * (at - start).total_seconds() / span:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="tl-title tl-desc">',
        '<title id="tl-title">Case timeline</title>',
        f'<desc id="tl-desc">{len(items)} events from {escape(start.isoformat())} to {escape(end.isoformat())}, '
        "one lane per kind of event; the table below lists the same events.</desc>",
    ]
    for n, lane in enumerate(lanes):
        y = TOP + LANE * n + LANE // 2
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4}" text-anchor="end" font-size="12">{escape(lane)}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#ccc"/>')
    for item in items:
        y = TOP + LANE * lanes.index(item.kind) + LANE // 2
        label = escape(f"{item.at.isoformat()} {item.actor}: {item.text}")
        parts.append(f'<circle cx="{x(item.at)}" cy="{y}" r="5" fill="#1f5fa8"><title>{label}</title></circle>')
    axis_y = TOP + LANE * len(lanes) + 12
    parts.append(f'<text x="{LEFT}" y="{axis_y}" font-size="11">{escape(start.strftime("%Y-%m-%d %H:%M"))}</text>')
    parts.append(
        f'<text x="{WIDTH - RIGHT}" y="{axis_y}" font-size="11" text-anchor="end">'
        f"{escape(end.strftime('%Y-%m-%d %H:%M'))}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _rows(cells: list[list[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in cells)


def _head(*names: str) -> str:
    return "<thead><tr>" + "".join(f'<th scope="col">{escape(n)}</th>' for n in names) + "</tr></thead>"


def case_to_html(bundle: CaseBundle) -> str:
    case = bundle.case_file.case
    facts = [
        ("Case", case.id),
        ("Title", case.title),
        ("Status", case.status.value),
        ("Severity", str(case.severity)),
        ("Owner", case.owner),
        ("Reviewer", case.reviewer or "—"),
        ("Crimes", "; ".join(f"{CRIMES[c].title} ({CRIMES[c].instrument})" for c in case.crime_codes)),
        ("Generated", bundle.generated_at.isoformat()),
    ]
    fact_rows = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in facts)
    alert_rows = _rows(
        [
            [a.id, a.title, a.crime_code.value, str(a.severity), subject_of(a).value, a.first_seen.isoformat()]
            for a in bundle.alerts
        ]
    )
    note_rows = _rows([[str(n.id), n.at.isoformat(), n.author, n.body] for n in bundle.case_file.notes])
    event_rows = _rows([[i.at.isoformat(), i.actor, i.kind, i.text] for i in bundle.timeline])
    marking = f"TLP:{case.tlp.value}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(case.id)} incident report</title><style>{STYLE}</style></head><body><main>"
        f'<p class="marking">{escape(marking)}</p><h1>Incident report {escape(case.id)}</h1>'
        f"<table><caption>Case</caption><tbody>{fact_rows}</tbody></table>"
        "<h2>Timeline</h2>" + timeline_svg(bundle.timeline) + "<table><caption>Timeline events</caption>"
        f"{_head('When', 'Who', 'Kind', 'What')}<tbody>{event_rows}</tbody></table>"
        "<h2>Alerts</h2><p>Subjects are shown as IP addresses or pseudonyms only.</p>"
        "<table><caption>Linked alerts</caption>"
        f"{_head('Alert', 'Title', 'Crime', 'Severity', 'Subject', 'First seen')}"
        f"<tbody>{alert_rows}</tbody></table>"
        f"<h2>Notes</h2><table><caption>Case notes</caption>{_head('Note', 'When', 'Author', 'Text')}"
        f"<tbody>{note_rows}</tbody></table>"
        f'<p class="marking">{escape(marking)}</p></main></body></html>\n'
    )
