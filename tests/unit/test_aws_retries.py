"""pipeline.aws_retries: every transient code is one AWS models, and no second list of them appears."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.retries import standard

from pipeline import aws_retries
from pipeline.aws_retries import (
    BEDROCK_TRANSIENT,
    CONVERSE_TRANSIENT,
    HANDLER_ESCAPING,
    MODEL_NOT_READY,
    SERVICE_FAULTS,
    STATES_BEDROCK_TRANSIENT,
    STATES_HANDLER_TRANSIENT,
    STATES_LAMBDA_TRANSIENT,
    STATES_LAMBDA_UNAVAILABLE,
    STATES_SNS_TRANSIENT,
    THROTTLING,
    TRANSIENT,
    client_config,
    error_code,
    states_error_name,
)

ROOT = Path(__file__).resolve().parents[2]
# The Bedrock operations the pipeline calls (workflow SDK tasks, handlers, CLI): each models the
# transient errors the workflow retries.
BEDROCK_OPERATIONS = (
    "CreateModelCustomizationJob",
    "GetModelCustomizationJob",
    "StopModelCustomizationJob",
    "CreateProvisionedModelThroughput",
    "GetProvisionedModelThroughput",
    "DeleteProvisionedModelThroughput",
    "CreateCustomModelDeployment",
    "GetCustomModelDeployment",
    "DeleteCustomModelDeployment",
    "CreateEvaluationJob",
    "GetEvaluationJob",
    "GetFoundationModel",
    "GetCustomModel",
)


@functools.cache
def errors_of(service: str, operation: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(shape.name for shape in model.operation_model(operation).error_shapes)


@pytest.mark.parametrize("operation", BEDROCK_OPERATIONS)
def test_bedrock_transient_errors_are_modeled_on_every_bedrock_operation_the_pipeline_calls(
    operation: str,
) -> None:
    assert set(BEDROCK_TRANSIENT) <= errors_of("bedrock", operation)


def test_converse_transient_errors_are_converse_error_shapes_but_the_generic_throttling_code() -> None:
    assert CONVERSE_TRANSIENT - {"TooManyRequestsException"} <= errors_of("bedrock-runtime", "Converse")
    assert set(MODEL_NOT_READY) <= errors_of("bedrock-runtime", "Converse")
    # The errors about the prompt or the model are not transient: retrying them changes nothing.
    assert not CONVERSE_TRANSIENT & {"ValidationException", "ModelErrorException", "AccessDeniedException"}


def test_what_a_handler_lets_escape_is_modeled_by_the_bedrock_apis_it_calls() -> None:
    modeled = errors_of("bedrock-runtime", "Converse").union(
        *(errors_of("bedrock", op) for op in BEDROCK_OPERATIONS)
    )
    assert set(HANDLER_ESCAPING) <= modeled


def test_sns_and_lambda_transient_names_are_their_services_error_shapes() -> None:
    for name in STATES_SNS_TRANSIENT:
        service, _, code = name.partition(".")
        assert service == "SNS" and code in errors_of("sns", "Publish")
    # The two Lambda service errors botocore models for Invoke; the others are the Java SDK's names
    # Step Functions reports (its developer guide, "Handle Lambda service exceptions").
    assert {"TooManyRequestsException", "ServiceException"} <= errors_of("lambda", "Invoke")
    assert all(name.startswith("Lambda.") for name in STATES_LAMBDA_TRANSIENT)


def test_throttling_and_service_faults_follow_botocores_standard_retry_mode() -> None:
    assert set(standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES) >= THROTTLING
    assert set(standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES) <= SERVICE_FAULTS
    assert TRANSIENT == THROTTLING | SERVICE_FAULTS


def test_step_functions_names_a_service_error_after_the_service_and_the_code() -> None:
    assert states_error_name("Bedrock", "ThrottlingException") == "Bedrock.ThrottlingException"
    assert states_error_name("SNS", "KMSOptInRequired") == "SNS.KMSOptInRequiredException"
    assert STATES_BEDROCK_TRANSIENT == ("Bedrock.ThrottlingException", "Bedrock.InternalServerException")
    # Lambda not running the function has its own long schedule; the short one retries the rest
    assert not set(STATES_LAMBDA_UNAVAILABLE) & set(STATES_HANDLER_TRANSIENT)
    assert set(STATES_LAMBDA_TRANSIENT) <= set(STATES_LAMBDA_UNAVAILABLE) | set(STATES_HANDLER_TRANSIENT)


def test_the_error_code_of_a_client_error_and_of_anything_else() -> None:
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Converse")
    assert error_code(error) == "ThrottlingException"
    assert error_code(ValueError("no response")) == ""


def test_converse_clients_leave_retries_to_the_evaluation_and_every_other_client_retries_five_times() -> None:
    converse = client_config("bedrock-runtime")
    assert converse.retries == {"total_max_attempts": 1}
    assert (converse.read_timeout, converse.connect_timeout) == (120, 10)
    other = client_config("bedrock", user_agent_extra="bedrock-customize")
    assert other.retries == {"mode": "standard", "max_attempts": 5}
    assert other.user_agent_extra == "bedrock-customize"
    assert client_config("s3").user_agent_extra is None


# -- one list -----------------------------------------------------------------------------------------

ALL_NAMES = (
    TRANSIENT
    | CONVERSE_TRANSIENT
    | set(HANDLER_ESCAPING)
    | set(STATES_HANDLER_TRANSIENT)
    | set(STATES_LAMBDA_TRANSIENT)
    | set(STATES_BEDROCK_TRANSIENT)
    | set(STATES_SNS_TRANSIENT)
)
# Owned by another branch (the simulation's .sync poller, branch `gate`); at merge it imports
# pipeline.aws_retries and leaves this list, and this exemption goes.
EXEMPT = {Path("pipeline/simulation/interpreter.py")}


def _literal_lists(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """(line, the transient names in it) of every set, list or tuple literal naming two or more."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.List | ast.Tuple):
            names = {
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value in ALL_NAMES
            }
            if len(names) >= 2:
                found.append((node.lineno, names))
    return found


def _code_files() -> list[Path]:
    files = []
    for top in ("pipeline", "lambdas", "infra"):
        files += sorted((ROOT / top).rglob("*.py"))
    return [f for f in files if f != Path(aws_retries.__file__).resolve()]


def test_no_other_module_lists_transient_aws_errors_of_its_own() -> None:
    seconds: dict[str, Any] = {}
    for path in _code_files():
        relative = path.relative_to(ROOT)
        found = _literal_lists(ast.parse(path.read_text(encoding="utf-8")))
        if relative in EXEMPT:
            assert found, f"{relative} lists no transient errors any more: remove it from EXEMPT"
            continue
        if found:
            seconds[str(relative)] = found
    assert not seconds, f"transient AWS errors listed outside pipeline/aws_retries.py: {seconds}"


def test_the_one_list_check_finds_a_second_list() -> None:
    second = ast.parse('RETRY = ("Bedrock.ThrottlingException", "Bedrock.InternalServerException")\n')
    assert _literal_lists(second) == [(1, {"Bedrock.ThrottlingException", "Bedrock.InternalServerException"})]
    assert _literal_lists(ast.parse('MESSAGES = {"ThrottlingException": "slow", "X": "y"}\n')) == []
