"""A run seen by ``watch``, look after look: RunViews as load_run builds them, without AWS.

The run is long-named, costly to describe and goes through every kind of stage a person watches:
training (a job with details), the evaluation, the LLM judge, a wait for approval with a deadline,
the purchase coming online, then a failure with a long cause. Used by tests/operate/test_watch.py,
in-process and as the child process of the pseudo-terminal test (``python -m
tests.operate.watch_views``).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any, Final

from pipeline.operate import runs, watch
from pipeline.operate.throughput import Throughput
from tests.operate.helpers import MODEL_ARN, NOVA, PT_ARN, REGION, nova_spec, plan_for

RUN_ID: Final = "support-bot-for-the-billing-team-with-a-long-name-v12-0a1b2c3d4e"
ENV: Final = "staging-eu"
START: Final = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LONG_CAUSE: Final = (
    "Custom model below the bar (rougeL): custom model quality 0.412 is below the minimum 0.600; "
    "improvement over the base model -0.020 (0.412 vs 0.432) is below the minimum +0.050. "
    "16 prompt(s) from s3://bedrockcustomization-staging-eu-storagetrainingbucket07ee-ef98333ad976/"
    "datasets/57372ed7d358bc2b0aba1731a7d4dc654062914cd219294853d40ec5183d8fd5/eval-prompts.jsonl"
)


def _plan() -> dict[str, Any]:
    spec = nova_spec(run_name="support-bot")
    plan = plan_for(spec, RUN_ID)
    plan["judge"] = {"model": "amazon.nova-pro-v1:0", "pollSchedule": [30, 60, 120, 240]}
    # A training price no source gives, whatever the catalog says of Nova Micro today: the sums
    # these tests read have one priced part (the judge) and one without a price (training).
    plan["estimate"] = {**plan["estimate"], "judgeUsd": 0.286, "trainingUsd": None}
    return plan


def view(
    minutes: float,
    state: str,
    *,
    status: str = "RUNNING",
    job: str | None = "InProgress",
    doc: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    throughput: Throughput | None = None,
    ended_in: str | None = None,
) -> runs.RunView:
    plan = _plan()
    now = START + dt.timedelta(minutes=minutes)
    state_doc: dict[str, Any] = {"preflight": {"valid": True, "summary": "VALID", "plan": plan}}
    state_doc |= doc or {}
    built = runs.RunView(
        run_id=RUN_ID,
        environment=ENV,
        region=REGION,
        execution_arn=f"arn:aws:states:{REGION}:123456789012:execution:wf:{RUN_ID}",
        status=status,
        started=START,
        stopped=None if status == "RUNNING" else now,
        current_state=state,
        spec={"baseModel": NOVA, "customizationType": "FINE_TUNING"},
        state=state_doc,
        error=None,
        cause=None,
        now=now,
        approval_request=request,
        current_state_since=now - dt.timedelta(seconds=20),
        stage_since=now - dt.timedelta(minutes=min(minutes, 3)),
        throughput=throughput,
        throughput_arn=throughput.arn if throughput else None,
        ended_in=ended_in,
    )
    if job is not None:
        built.job = runs.Job.from_api(
            RUN_ID,
            {
                "status": job,
                "creationTime": START,
                "statusDetails": {
                    "trainingDetails": {"status": job},
                    "validationDetails": {"status": "Completed"},
                },
            },
        )
    return built


LOSS: Final = {"passed": True, "trainingLoss": 0.82, "validationLoss": 1.11, "outputModelArn": MODEL_ARN}
EVALUATION: Final = {
    "passed": True,
    "judged": True,
    "custom": {"quality": 0.846, "prompts": 16},
    "base": {"quality": 0.434, "prompts": 16},
}
JUDGE: Final = {
    "passed": True,
    "judged": True,
    "metrics": {"Builtin.Correctness": {"custom": 0.82, "base": 0.61, "minScore": 0.7}},
    "reasons": [],
}


def sequence() -> list[runs.RunView]:
    """The looks a watch takes, with repeats (nothing changed between two checks) on purpose."""
    request = {
        "requestedAt": (START + dt.timedelta(minutes=50)).isoformat(),
        "expiresAt": (START + dt.timedelta(minutes=50, hours=24)).isoformat(),
        "purchase": {"stage": "serving", "modelUnits": 1},
    }
    judged = {"loss": LOSS, "evaluation": EVALUATION, "judgeJobs": {"custom": "a", "base": "b"}}
    pt = Throughput.from_api(
        {
            "provisionedModelArn": PT_ARN,
            "provisionedModelName": f"{RUN_ID}-pt",
            "modelArn": MODEL_ARN,
            "foundationModelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{NOVA}",
            "modelUnits": 1,
            "status": "Creating",
            "creationTime": START + dt.timedelta(minutes=56),
        },
        {"bedrock-customization:run-id": RUN_ID, "bedrock-customization:purpose": "serving"},
    )
    return [
        view(0.2, "Check the run spec and datasets", job=None),
        view(2, "Train the custom model (with validation data)"),
        view(30, "Train the custom model (with validation data)"),
        view(31, "Train the custom model (with validation data)"),
        view(40, "Wait before checking the evaluation vehicle again", job="Completed", doc={"loss": LOSS}),
        view(41, "Check the evaluation vehicle", job="Completed", doc={"loss": LOSS}),
        view(44, "Wait before checking the judge again", job="Completed", doc=judged),
        view(47, "Check the judge", job="Completed", doc=judged),
        view(
            51,
            "Ask for approval to serve",
            job="Completed",
            doc={**judged, "judge": JUDGE},
            request=request,
        ),
        view(
            55, "Ask for approval to serve", job="Completed", doc={**judged, "judge": JUDGE}, request=request
        ),
        view(
            58,
            "Wait before checking the throughput again",
            job="Completed",
            doc={
                **judged,
                "judge": JUDGE,
                "approval": {"approved": True, "approver": "arn:aws:sts::1:x/y", "reason": "ok"},
            },
            throughput=pt,
        ),
        view(
            61,
            "Run failed",
            status="FAILED",
            job="Completed",
            doc={**judged, "judge": JUDGE, "failure": {"Error": "SmokeCheckFailed", "Cause": LONG_CAUSE}},
            ended_in="Smoke-check the provisioned throughput",
        ),
    ]


def main() -> int:
    """The pseudo-terminal test's child: watch the sequence on this process's terminal."""
    looks = iter(sequence())
    outcome = watch.follow(
        lambda: next(looks),
        display=watch.display_for(sys.stdout, as_json=False),
        interval=0.01,
        sleep=lambda _seconds: None,
    )
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
