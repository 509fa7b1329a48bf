"""Writing the transparency report out: one self-contained HTML page and plain CSV tables.

The HTML has no scripts, no external stylesheet and no remote fonts, so it can be published or
archived as one file; every value is escaped; tables carry captions and header scopes so screen
readers announce each figure with its row and column.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Sequence
from html import escape
from pathlib import Path

from watchhouse.core.errors import InputError, UsageError
from watchhouse.office.reports.transparency import RequestRow, TransparencyReport

COLUMNS = (
    ("requests", "Requests"),
    ("accounts_specified", "Accounts specified"),
    ("share_some_data_produced", "Share of requests where some data was produced"),
    ("preservation_requests", "Preservation requests"),
    ("emergency_requests", "Emergency requests"),
    ("rejected", "Rejected"),
)

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#111;line-height:1.4}
table{border-collapse:collapse;margin:1rem 0 2rem;width:100%}
caption{text-align:left;font-weight:600;margin-bottom:.5rem}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:right}
th[scope=row],thead th:first-child{text-align:left}
tfoot th,tfoot td{font-weight:700}
"""


HTML_CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""A Content-Security-Policy for serving :func:`transparency_html` as is: its one inline stylesheet
is allowed by hash, and nothing else (no script, no image, no form) may load."""

CSV_TABLES = ("by_country", "by_type", "actions")


def requests_csv(rows: Sequence[RequestRow], total: RequestRow, first: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([first, *(key for key, _ in COLUMNS)])
    for row in (*rows, total):
        data = row.to_dict()
        writer.writerow([row.label, *(data[key] for key, _ in COLUMNS)])
    return out.getvalue()


def actions_csv(report: TransparencyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["action", "count"])
    for name, count in report.actions:
        writer.writerow([name, count])
    writer.writerow(["appeals", report.appeals])
    return out.getvalue()


def csv_table(report: TransparencyReport, table: str) -> str:
    """One of the report's CSV tables by name (:data:`CSV_TABLES`), as the files the CLI writes."""
    if table == "by_country":
        return requests_csv(report.by_country, report.total, "country")
    if table == "by_type":
        return requests_csv(report.by_type, report.total, "type")
    if table == "actions":
        return actions_csv(report)
    raise UsageError(f"unknown table {table!r}; expected one of {', '.join(CSV_TABLES)}")


def _table(caption: str, first: str, rows: Sequence[RequestRow], total: RequestRow) -> str:
    head = "".join(f'<th scope="col">{escape(title)}</th>' for _, title in COLUMNS)
    body = []
    for row in rows:
        data = row.to_dict()
        cells = "".join(f"<td>{escape(str(data[key]))}</td>" for key, _ in COLUMNS)
        body.append(f'<tr><th scope="row">{escape(row.label)}</th>{cells}</tr>')
    totals = total.to_dict()
    foot = "".join(f"<td>{escape(str(totals[key]))}</td>" for key, _ in COLUMNS)
    return (
        f"<table><caption>{escape(caption)}</caption>"
        f'<thead><tr><th scope="col">{escape(first)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>"
        f'<tfoot><tr><th scope="row">Total</th>{foot}</tr></tfoot></table>'
    )


def transparency_html(report: TransparencyReport) -> str:
    period = f"{report.start.isoformat()} to {report.end.isoformat()}"
    actions = (
        "".join(f'<tr><th scope="row">{escape(name)}</th><td>{count}</td></tr>' for name, count in report.actions)
        or '<tr><th scope="row">(none recorded)</th><td>0</td></tr>'
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Transparency report {escape(period)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>Transparency report</h1><p>Period: {escape(period)} (requests counted by date received). "
        f"Generated {escape(report.generated_at.isoformat())} from the office's records.</p>"
        "<h2>Government requests for user data</h2>"
        + _table("Requests by country (ISO 3166-1)", "Country", report.by_country, report.total)
        + _table("Requests by type", "Type", report.by_type, report.total)
        + "<h2>Actions and appeals</h2>"
        "<table><caption>Actions taken by the office (Santa Clara Principles)</caption>"
        '<thead><tr><th scope="col">Action</th><th scope="col">Count</th></tr></thead>'
        f'<tbody>{actions}<tr><th scope="row">Appeals</th><td>{report.appeals}</td></tr></tbody></table>'
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
        + "</main></body></html>\n"
    )


def write_transparency(report: TransparencyReport, out_dir: Path) -> list[Path]:
    """Write ``transparency.html`` and three CSV files into ``out_dir``; refuses to overwrite."""
    files = {
        "transparency.html": transparency_html(report),
        "requests_by_country.csv": csv_table(report, "by_country"),
        "requests_by_type.csv": csv_table(report, "by_type"),
        "actions.csv": csv_table(report, "actions"),
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in files.items():
            path = out_dir / name
            with path.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
            written.append(path)
    except FileExistsError as exc:
        raise InputError("already exists; write the report to an empty folder", path=exc.filename) from None
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror}", path=str(out_dir)) from exc
    return written
