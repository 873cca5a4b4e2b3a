"""The Prefect side of alerts: the ``detect_alerts`` task of the ingest flow.

After a run's commit it stores the alerts of the watched papers the run changed
(``tasks.alerts.detect.detect_in_lake``, a lake transaction of its own), emits one
Prefect event per new alert (``citelake.alert.<kind>``, resource
``citelake.paper.<doi>``, related to the flow run) for automations to act on,
and publishes the run's ``citelake-alerts`` table artifact. A failure here is
logged as a warning and never fails the committed run: the next run's detection
starts where the last one that succeeded stopped.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run

from tasks.alerts.detect import Alert, alert_event, alert_rows, detect_in_lake
from tasks.lake.summary import IngestSummary
from tasks.lake.location import LakeLocation

ALERTS_KEY = "citelake-alerts"


def emit_alert_events(alerts: list[Alert]) -> int:
    """One Prefect event per alert, related to the current flow run (if any); returns how many were emitted."""
    related = []
    if flow_run.id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run.id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": flow_run.name or str(flow_run.id),
            }
        )
    emitted = 0
    for alert in alerts:
        if emit_event(**alert_event(alert), related=related) is not None:
            emitted += 1
    return emitted


@task(cache_policy=NO_CACHE)
def detect_alerts(location: LakeLocation, summary: IngestSummary) -> list[Alert]:
    """Store, emit and publish the alerts of what committed runs changed about watched papers."""
    logger = get_run_logger()
    try:
        detection = detect_in_lake(location, run_id=summary.run_id)
    except Exception as error:  # the run is committed whatever happens here
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        logger.warning("alert detection failed, the run stays committed and the next run catches up: %s", message)
        return []
    emitted = emit_alert_events(detection.alerts)
    logger.info(
        "%d alerts for watched papers (snapshots %s..%s), %d events emitted",
        len(detection.alerts), detection.from_snapshot, detection.to_snapshot, emitted,
    )
    create_table_artifact(
        alert_rows(detection.alerts),
        key=ALERTS_KEY,
        description=f"Watched papers that run {summary.run_id} changed: one row per alert",
    )
    return detection.alerts
