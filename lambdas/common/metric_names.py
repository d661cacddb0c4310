"""The pipeline's CloudWatch metrics: one contract for the handlers that emit them and the dashboard.

Plain constants (no Powertools, no boto3), so ``infra`` can import them without the Lambda
dependencies. Every metric is in ``NAMESPACE`` with the dimension ``service`` = the stack name
(``POWERTOOLS_SERVICE_NAME`` on every function): one series per deployed environment.
"""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "BedrockCustomization"
SERVICE: Final = "service"  # dimension: the stack name, e.g. BedrockCustomization-dev
ERROR: Final = "error"  # dimension of RUNS_FAILED_BY_ERROR only: the failure's Error name

# preflight: a run that passed validation goes on to train; one that did not stops there.
RUNS_STARTED: Final = "RunsStarted"
RUNS_REJECTED: Final = "RunsRejectedAtPreflight"
# record (the last step of every run that reaches its own end, succeeded or failed). A run stopped
# from outside or timed out never gets there: the state machine's own metrics count those.
RUNS_SUCCEEDED: Final = "RunsSucceeded"
RUNS_FAILED: Final = "RunsFailed"
RUNS_FAILED_BY_ERROR: Final = "RunsFailedByError"  # dimensions service + error
# record: the customization job's creation to its end, in hours (jobs that ran to an end only).
TRAINING_HOURS: Final = "TrainingHours"
# record, for a run that succeeded with a Provisioned Throughput to serve: its model units, and for
# a commitment the model-unit hours the term obliges you to pay (units x months x 730 h).
THROUGHPUT_MODEL_UNITS_BOUGHT: Final = "ThroughputModelUnitsBought"
THROUGHPUT_COMMITTED_MU_HOURS: Final = "ThroughputCommittedModelUnitHours"
# cleanup / run_ended: model-unit hours of each no-commitment throughput they delete, from its
# creationTime to the deletion (what it was billed for, give or take Bedrock's rounding).
THROUGHPUT_RELEASED_MU_HOURS: Final = "ThroughputReleasedModelUnitHours"
# cleanup / run_ended (when they hand over) and each attempt of the retrying release: how many
# no-commitment throughputs and deployments a release owns but could not delete yet (0 once all are
# gone). An alarm goes off when it stays above 0 for an hour (infra/constructs/durable_release.py).
STILL_BILLING: Final = "ResourcesStillBilling"
# evaluate_model (mode evaluate): 1 or 0 per evaluation; the quality scores only when judged (an
# evaluation with too many failed calls compares nothing, so its scores would mislead).
EVALUATIONS_JUDGED: Final = "EvaluationsJudged"
EVALUATIONS_PASSED: Final = "EvaluationsPassed"
CUSTOM_MODEL_QUALITY: Final = "CustomModelQuality"
BASE_MODEL_QUALITY: Final = "BaseModelQuality"
