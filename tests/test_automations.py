"""automations.yaml: what `prefect automation create --from-file` takes, and the heartbeats it relies on.
tests/test_separate_hosts.py sees it mark a killed host's run Crashed on a real server."""
from __future__ import annotations

from datetime import timedelta

import yaml
from prefect.events.schemas.automations import AutomationCore, Posture

from tests.test_deployment import ROOT


def _automations() -> list[AutomationCore]:
    data = yaml.safe_load((ROOT / "automations.yaml").read_text(encoding="utf-8"))
    return [AutomationCore.model_validate(a) for a in data["automations"]]


def test_a_flow_run_that_falls_silent_is_marked_crashed():
    [silent] = _automations()
    trigger = silent.trigger
    assert trigger.posture == Posture.Proactive and trigger.after == {"prefect.flow-run.heartbeat"}
    assert {"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
            "prefect.flow-run.Crashed"} <= trigger.expect
    assert trigger.for_each == {"prefect.resource.id"}
    [action] = silent.actions
    assert action.type == "change-flow-run-state" and action.state.value == "CRASHED"


def test_every_deployment_sends_heartbeats_often_enough_for_it():
    [silent] = _automations()
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in spec["deployments"]:
        env = deployment["work_pool"]["job_variables"]["env"]
        every = int(env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"])
        # two heartbeats missed at least, so a busy run is not taken for a dead one
        assert 30 <= every and timedelta(seconds=2 * every) < silent.trigger.within, deployment["name"]
