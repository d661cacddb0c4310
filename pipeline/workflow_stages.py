"""The one table of workflow stages: every state of the customization workflow, in plain words.

A person following a run reads the stage, never a state name: "waiting for the LLM judge", not
"Wait before checking the judge again". ``status``, ``watch``, ``list`` and the simulation's
timeline all read this table, and a test synthesizes the stack and fails for any state of the
definition that has no entry here (tests/infra/test_stage_labels.py). A new state gets its line
here in the same change that adds it to infra/constructs/customization_workflow.py.

Each entry gives the stage's label (what the run is doing, or how it ended, at that state) and its
group (the phase of the run: the column ``list`` shows and the heading of the simulation's
timeline). Several states share a label when a person cannot tell them apart: a wait, its check
and its Choice are all "waiting for ...".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pipeline.workflow_names import (
    GUARD_BUY_COMMITMENT,
    GUARD_BUY_SERVING,
    GUARD_KEEP_DEPLOYMENT,
    GUARD_PROMOTE,
    GUARD_REUSE,
    PROMOTE,
    PURCHASE_WITHOUT_VERDICT_STATE,
    RECORD_NEW_SLOT_ON_DEPLOYMENT,
    RECORD_NEW_SLOT_ON_THROUGHPUT,
    RECORD_SLOT,
    ROLL_BACK,
    SERVE_ON_DEPLOYMENT,
    SERVES_FROM_SLOT,
    SLOT_ANSWERS,
    SLOT_TAKEN,
    SMOKE_SLOT,
    STEP_ERROR_TEXT,
    TAKE_SLOT,
    USE_EARLIER_MODEL,
    VEHICLE_SERVES,
    WAIT_FOR_SLOT,
)

# The phases of a run, in the order a run goes through them.
PREFLIGHT: Final = "preflight"
TRAINING: Final = "training"
LOSS_GATE: Final = "loss gate"
EVALUATION: Final = "evaluation"
JUDGE: Final = "LLM judge"
APPROVAL: Final = "approval"
SERVING: Final = "serving"
RELEASE: Final = "release"
RECORD: Final = "record"
FAILURE: Final = "failure handling"
GROUPS: Final = (
    PREFLIGHT,
    TRAINING,
    LOSS_GATE,
    EVALUATION,
    JUDGE,
    APPROVAL,
    SERVING,
    RELEASE,
    RECORD,
    FAILURE,
)


@dataclass(frozen=True)
class Stage:
    label: str
    group: str
    # A person is asked to act here (approve or reject); ``watch --until approval`` stops here.
    human: bool = False


def _s(label: str, group: str, *, human: bool = False) -> Stage:
    return Stage(label, group, human)


_VEHICLE_WAIT: Final = _s("bringing the model online to evaluate it", EVALUATION)
_JUDGE_WAIT: Final = _s("waiting for the LLM judge", JUDGE)
_THROUGHPUT_WAIT: Final = _s("waiting for the throughput to come online", SERVING)
_THROUGHPUT_SMOKE: Final = _s("smoke-checking the throughput", SERVING)
_DEPLOYMENT_SMOKE: Final = _s("smoke-checking the deployment", SERVING)
_RELEASE_ALL: Final = _s("releasing what the run bought", FAILURE)
_SLOT_WAIT: Final = _s("waiting for the slot to change model", SERVING)
_ROLLBACK_WAIT: Final = _s("waiting for the slot to roll back", SERVING)


def _approval(stage: str, purchase: str) -> dict[str, Stage]:
    """An approval wait (a callback), the Choice on its answer and its three ways to say no."""
    wait = f"Ask for approval to {stage}"
    return {
        wait: _s(f"waiting for approval to {stage}", APPROVAL, human=True),
        f"{wait}: timed out": _s("no approval in time (counts as rejected)", APPROVAL),
        f"{wait}: answer not understood": _s("approval answer not understood (rejected)", APPROVAL),
        f"{wait}: rejected": _s(f"{purchase} rejected", APPROVAL),
        # Only the decision of record counts: the answer is checked against it first.
        f"{wait}: verify the answer": _s("checking the approval against its record", APPROVAL),
        f"{wait}: is the answer on record?": _s("checking the approval against its record", APPROVAL),
        f"{wait}: not verified": _s("approval not on record (counts as rejected)", APPROVAL),
        f"{wait}: verification failed": _s("the approval could not be checked", APPROVAL),
    }


def _failed_as() -> dict[str, Stage]:
    """The Pass that names each unexpected failure ("Failed: <project error>") before the failure path."""
    labels = {
        "TrainingJobFailed": "the training job failed",
        "TrainingTimedOut": "the training job timed out",
        "TrainingQuotaExceeded": "no training slot freed in time",
        "PreflightError": "the preflight check could not run",
        "LossCheckError": "reading the loss failed",
        "EvaluationError": "the comparison failed",
        "StatusCheckError": "a status check failed",
        "JudgeError": "the LLM judge step failed",
        "ApprovalRequestError": "asking for approval failed",
        "ApprovalVerifyError": "checking the approval failed",
        "ReleaseError": "releasing the evaluation vehicle failed",
        "DeploymentCreateError": "creating the deployment failed",
        "EvaluationPurchaseError": "buying the evaluation throughput failed",
        "ThroughputPurchaseError": "buying the serving throughput failed",
        "SlotError": "changing the serving slot failed",
    }
    unknown = set(labels) - set(STEP_ERROR_TEXT)
    if unknown:
        raise ValueError(f"stage labels for errors pipeline.workflow_names does not define: {unknown}")
    return {f"Failed: {error}": _s(label, FAILURE) for error, label in labels.items()}


# Every state of infra/constructs/customization_workflow.py, by its exact name.
STAGES: Final[Mapping[str, Stage]] = {
    # -- preflight --------------------------------------------------------------------------------
    "Start the run": _s("starting", PREFLIGHT),
    "Check the run spec and datasets": _s("checking the run spec and datasets", PREFLIGHT),
    "Is the run spec valid?": _s("checking the run spec and datasets", PREFLIGHT),
    "Preflight failed": _s("run spec or data refused", PREFLIGHT),
    # -- training ---------------------------------------------------------------------------------
    "Which kind of customization job?": _s("starting the training job", TRAINING),
    "Train the custom model (with validation data)": _s("training", TRAINING),
    "Train the custom model": _s("training", TRAINING),
    "Distill the teacher model into the custom model": _s("training (distillation)", TRAINING),
    "Train the custom model with reinforcement (grader)": _s("training (reinforcement)", TRAINING),
    USE_EARLIER_MODEL: _s("promoting an earlier run's model: nothing to train", TRAINING),
    # -- loss gate --------------------------------------------------------------------------------
    "Read training and validation loss": _s("reading the loss", LOSS_GATE),
    "Is the loss within the bar?": _s("checking the loss bar", LOSS_GATE),
    "Loss above the bar": _s("loss above the bar", LOSS_GATE),
    # -- evaluation -------------------------------------------------------------------------------
    "How is the custom model evaluated?": _s("choosing what to evaluate on", EVALUATION),
    **_approval("evaluate", "evaluation purchase"),
    "Was the evaluation purchase approved?": _s("reading the approval to evaluate", APPROVAL),
    "Deploy the custom model on demand": _s("deploying the model on demand to evaluate it", EVALUATION),
    "Buy throughput to evaluate on": _s("buying throughput to evaluate on", EVALUATION),
    "Wait for the evaluation vehicle": _VEHICLE_WAIT,
    "Check the evaluation vehicle": _VEHICLE_WAIT,
    "Is the evaluation vehicle ready?": _VEHICLE_WAIT,
    "Wait before checking the evaluation vehicle again": _VEHICLE_WAIT,
    "Evaluation vehicle failed": _s("the model could not be brought online", EVALUATION),
    "Evaluation vehicle not ready in time": _s("the model was not online in time", EVALUATION),
    "Compare the custom model with its base model": _s("comparing with the base model", EVALUATION),
    VEHICLE_SERVES: _s("releasing what the model was evaluated on", RELEASE),
    "Does the custom model meet the bar?": _s("checking the quality bar", EVALUATION),
    "Custom model below the bar": _s("below the quality bar", EVALUATION),
    "Evaluation not judged": _s("quality not judged (too many failed calls)", EVALUATION),
    # -- LLM judge --------------------------------------------------------------------------------
    "Is the custom model judged by an LLM?": _s("checking the quality bar", EVALUATION),
    "Start the LLM judge's evaluation jobs": _s("starting the LLM judge", JUDGE),
    "Wait for the judge": _JUDGE_WAIT,
    "Check the judge": _JUDGE_WAIT,
    "Is the judge ready?": _JUDGE_WAIT,
    "Wait before checking the judge again": _JUDGE_WAIT,
    "Read the judge's scores": _s("reading the LLM judge's scores", JUDGE),
    "Does the custom model meet the judge's bars?": _s("checking the LLM judge's bars", JUDGE),
    "Judge job failed": _s("an LLM judge job failed", JUDGE),
    "Judge not done in time": _s("the LLM judge was not done in time", JUDGE),
    "Custom model below the judge's bar": _s("below the LLM judge's bar", JUDGE),
    # -- serving ----------------------------------------------------------------------------------
    "How is the custom model served?": _s("choosing how to serve", SERVING),
    **_approval("serve", "serving purchase"),
    "Was the purchase approved?": _s("reading the approval to serve", APPROVAL),
    "Buy provisioned throughput (no commitment)": _s("buying throughput to serve", SERVING),
    "Buy provisioned throughput (commitment)": _s("buying committed throughput to serve", SERVING),
    "Serve on the evaluation throughput": _s("keeping the evaluation throughput to serve", SERVING),
    SERVE_ON_DEPLOYMENT: _s("keeping the deployment to serve", SERVING),
    GUARD_BUY_SERVING: _s("checking the verdict before buying", SERVING),
    GUARD_BUY_COMMITMENT: _s("checking the verdict and approval before buying", SERVING),
    GUARD_REUSE: _s("checking the verdict before serving", SERVING),
    GUARD_KEEP_DEPLOYMENT: _s("checking the verdict before serving", SERVING),
    PURCHASE_WITHOUT_VERDICT_STATE: _s("purchase refused: no verdict", FAILURE),
    "Wait for the throughput": _THROUGHPUT_WAIT,
    "Check the throughput": _THROUGHPUT_WAIT,
    "Is the throughput ready?": _THROUGHPUT_WAIT,
    "Wait before checking the throughput again": _THROUGHPUT_WAIT,
    "Throughput failed": _s("the throughput failed", SERVING),
    "Throughput not in service in time": _s("the throughput was not online in time", SERVING),
    "Smoke-check the provisioned throughput": _THROUGHPUT_SMOKE,
    "Does the throughput answer?": _THROUGHPUT_SMOKE,
    "Smoke-check the on-demand deployment": _DEPLOYMENT_SMOKE,
    "Does the deployment answer?": _DEPLOYMENT_SMOKE,
    "Smoke check failed": _s("the smoke check failed", SERVING),
    # -- serving slots ----------------------------------------------------------------------------
    TAKE_SLOT: _s("taking the serving slot", SERVING),
    SLOT_TAKEN: _s("taking the serving slot", SERVING),
    WAIT_FOR_SLOT: _s("waiting in line for the serving slot", SERVING),
    "Serving slot changed": _s("slot changed since the comparison", SERVING),
    "Serving slot busy": _s("slot held by another promotion", SERVING),
    GUARD_PROMOTE: _s("checking the verdict before promoting", SERVING),
    PROMOTE: _s("promoting into the serving slot", SERVING),
    "Wait for the serving slot": _SLOT_WAIT,
    "Check the serving slot": _SLOT_WAIT,
    "Is the serving slot ready?": _SLOT_WAIT,
    "Wait before checking the serving slot again": _SLOT_WAIT,
    "Slot change failed": _s("slot change failed: rolling back", SERVING),
    "Slot change not done in time": _s("slot change too slow: rolling back", SERVING),
    SMOKE_SLOT: _s("smoke-checking the serving slot", SERVING),
    SLOT_ANSWERS: _s("smoke-checking the serving slot", SERVING),
    "Slot smoke check failed": _s("slot did not answer: rolling back", SERVING),
    ROLL_BACK: _s("rolling the serving slot back", SERVING),
    "Wait for the rollback": _ROLLBACK_WAIT,
    "Check the rollback": _ROLLBACK_WAIT,
    "Is the rollback ready?": _ROLLBACK_WAIT,
    "Wait before checking the rollback again": _ROLLBACK_WAIT,
    "Serving slot rolled back": _s("slot rolled back to its champion", FAILURE),
    "Serving slot not rolled back": _s("slot rollback failed", FAILURE),
    SERVES_FROM_SLOT: _s("recording the serving slot", RECORD),
    RECORD_SLOT: _s("recording the serving slot", RECORD),
    RECORD_NEW_SLOT_ON_THROUGHPUT: _s("recording the new serving slot", RECORD),
    RECORD_NEW_SLOT_ON_DEPLOYMENT: _s("recording the new serving slot", RECORD),
    # -- release and record -----------------------------------------------------------------------
    "Release the evaluation vehicle": _s("releasing what the model was evaluated on", RELEASE),
    "Record the run": _s("recording the run", RECORD),
    "Compose a success notice without the record": _s("sending the success notice", RECORD),
    "Notify: run succeeded": _s("sending the success notice", RECORD),
    "Run complete": _s("done", RECORD),
    # -- the failure path -------------------------------------------------------------------------
    **_failed_as(),
    "Release what this run bought": _RELEASE_ALL,
    "Record the failed run": _s("recording the failure", FAILURE),
    "Compose a notice without the record": _s("sending the failure notice", FAILURE),
    "Notify: run failed": _s("sending the failure notice", FAILURE),
    "Run failed": _s("failed", FAILURE),
}

# What a run that has not entered a state yet, or has ended, is shown as.
STARTING: Final = Stage("starting", PREFLIGHT)
ENDED: Final[Mapping[str, Stage]] = {
    "SUCCEEDED": Stage("done", RECORD),
    "ABORTED": Stage("cancelled", FAILURE),
    "TIMED_OUT": Stage("timed out (the workflow's 30-day limit)", FAILURE),
}


def stage(state: str | None) -> Stage:
    """The stage of a state; a state this table does not know yet is shown by its own name."""
    if not state:
        return STARTING
    found = STAGES.get(state)
    return found if found is not None else Stage(state, "")


def label(state: str | None) -> str:
    return stage(state).label


def group(state: str | None) -> str:
    return stage(state).group


def waits_for_a_person(state: str | None) -> bool:
    return stage(state).human
