"""Delivering alerts through Prefect: a notification block and an automation on ``citelake.alert.*``.

``citelake alerts notify`` saves a notification block (for e-mail an Apprise
block with a ``mailto://`` URL, for a webhook a ``CustomWebhookNotificationBlock``) and an automation whose
``EventTrigger`` fires on every ``citelake.alert.*`` event of a
``citelake.paper.*`` resource and whose ``SendNotification`` action sends the
message rendered from the event (:data:`SUBJECT_TEMPLATE`, :data:`BODY_TEMPLATE`,
Jinja over ``event.payload`` and ``event.resource``). Both are saved by name, so
setting up again updates them instead of adding a second. The Prefect server's
triggers and actions services do the sending, so alerts arrive whether the
ingest runs from ``citelake ingest``, ``citelake serve`` or a worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit
from uuid import UUID

from prefect.automations import Automation
from prefect.blocks.abstract import NotificationBlock, NotificationError
from prefect.blocks.notifications import AppriseNotificationBlock, CustomWebhookNotificationBlock, SlackWebhook
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from tasks.alerts.detect import EVENT_PREFIX, RESOURCE_PREFIX
from tasks.lake.errors import LakeError

EMAIL_NAME = "citelake-alerts-email"
WEBHOOK_NAME = "citelake-alerts-webhook"
SENDER = "citelake@localhost"

SUBJECT_TEMPLATE = "citelake: {{ event.payload.kind | replace('_', ' ') }}: {{ event.payload.title or event.payload.doi }}"
BODY_TEMPLATE = """{{ event.payload.title or '(untitled)' }}
https://doi.org/{{ event.payload.doi }}

{{ event.payload.what_changed }}
{% if event.payload.statement_text %}
“{{ event.payload.statement_text }}”
{% endif %}
Paper: {{ event.resource.id }}, alert {{ event.payload.alert_id[:12] }}, ingest run {{ event.payload.run_id }}.
"""

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class NotifySetupError(LakeError):
    """The notification cannot be set up as asked; the message is one line saying why."""


@dataclass(frozen=True, slots=True)
class NotifySetup:
    """What was saved: the block and the automation, and whether they replaced earlier ones of that name."""

    name: str
    block_id: UUID
    automation_id: UUID
    updated: bool
    tested: bool


def email_url(address: str, smtp: str) -> str:
    """The Apprise URL that mails ``address`` through the plain SMTP server ``HOST:PORT`` (no TLS, no login), as plain text."""
    if not _ADDRESS.match(address):
        raise NotifySetupError(f"--email {address!r} is not an e-mail address")
    host, _, port = smtp.rpartition(":")
    if not host or not port.isdigit():
        raise NotifySetupError(f"--smtp {smtp!r} is not HOST:PORT (e.g. 127.0.0.1:25)")
    return f"mailto://{host}:{port}?from={quote(SENDER)}&to={quote(address)}&mode=insecure&format=text"


def email_block(address: str, smtp: str) -> AppriseNotificationBlock:
    """An Apprise notification block holding the ``mailto://`` URL.

    ``AppriseNotificationBlock`` itself is an interface class that Prefect
    refuses to save, and the server's notification action can only load block
    classes Prefect itself defines (a citelake subclass would fail there). Of
    Prefect's concrete Apprise blocks, ``SlackWebhook`` takes any Apprise URL: a
    URL that is not a Slack webhook is handed to Apprise as it is (its
    ``block_initialization``), so it is the generic Apprise block here.
    """
    return SlackWebhook(url=email_url(address, smtp), notify_type="info", allow_private_urls=True)


def webhook_block(url: str) -> CustomWebhookNotificationBlock:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NotifySetupError(f"--webhook {url!r} is not an http(s) URL")
    return CustomWebhookNotificationBlock(
        name=WEBHOOK_NAME,
        url=url,
        method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}", "source": "citelake"},
        allow_private_urls=True,
        timeout=10,
    )


def send_test(block: NotificationBlock, where: str) -> None:
    """Send one test notification now; :class:`NotifySetupError` with one line saying what failed."""
    try:
        with block.raise_on_failure():
            block.notify(
                body="citelake alerts will be sent here: the title and DOI of a watched paper, what changed, "
                "and the statement quoted.",
                subject="citelake: test notification",
            )
    except NotificationError as error:
        # Apprise's log lines, without their "[WARNING]: " prefixes.
        log = "; ".join(re.sub(r"^\[\w+\]:\s*", "", line.strip()) for line in (error.log or "").splitlines() if line.strip())
        raise NotifySetupError(f"test notification to {where} failed: {log or 'the sender reported a failure'}") from None
    except Exception as error:  # httpx, OSError, …: whatever the transport said
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NotifySetupError(f"test notification to {where} failed: {message}") from None


def alert_automation(name: str, block_id: UUID, description: str) -> Automation:
    """The automation: every ``citelake.alert.*`` event of a watched paper sends one notification through the block."""
    return Automation(
        name=name,
        description=description,
        enabled=True,
        trigger=EventTrigger(
            expect={EVENT_PREFIX + "*"},
            match={"prefect.resource.id": RESOURCE_PREFIX + "*"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT_TEMPLATE, body=BODY_TEMPLATE)],
    )


def set_up(name: str, block: NotificationBlock, *, where: str, test: bool) -> NotifySetup:
    """Test the block if asked, save it as ``name``, and create or update the automation of that name."""
    if test:
        send_test(block, where)
    block_id = block.save(name, overwrite=True)
    automation = alert_automation(name, block_id, f"citelake alerts to {where}")
    try:
        existing = Automation.read(name=name)
    except ValueError:
        existing = None
    if existing is None:
        automation.create()
    else:
        automation.id = existing.id
        automation.update()
    return NotifySetup(name=name, block_id=block_id, automation_id=automation.id, updated=existing is not None, tested=test)
