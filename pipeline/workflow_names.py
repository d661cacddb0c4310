"""Names of the workflow's states and errors that code outside the construct relies on.

The state machine (infra/constructs/customization_workflow.py) creates the states by these names;
the money-path proof (tests/infra/test_money_paths.py), the simulation's invariants and the CLI's
run view find them by the same names. A state renamed here is renamed everywhere.
"""

from __future__ import annotations

from typing import Final

from pipeline.retries import JOB_QUEUE_HOURS

# -- what the run buys, creates or keeps -----------------------------------------------------------
BUY_EVALUATION: Final = "Buy throughput to evaluate on"
DEPLOY_EVALUATION: Final = "Deploy the custom model on demand"
BUY_SERVING: Final = "Buy provisioned throughput (no commitment)"
BUY_COMMITMENT: Final = "Buy provisioned throughput (commitment)"
SERVE_ON_EVALUATION_THROUGHPUT: Final = "Serve on the evaluation throughput"
SERVE_ON_DEPLOYMENT: Final = "Serve on the on-demand deployment"

# -- the gates, the guards before each serving purchase, and the release of the vehicle -----------
EVALUATE: Final = "Compare the custom model with its base model"
QUALITY_GATE: Final = "Does the custom model meet the bar?"
VEHICLE_SERVES: Final = "Does the evaluation vehicle serve afterwards?"
RELEASE_VEHICLE: Final = "Release the evaluation vehicle"
JUDGE_START: Final = "Start the LLM judge's evaluation jobs"
JUDGE_VERDICT: Final = "Read the judge's scores"
JUDGE_GATE: Final = "Does the custom model meet the judge's bars?"
GUARD_BUY_SERVING: Final = "Is the no-commitment purchase backed by a verdict?"
GUARD_BUY_COMMITMENT: Final = "Is the commitment backed by a verdict and an approval?"
GUARD_REUSE: Final = "Is serving on the evaluation throughput backed by a verdict?"
GUARD_KEEP_DEPLOYMENT: Final = "Is keeping the deployment backed by a verdict?"
PURCHASE_WITHOUT_VERDICT_STATE: Final = "Purchase without a verdict"
# -- serving slots (pipeline.slots) ----------------------------------------------------------------
TAKE_SLOT: Final = "Take the serving slot"
SLOT_TAKEN: Final = "Is the serving slot ours?"
WAIT_FOR_SLOT: Final = "Wait in line for the serving slot"
GUARD_PROMOTE: Final = "Is the promotion backed by a verdict?"
PROMOTE: Final = "Promote into the serving slot"
SMOKE_SLOT: Final = "Smoke-check the serving slot"
SLOT_ANSWERS: Final = "Does the serving slot answer?"
ROLL_BACK: Final = "Roll the serving slot back"
RECORD_SLOT: Final = "Record the serving slot"
# A first promotion: the slot is created on what the run serves from.
RECORD_NEW_SLOT_ON_THROUGHPUT: Final = "Record the new serving slot on the throughput"
RECORD_NEW_SLOT_ON_DEPLOYMENT: Final = "Record the new serving slot on the deployment"
SERVES_FROM_SLOT: Final = "Does the run serve from a slot?"
ASK_TO_EVALUATE: Final = "Ask for approval to evaluate"
ASK_TO_SERVE: Final = "Ask for approval to serve"

# A promotion of an earlier run's model (pipeline.promotion) trains nothing.
USE_EARLIER_MODEL: Final = "Use the model of an earlier run"

# -- the failure path ------------------------------------------------------------------------------
RELEASE_ALL: Final = "Release what this run bought"
RUN_FAILED: Final = "Run failed"

# -- the retrying release (infra/constructs/durable_release.py): its own small state machine ------
RELEASE_ATTEMPT: Final = "Release what is left"
RELEASE_DECIDE: Final = "Is everything released?"
RELEASE_WAIT: Final = "Wait before looking again"
RELEASE_WAIT_AFTER_ERROR: Final = "Wait after a failed attempt"
RELEASE_DONE: Final = "Everything released"
RELEASE_EXPIRED: Final = "Still billing at the deadline"
RELEASE_DEADLINE_PASSED: Final = "ReleaseDeadlinePassed"

# -- errors a run can end with that the workflow itself raises ------------------------------------
PURCHASE_WITHOUT_VERDICT: Final = "PurchaseWithoutVerdict"
SLOT_CHANGED: Final = "SlotChanged"
SLOT_BUSY: Final = "SlotBusy"
SLOT_PROMOTION_FAILED: Final = "SlotPromotionFailed"
SLOT_ROLLBACK_FAILED: Final = "SlotRollbackFailed"

# A step that failed unexpectedly (after its retries) ends the run under the project's name for it,
# never under a Step Functions name (``States.TaskFailed``, ``States.Timeout``): an execution may
# not end with a custom error whose name starts with ``States.`` (bedrock.md §13), and the step is
# what the operator needs to know. The original error and cause are kept beside it
# (``$.failure.Original``) for the record, the notice and ``status``.
TRAINING_JOB_FAILED: Final = "TrainingJobFailed"
TRAINING_TIMED_OUT: Final = "TrainingTimedOut"
TRAINING_QUOTA_EXCEEDED: Final = "TrainingQuotaExceeded"
STEP_ERRORS: Final = {
    "preflight": "PreflightError",
    "evaluate_loss": "LossCheckError",
    "evaluate_model": "EvaluationError",
    "check_status": "StatusCheckError",
    "judge": "JudgeError",
    "approval_request": "ApprovalRequestError",
    "approval_verify": "ApprovalVerifyError",
    "cleanup": "ReleaseError",
    "record": "RecordError",
    "deploy": "DeploymentCreateError",
    "buy-evaluation": "EvaluationPurchaseError",
    "buy-serving": "ThroughputPurchaseError",
    "slots": "SlotError",
}
# What each of those names means, in the words of the cause it carries.
STEP_ERROR_TEXT: Final = {
    TRAINING_JOB_FAILED: "The customization job failed or was stopped",
    TRAINING_TIMED_OUT: "The customization job did not end within the job timeout of the plan",
    TRAINING_QUOTA_EXCEEDED: "The customization job could not start: a Bedrock quota of the account stayed "
    f"exceeded for as long as the run waits in line for a training slot ({JOB_QUEUE_HOURS})",
    "PreflightError": "The preflight check could not run",
    "LossCheckError": "Reading the training and validation loss failed",
    "EvaluationError": "Comparing the custom model with its base model failed",
    "StatusCheckError": "Checking a deployment, throughput or judge status failed",
    "JudgeError": "The LLM judge step failed",
    "ApprovalRequestError": "Asking for approval failed",
    "ApprovalVerifyError": "Checking the approval answer against its decision of record failed",
    "ReleaseError": "Releasing the evaluation vehicle failed",
    "RecordError": "Writing the run record failed",
    "DeploymentCreateError": "Creating the on-demand deployment failed",
    "EvaluationPurchaseError": "Buying the evaluation throughput failed",
    "ThroughputPurchaseError": "Buying the serving throughput failed",
    "SlotError": "Changing or recording the serving slot failed",
}
