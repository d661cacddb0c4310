"""Which AWS errors pass by themselves, and who tries again: the SDK, the pipeline's code, or the workflow.

One source for every list of transient error codes and for the SDK client configuration, shared by
the workflow's Retry fields (``infra.constructs.workflow_states``), the Lambda handlers
(``lambdas.common.runtime``), the evaluation's Converse calls (``pipeline.evaluation``) and the
operator's CLI (``pipeline.operate``). ``tests/unit/test_aws_retries.py`` checks every code against
botocore's service models and fails when a second list of them appears elsewhere.

Where the codes come from:

- [BM] botocore's service models (``botocore/data/<service>/<version>/service-2.json``): the error
  shapes each operation declares, e.g. Converse's ThrottlingException, ServiceUnavailableException,
  InternalServerException, ModelNotReadyException and ModelTimeoutException.
- [BR] botocore's standard retry mode (``botocore/retries/standard.py``, 1.44): the codes it treats
  as throttling (``_THROTTLED_ERROR_CODES``) and as transient (``_TRANSIENT_ERROR_CODES``), besides
  HTTP 500, 502, 503 and 504.
- [SF] Step Functions' names for errors: an AWS SDK integration raises ``<ServiceId>.<ErrorCode>``
  (``Bedrock.ThrottlingException``); the optimized Lambda integration raises the Lambda service's
  own errors as ``Lambda.<Name>`` and a function's unhandled exception under its class name, which
  for a botocore ClientError is the error code (``ThrottlingException``). The Step Functions
  developer guide, "Handle Lambda service exceptions" (docs.aws.amazon.com/step-functions/latest/dg/
  bp-lambda-serviceexception.html), recommends retrying Lambda.ClientExecutionTimeoutException,
  Lambda.ServiceException, Lambda.AWSLambdaException and Lambda.SdkClientException, and names
  Lambda.TooManyRequestsException as the error when Lambda hits its maximum of invocations.

The lists differ on purpose, by who retries and what can reach them; each says why.
"""

from __future__ import annotations

from typing import Any, Final

# -- codes ------------------------------------------------------------------------------------------

# Throttling as the APIs this project calls (and the CLI's S3, STS, pricing and IAM calls) name it:
# the subset of botocore's throttled codes [BR] those services use.
THROTTLING: Final = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown", "RequestLimitExceeded"}
)
# The service's own failures: the codes of HTTP 5xx answers (Query, JSON and REST protocols) and
# botocore's transient codes [BR].
SERVICE_FAULTS: Final = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
# Any call that failed with one of these may succeed later (the CLI also counts any 5xx status).
TRANSIENT: Final = THROTTLING | SERVICE_FAULTS

# Bedrock's control plane (CreateModelCustomizationJob, Get..., CreateProvisionedModelThroughput,
# ...): its transient error shapes [BM]. ServiceQuotaExceededException is not one: it lasts.
BEDROCK_TRANSIENT: Final = ("ThrottlingException", "InternalServerException")
# A custom model's deployment or throughput that has only just come online can briefly refuse
# Converse; the model can also run out of time on one request [BM: Converse].
MODEL_NOT_READY: Final = ("ModelNotReadyException", "ModelTimeoutException")
# Converse's transient error shapes [BM], plus TooManyRequestsException, the throttling code of
# other services, kept so that a throttled call is retried whatever it is named.
CONVERSE_TRANSIENT: Final = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
        *MODEL_NOT_READY,
    }
)
# What a handler lets escape from the APIs it calls and the workflow retries: modeled throttling and
# transient faults, named after botocore's exception class [SF]. S3's SlowDown is not modeled: it
# arrives as a generic ClientError, which is not retried blindly.
HANDLER_ESCAPING: Final = (
    "ThrottlingException",
    "ServiceUnavailableException",
    "InternalServerException",
    *MODEL_NOT_READY,
)

# -- the workflow's Retry fields (Step Functions error names) ---------------------------------------


def states_error_name(service_id: str, code: str) -> str:
    """``Bedrock.ThrottlingException``: how an AWS SDK integration names a service error [SF]."""
    name = f"{service_id}.{code}"
    return name if name.endswith("Exception") else f"{name}Exception"


# Retrying a Bedrock create is safe: every create carries an idempotency token from the run.
STATES_BEDROCK_TRANSIENT: Final = tuple(states_error_name("Bedrock", code) for code in BEDROCK_TRANSIENT)
# Lambda could not run the function now (throttled, or a fault of the Lambda service itself): the
# service exceptions AWS lists as worth retrying [SF]. The handler's own work has not started, so
# the workflow retries these on a long schedule of their own (pipeline.retries).
STATES_LAMBDA_UNAVAILABLE: Final = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)
# Every transient error of the Lambda service, as the optimized integration raises them [SF].
STATES_LAMBDA_TRANSIENT: Final = (*STATES_LAMBDA_UNAVAILABLE, "Lambda.ClientExecutionTimeoutException")
# What the short schedule retries for a Lambda task: the rest, after the unavailable ones.
STATES_HANDLER_TRANSIENT: Final = ("Lambda.ClientExecutionTimeoutException", *HANDLER_ESCAPING)
# SNS Publish's transient error shapes [BM], as the optimized integration names them.
STATES_SNS_TRANSIENT: Final = ("SNS.InternalErrorException", "SNS.KMSThrottlingException")

# -- reading an error -------------------------------------------------------------------------------


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


# -- SDK clients ------------------------------------------------------------------------------------

# Converse is retried by pipeline.evaluation with its own bounded backoff; botocore's retries on top
# would multiply the attempts (and the time) of every throttled prompt.
_NO_SDK_RETRIES: Final = frozenset({"bedrock-runtime"})
SDK_MAX_ATTEMPTS: Final = 5
CONVERSE_READ_TIMEOUT_S: Final = 120
CONVERSE_CONNECT_TIMEOUT_S: Final = 10


def client_config(service: str, *, user_agent_extra: str | None = None) -> Any:
    """The botocore ``Config`` of a client of ``service``: botocore's standard retry mode with
    ``SDK_MAX_ATTEMPTS`` attempts, or, for Converse, one attempt with explicit timeouts."""
    from botocore.config import Config  # deferred: commands that never call AWS never load botocore

    extra: dict[str, Any] = {} if user_agent_extra is None else {"user_agent_extra": user_agent_extra}
    if service in _NO_SDK_RETRIES:
        return Config(
            retries={"total_max_attempts": 1},
            read_timeout=CONVERSE_READ_TIMEOUT_S,
            connect_timeout=CONVERSE_CONNECT_TIMEOUT_S,
            **extra,
        )
    return Config(retries={"mode": "standard", "max_attempts": SDK_MAX_ATTEMPTS}, **extra)
