"""Alerts: tell a person when an hourly or report run ends Failed, Crashed or TimedOut.

The `alert` deployment in prefect.yaml carries the triggers (Prefect automations created by
`prefect deploy`); each failed run of a watched flow starts one `alert` run, which sends one message
through the Prefect notification block named `notification_block` (Slack, Teams, PagerDuty, SendGrid
email or a plain webhook: whichever the team created, see docs/runbook.md, section 6).
"""
from __future__ import annotations

from uuid import UUID

from prefect import flow, get_run_logger
from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.core import Block
from prefect.client.orchestration import get_client

ALERT_TIMEOUT_S = 5 * 60     # a few API calls and one notification; a hung notifier must not pile up runs
DEFAULT_BLOCK = "desk-alerts"


class AlertNotSent(RuntimeError):
    """The alert could not be delivered; the message carries the alert's text, so it is not lost."""


@flow(name="alert", log_prints=True, timeout_seconds=ALERT_TIMEOUT_S, retries=2, retry_delay_seconds=60)
def alert(flow_run: str, notification_block: str = DEFAULT_BLOCK) -> str:
    """flow_run: the failed run, as the triggering event names it (`prefect.flow-run.<id>`) or its id.
    notification_block: the name of the Prefect notification block that delivers the message."""
    log = get_run_logger()
    run_id = UUID(flow_run.removeprefix("prefect.flow-run."))
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        flow_name = client.read_flow(run.flow_id).name
        deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
        state = run.state.name if run.state else "unknown"
        message = (run.state.message if run.state else None) or "no message"
        text = (f"{flow_name}{'/' + deployment if deployment else ''} run {run.name} ({run_id}) ended {state}: "
                f"{message}")
        log.error("%s", text)
        block = _notification_block(client, notification_block)
    if block is None:
        raise AlertNotSent(f"no notification block named {notification_block!r} (create one: docs/runbook.md, "
                           f"section 6); the alert was: {text}")
    block.notify(body=text, subject=f"signal desk: {flow_name} run {state}")
    return text


def _notification_block(client, name: str) -> NotificationBlock | None:
    """The notification block of that name, whatever its type (block names are unique per type)."""
    for document in client.read_block_documents(include_secrets=True):
        if document.name == name:
            block = Block._from_block_document(document)
            if isinstance(block, NotificationBlock):
                return block
    return None
