"""Alerts delivered end to end: a real ``prefect server start``, a real SMTP server, a real HTTP receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from alert_pages import write_page
from test_flow_server import free_port, healthy, stop, wait_until

REPO = Path(__file__).resolve().parent.parent
DOI = "10.5555/delivered.alert"
TITLE = "Umbilical Cord Cells for Rheumatoid Arthritis: A Watched Paper"
SUPPORTING = "Our cohort confirms the safety profile reported for umbilical cord cells."
CONTRASTING = "In contrast to the earlier trial, we saw no lasting improvement of the joint scores."


class Mailbox:
    """An aiosmtpd handler keeping every message with the time it arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((time.time(), list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def http_receiver() -> tuple[ThreadingHTTPServer, list[tuple[float, dict]]]:
    received: list[tuple[float, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((time.time(), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def citelake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def plain_text(content: bytes) -> str:
    message = message_from_bytes(content, policy=policy.default)
    return message["Subject"] + "\n" + message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_alert_arrives_by_email_and_webhook_through_a_prefect_automation(tmp_path) -> None:
    source, lake = tmp_path / "reports", tmp_path / "lake"
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver, requests = http_receiver()
    webhook = f"http://127.0.0.1:{receiver.server_address[1]}/alerts"
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    client_env = env | {"PREFECT_API_URL": api_url}
    try:
        wait_until(lambda: healthy(api_url), "the server is healthy", [server])

        # A wrong SMTP port is found at set-up, in one line, and nothing is created.
        wrong = citelake("alerts", "notify", "--email", "me@example.com", "--smtp", f"127.0.0.1:{free_port()}", "--test", env=client_env)
        assert wrong.returncode == 1
        assert wrong.stderr.startswith("citelake alerts notify: test notification to me@example.com via 127.0.0.1:")
        assert len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr

        wrong = citelake("alerts", "notify", "--webhook", f"http://127.0.0.1:{free_port()}/nobody", "--test", env=client_env)
        assert wrong.returncode == 1
        assert wrong.stderr.startswith("citelake alerts notify: test notification to http://127.0.0.1:")
        assert len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr

        smtp_address = f"127.0.0.1:{smtp.port}"
        for attempt in range(2):  # the second time updates, never duplicates
            done = citelake("alerts", "notify", "--email", "me@example.com", "--smtp", smtp_address, "--test", env=client_env)
            assert done.returncode == 0, done.stderr
            assert f"test notification sent to me@example.com via {smtp_address}" in done.stdout
            assert ("updated" if attempt else "created") + " automation citelake-alerts-email" in done.stdout
        done = citelake("alerts", "notify", "--webhook", webhook, env=client_env)
        assert done.returncode == 0, done.stderr
        assert len(mailbox.messages) == 2 and not requests  # the two tests, nothing else yet
        mailbox.messages.clear()

        from prefect.automations import Automation
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url}):
            with get_client(sync_client=True) as client:
                names = sorted(automation.name for automation in client.read_automations())
            assert names == ["citelake-alerts-email", "citelake-alerts-webhook"]
            assert Automation.read(name="citelake-alerts-email").enabled

        # A watched paper: its first page, then a page that gains a contrasting statement.
        assert citelake("watch", "add", DOI, "--lake", str(lake), env=client_env).returncode == 0
        write_page(source, "old", datetime(2024, 1, 10, tzinfo=UTC), DOI, TITLE, 10, [(SUPPORTING, "Discussion", "supporting")])
        first = citelake("ingest", str(source), "--lake", str(lake), env=client_env)
        assert first.returncode == 0, first.stderr
        wait_until(lambda: mailbox.messages and requests, "the first_seen alert arrives", [server], timeout=120)
        time.sleep(3)  # nothing else is coming
        assert len(mailbox.messages) == 1 and len(requests) == 1
        assert "first seen" in plain_text(mailbox.messages[0][2])
        mailbox.messages.clear()
        requests.clear()

        write_page(source, "new", datetime(2024, 3, 20, tzinfo=UTC), DOI, TITLE, 12,
                   [(SUPPORTING, "Discussion", "supporting"), (CONTRASTING, "Results", "contrasting")])  # fmt: skip
        second = citelake("ingest", str(source), "--lake", str(lake), env=client_env)
        assert second.returncode == 0, second.stderr
        wait_until(lambda: len(mailbox.messages) >= 2 and len(requests) >= 2, "two alerts arrive", [server], timeout=120)
        time.sleep(3)

        # Two alerts (contrasting_added, tally_changed): one e-mail and one request each.
        texts = sorted(plain_text(content) for _, _, content in mailbox.messages)
        assert len(texts) == 2 and len(requests) == 2
        (contrasting_mail,) = [text for text in texts if text.startswith("citelake: contrasting added:")]
        assert f"citelake: contrasting added: {TITLE}" in contrasting_mail
        assert f"https://doi.org/{DOI}" in contrasting_mail
        assert f"“{CONTRASTING}”" in contrasting_mail
        assert "a new contrasting statement in Results" in contrasting_mail
        assert contrasting_mail.splitlines()[1:3] == [TITLE, f"https://doi.org/{DOI}"]  # reads as lines, not one run-on
        assert {tuple(rcpt) for _, rcpt, _ in mailbox.messages} == {("me@example.com",)}
        (contrasting_request,) = [body for _, body in requests if body["subject"].startswith("citelake: contrasting added")]
        assert DOI in contrasting_request["body"] and CONTRASTING in contrasting_request["body"]

        # The events are in Prefect, related to the run.
        from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

        with temporary_settings({PREFECT_API_URL: api_url}):
            with get_client(sync_client=True) as client:
                page = client.read_events(
                    filter=EventFilter(
                        event=EventNameFilter(prefix=["citelake.alert."]),
                        resource=EventResourceFilter(id=[f"citelake.paper.{DOI}"]),
                    ),
                    limit=50,
                )
        events = sorted(event.event for event in page.events)
        assert events == ["citelake.alert.contrasting-added", "citelake.alert.first-seen", "citelake.alert.tally-changed"]
        (contrasting_event,) = [event for event in page.events if event.event == "citelake.alert.contrasting-added"]
        assert contrasting_event.payload["statement_text"] == CONTRASTING
        assert contrasting_event.payload["title"] == TITLE
        assert any(related.role == "flow-run" for related in contrasting_event.related)

        # From the run's commit to the e-mail in the mailbox.
        from tasks.lake.session import open_lake
        from tasks.lake.location import LakeLocation

        con = open_lake(LakeLocation(path=lake), read_only=True)
        try:
            (committed,) = con.execute("select max(finished_at) from runs").fetchone()
        finally:
            con.close()
        arrived = min(arrived for arrived, _, content in mailbox.messages if b"contrasting added" in content)
        webhook_arrived = min(arrived for arrived, body in requests if body["subject"].startswith("citelake: contrasting added"))
        print(
            f"\nalert delivery: commit → e-mail {arrived - committed.timestamp():.2f} s, "
            f"commit → webhook {webhook_arrived - committed.timestamp():.2f} s"
        )
    finally:
        stop(server)
        smtp.stop()
        receiver.shutdown()
