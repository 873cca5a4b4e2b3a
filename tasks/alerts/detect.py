"""Alerts: what committed runs changed about watched papers (``tasks.alerts.watch``).

:func:`detect_alerts` reads what the snapshots since the last handled one
changed (DuckLake's change feed of ``paper_snapshots`` and ``runs``), compares
the changed watched papers as the lake held them before and holds them now
(``sql/alerts/candidate_alerts.sql``), and stores the alerts not stored yet in
``alerts``, with the snapshot handled in ``alert_progress``: one lake
transaction of its own, after the run's. A re-run adds no alert (alert ids hash
what the alert is about), and a detection that never happened (a crash after a
commit) is caught up by the next one, whose range starts at the last handled
snapshot.

Kinds: ``first_seen``, ``contrasting_added``, ``supporting_added``,
``reclassified`` and ``tally_changed``; from saved scite API responses
(``sql/alerts/candidate_api_alerts.sql``) and the Retraction Watch export
(``sql/alerts/candidate_retraction_watch_alerts.sql``) ``retracted`` and ``editorial_notice``. :func:`alert_event` and
:func:`alert_message` say each as a Prefect event and as a message for a
person; :func:`list_alerts` is ``citelake alerts``. Nothing here imports Prefect
(``flows.alert_tasks`` holds the Prefect side).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql
from tasks.lake.errors import LakeError
from tasks.lake.tables import ALERT_KINDS

EVENT_PREFIX = "citelake.alert."
RESOURCE_PREFIX = "citelake.paper."
COUNT_FIELDS = ("cited_by", "statement_count", "supporting", "mentioning", "contrasting", "unclassified")
QUOTE_LIMIT = 600


@dataclass(frozen=True, slots=True)
class Alert:
    """One stored alert; ``detail`` is its JSON detail, decoded."""

    alert_id: str
    doi: str
    kind: str
    run_id: str | None
    observed_at: datetime | None
    statement_id: str | None
    detail: dict[str, Any]

    @property
    def title(self) -> str | None:
        return self.detail.get("title")


@dataclass(frozen=True, slots=True)
class Detection:
    """What one detection handled: snapshots after ``from_snapshot`` up to ``to_snapshot``, and the alerts it stored."""

    from_snapshot: int | None
    to_snapshot: int | None
    alerts: list[Alert]


def detect_alerts(con: duckdb.DuckDBPyConnection, *, run_id: str | None = None) -> Detection:
    """Store the alerts of every snapshot since the last handled one, in one transaction; return them.

    ``con`` is a writable lake connection (``open_lake``). With nothing watched
    or no new snapshot, nothing is written. ``run_id`` is recorded with the
    progress (the run whose detection this is).
    """
    con.begin()
    try:
        (to_snapshot,) = con.execute(read_sql("lake/current_snapshot.sql")).fetchone()
        (from_snapshot,) = con.execute(read_sql("alerts/start_snapshot.sql"), {"to_snapshot": to_snapshot}).fetchone()
        (watched,) = con.execute(read_sql("alerts/watched_count.sql")).fetchone()
        if from_snapshot is None or to_snapshot <= from_snapshot or not watched:
            con.rollback()
            return Detection(from_snapshot, to_snapshot, [])
        snapshots = {"from_snapshot": from_snapshot, "to_snapshot": to_snapshot}
        con.execute(read_sql("alerts/stage_changed_papers.sql"), snapshots)
        con.execute(read_sql("alerts/candidate_alerts.sql"), {"from_snapshot": from_snapshot})
        con.execute(read_sql("alerts/candidate_api_alerts.sql"))
        con.execute(read_sql("alerts/candidate_retraction_watch_alerts.sql"))
        con.execute(read_sql("alerts/select_fresh_alerts.sql"))
        now = datetime.now(UTC)
        con.execute(read_sql("alerts/insert_alerts.sql"), {"now": now})
        con.execute(read_sql("alerts/record_progress.sql"), {"snapshot_id": to_snapshot, "run_id": run_id, "now": now})
        alerts = [_alert(row) for row in con.execute(read_sql("alerts/fresh_alerts.sql")).fetchall()]
    except BaseException:
        con.rollback()
        raise
    con.commit()
    con.execute(read_sql("alerts/drop_staging.sql"))
    return Detection(from_snapshot, to_snapshot, alerts)


def _alert(row: Sequence[Any]) -> Alert:
    alert_id, doi, kind, run_id, observed_at, statement_id, detail = row
    return Alert(alert_id, doi, kind, run_id, observed_at, statement_id, json.loads(detail))


def detect_in_lake(location: LakeLocation, *, run_id: str | None = None) -> Detection:
    """:func:`detect_alerts` on its own connection to the lake."""
    con = open_lake(location)
    try:
        return detect_alerts(con, run_id=run_id)
    finally:
        con.close()


def list_alerts(
    location: LakeLocation, *, since: datetime | date | None = None, doi: str | None = None, kind: str | None = None
) -> pa.Table:
    """The stored alerts, newest first, filtered by page date (``since``), DOI (normalised) and kind."""
    if kind is not None and kind not in ALERT_KINDS:
        raise LakeError(f"unknown alert kind {kind!r}; choose one of {', '.join(ALERT_KINDS)}")
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day, tzinfo=UTC)
    con = open_lake(location, read_only=True)
    try:
        try:
            return con.execute(read_sql("alerts/list_alerts.sql"), {"since": since, "doi": doi, "kind": kind}).to_arrow_table()
        except duckdb.CatalogException as error:
            raise LakeError(f"the lake at {location.describe()} has no alerts table yet: watch a paper first") from error
    finally:
        con.close()


# ---------------------------------------------------------------------------
# An alert for people and for Prefect
# ---------------------------------------------------------------------------


def event_name(kind: str) -> str:
    """``contrasting_added`` → ``citelake.alert.contrasting-added``."""
    return EVENT_PREFIX + kind.replace("_", "-")


def _day(value: Any) -> str:
    return str(value)[:10] if value else "?"


def _quote(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def what_changed(alert: Alert) -> str:
    """One line: what the run changed about the paper."""
    detail = alert.detail
    if alert.kind == "first_seen":
        counts = ", ".join(f"{field} {detail.get(field)}" for field in COUNT_FIELDS)
        return f"first page in the lake (saved {_day(detail.get('page_date'))}): {counts}"
    if alert.kind in ("contrasting_added", "supporting_added"):
        kind = detail.get("type")
        section = f" in {detail['section']}" if detail.get("section") else ""
        return (
            f"a new {kind} statement{section} (page of {_day(detail.get('page_date'))}); "
            f"now {detail.get('contrasting')} contrasting, {detail.get('supporting')} supporting"
        )
    if alert.kind == "reclassified":
        return (
            f"a statement was reclassified from {detail.get('from')} to {detail.get('to')} "
            f"(page of {_day(detail.get('page_date_before'))} → {_day(detail.get('page_date'))})"
        )
    if alert.kind == "tally_changed":
        before, after = detail.get("before", {}), detail.get("after", {})
        moves = [f"{field} {before.get(field)} → {after.get(field)}" for field in COUNT_FIELDS if before.get(field) != after.get(field)]
        return f"counts changed (page of {_day(detail.get('page_date_before'))} → {_day(detail.get('page_date'))}): " + ", ".join(moves)
    watch = detail.get("source") == "retraction_watch"
    saved = f"{'Retraction Watch export' if watch else 'API response'} of {_day(detail.get('page_date'))}"
    if alert.kind == "retracted":
        return (
            f"marked retracted by {'Retraction Watch' if watch else 'scite'} ({saved}); "
            f"still {detail.get('supporting')} supporting of {detail.get('statement_count')} statements"
        )
    if alert.kind == "editorial_notice":
        notice = f" {detail['notice_doi']}" if detail.get("notice_doi") else ""
        dated = f" of {detail['date']}" if detail.get("date") else ""
        reasons = f"; {', '.join(detail['reasons'])}" if detail.get("reasons") else ""
        return f"editorial notice: {detail.get('status') or 'notice'}{dated}{notice}{reasons} ({saved})"
    return alert.kind


def alert_subject(alert: Alert) -> str:
    title = alert.title or alert.doi
    return f"citelake: {alert.kind.replace('_', ' ')}: {title}"


def alert_message(alert: Alert) -> str:
    """The alert as a few lines for a person: title, DOI, what changed, the statement quoted."""
    lines = [alert.title or "(untitled)", f"https://doi.org/{alert.doi}", "", what_changed(alert)]
    quote = _quote(alert.detail.get("text"))
    if quote:
        lines += ["", f"“{quote}”"]
    return "\n".join(lines)


def alert_event(alert: Alert) -> dict[str, Any]:
    """The Prefect event of an alert, as ``emit_event`` keyword arguments (without the related flow run)."""
    detail = alert.detail
    payload = {
        "alert_id": alert.alert_id,
        "doi": alert.doi,
        "kind": alert.kind,
        "title": alert.title,
        "run_id": alert.run_id,
        "observed_at": alert.observed_at.isoformat() if alert.observed_at else None,
        "statement_id": alert.statement_id,
        "statement_text": detail.get("text"),
        "what_changed": what_changed(alert),
        "subject": alert_subject(alert),
        "message": alert_message(alert),
        "detail": detail,
    }
    resource = {"prefect.resource.id": RESOURCE_PREFIX + alert.doi, "prefect.resource.name": alert.title or alert.doi}
    return {"event": event_name(alert.kind), "resource": resource, "payload": payload}


def alert_rows(alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    """The alerts as table-artifact rows (the run's ``citelake-alerts``)."""
    return [
        {
            "doi": alert.doi,
            "title": alert.title,
            "kind": alert.kind,
            "what changed": what_changed(alert),
            "statement": _quote(alert.detail.get("text")),
        }
        for alert in alerts
    ]


def readable_alerts(listed: pa.Table, *, quote_limit: int = 100) -> pa.Table:
    """The rows of :func:`list_alerts` for a terminal: page date, DOI, kind, title, what changed, the statement."""
    rows = []
    for row in listed.to_pylist():
        alert = Alert(row["alert_id"], row["doi"], row["kind"], row["run_id"], row["observed_at"], row["statement_id"], json.loads(row["detail"]))
        text = alert.detail.get("text") or ""
        rows.append(
            {
                "page date": _day(alert.observed_at),
                "doi": alert.doi,
                "kind": alert.kind,
                "title": alert.title,
                "what changed": what_changed(alert),
                "statement": text if len(text) <= quote_limit else text[: quote_limit - 1] + "…",
            }
        )
    names = ["page date", "doi", "kind", "title", "what changed", "statement"]
    return pa.Table.from_pylist(rows, schema=pa.schema([(name, pa.string()) for name in names]))
