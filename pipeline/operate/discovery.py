"""Where the deployed pipeline is: the SSM manifest of an environment, else its stack's outputs.

The stack (infra/constructs/deployment_manifest.py) publishes one SSM String parameter,
``/bedrock-customization/<env>/deployment``, holding ``{version, environment, stackName, region,
account, trainingBucket, keyArn, bedrockServiceRoleArn, stateMachineArn, topicArn, approvalUrl,
approverRoleArn, approverMfa, startUrl, starterPolicyArn}``, and the same values as outputs of the
stack ``BedrockCustomization-<env>`` (``approvalUrl`` and ``approverRoleArn``, the approval-answer
function URL and the role that may call it, and ``startUrl``, the start function URL, are absent
from deployments that predate them). The CLI never hard-codes a bucket or ARN: CloudFormation
generates them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from pipeline.operate.aws import Clients
from pipeline.operate.errors import InvalidInputError, NotDeployedError, OperationalError, error_code

MANIFEST_VERSION: Final = 1
# Mirrors infra.config.EnvironmentConfig (tests/operate checks they agree; pipeline never imports infra).
ENV_NAME_RE: Final = re.compile(r"[a-z][a-z0-9-]{0,19}")
_MANIFEST_KEYS: Final = ("trainingBucket", "keyArn", "bedrockServiceRoleArn", "stateMachineArn", "topicArn")
_NOT_FOUND_SSM: Final = frozenset({"ParameterNotFound"})


def parameter_name(env: str) -> str:
    return f"/bedrock-customization/{env}/deployment"


def stack_name(env: str) -> str:
    return f"BedrockCustomization-{env}"


def deploy_hint(env: str) -> str:
    return (
        f"deploy it with `make deploy STACK={stack_name(env)}` (or `cdk deploy {stack_name(env)}`), "
        "or pass the --env and --region it was deployed to"
    )


@dataclass(frozen=True)
class Deployment:
    """The parts of a deployed pipeline the CLI uses."""

    environment: str
    stack_name: str
    region: str
    account: str
    training_bucket: str
    key_arn: str
    bedrock_service_role_arn: str
    state_machine_arn: str
    topic_arn: str
    source: str  # "ssm:<parameter>" or "cloudformation:<stack>"
    approval_url: str | None = None
    approver_role_arn: str | None = None
    # The LLM judge's evaluation-job role (stacks deployed before the judge have none).
    evaluation_job_role_arn: str | None = None
    # The start function URL (runs started through it have their starter on record) and whether
    # the approver role requires MFA (stacks deployed before them have neither).
    start_url: str | None = None
    approver_mfa: bool = False
    # ``bedrock-customize sandbox`` runs every wait this many times faster than the wall clock
    # and says so in its manifest (``sandboxSpeed``); a real deployment runs in real time.
    time_scale: float = 1.0
    # The serving slots' lock table (stacks deployed before serving slots have none).
    slot_lock_table: str | None = None

    def execution_arn(self, run_id: str) -> str:
        """``arn:...:stateMachine:<name>`` → ``arn:...:execution:<name>:<run id>``."""
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{run_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "stackName": self.stack_name,
            "region": self.region,
            "account": self.account,
            "trainingBucket": self.training_bucket,
            "keyArn": self.key_arn,
            "bedrockServiceRoleArn": self.bedrock_service_role_arn,
            "stateMachineArn": self.state_machine_arn,
            "topicArn": self.topic_arn,
            "approvalUrl": self.approval_url,
            "approverRoleArn": self.approver_role_arn,
            "evaluationJobRoleArn": self.evaluation_job_role_arn,
            "startUrl": self.start_url,
            "approverMfa": self.approver_mfa,
            "source": self.source,
            **({"sandboxSpeed": self.time_scale} if self.time_scale != 1 else {}),
        }


def check_env(env: str) -> str:
    if not ENV_NAME_RE.fullmatch(env):
        raise InvalidInputError(
            f"--env {env!r} is not an environment name",
            hint="environment names are lowercase letters, digits and '-', up to 20 characters "
            "(e.g. dev, prod)",
        )
    return env


def discover(clients: Clients, env: str) -> Deployment:
    """The deployment of ``env`` in the clients' region; NotDeployedError names what to deploy."""
    check_env(env)
    name = parameter_name(env)
    ssm_error: str | None = None
    try:
        response = clients("ssm").get_parameter(Name=name)
    except Exception as exc:
        code = error_code(exc)
        if not code:
            raise
        if code not in _NOT_FOUND_SSM:
            ssm_error = f"reading SSM parameter {name} failed: {code}"
    else:
        return _from_manifest(response["Parameter"]["Value"], env, name, clients.region)

    stack = stack_name(env)
    try:
        stacks = clients("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:
        code = error_code(exc)
        if not code:
            raise
        if code == "ValidationError" and "does not exist" in str(exc):
            if ssm_error:
                raise OperationalError(
                    f"{ssm_error}, and there is no stack {stack} in {clients.region}",
                    hint=f"get ssm:GetParameter on {name}, or {deploy_hint(env)}",
                ) from exc
            raise NotDeployedError(
                f"the pipeline's {env!r} environment is not deployed in {clients.region}: "
                f"no SSM parameter {name} and no CloudFormation stack {stack}",
                hint=deploy_hint(env),
            ) from exc
        cfn_error = f"describing stack {stack} failed: {code}"
        raise OperationalError(
            f"cannot find the deployment: {ssm_error or f'no SSM parameter {name}'}; {cfn_error}",
            hint=f"ask for ssm:GetParameter on {name} or cloudformation:DescribeStacks on {stack}",
        ) from exc
    return _from_stack(stacks[0], env, clients.region)


def _from_manifest(text: str, env: str, parameter: str, region: str) -> Deployment:
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OperationalError(
            f"SSM parameter {parameter} does not hold a JSON manifest: {exc}",
            hint=f"redeploy the stack: `make deploy STACK={stack_name(env)}`",
        ) from exc
    if not isinstance(manifest, dict):
        raise OperationalError(
            f"SSM parameter {parameter} does not hold a JSON object",
            hint=f"redeploy the stack: `make deploy STACK={stack_name(env)}`",
        )
    version = manifest.get("version")
    if isinstance(version, int) and version > MANIFEST_VERSION:
        raise OperationalError(
            f"the deployment manifest is version {version}; this CLI understands version {MANIFEST_VERSION}",
            hint="upgrade the CLI to the version of the deployed stack (pip install -U .)",
        )
    missing = [key for key in _MANIFEST_KEYS if not isinstance(manifest.get(key), str) or not manifest[key]]
    if missing:
        raise OperationalError(
            f"SSM parameter {parameter} lacks {', '.join(missing)}",
            hint=f"redeploy the stack: `make deploy STACK={stack_name(env)}`",
        )
    return Deployment(
        environment=str(manifest.get("environment") or env),
        stack_name=str(manifest.get("stackName") or stack_name(env)),
        region=str(manifest.get("region") or region),
        account=str(manifest.get("account") or _account_of(manifest["stateMachineArn"])),
        training_bucket=manifest["trainingBucket"],
        key_arn=manifest["keyArn"],
        bedrock_service_role_arn=manifest["bedrockServiceRoleArn"],
        state_machine_arn=manifest["stateMachineArn"],
        topic_arn=manifest["topicArn"],
        source=f"ssm:{parameter}",
        approval_url=_optional(manifest.get("approvalUrl")),
        approver_role_arn=_optional(manifest.get("approverRoleArn")),
        evaluation_job_role_arn=_optional(manifest.get("evaluationJobRoleArn")),
        start_url=_optional(manifest.get("startUrl")),
        slot_lock_table=_optional(manifest.get("slotLockTable")),
        approver_mfa=manifest.get("approverMfa") in (True, "true"),
        time_scale=_speed(manifest.get("sandboxSpeed")),
    )


def _speed(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return 1.0


def _optional(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_stack(stack: dict[str, Any], env: str, region: str) -> Deployment:
    name = str(stack.get("StackName") or stack_name(env))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    wanted = {key: key[0].upper() + key[1:] for key in _MANIFEST_KEYS}
    missing = [output for output in wanted.values() if not outputs.get(output)]
    if missing:
        status = stack.get("StackStatus", "unknown")
        raise OperationalError(
            f"stack {name} ({status}) has no output {', '.join(missing)}",
            hint="wait for the deployment to finish, or redeploy: " + f"`make deploy STACK={name}`",
        )
    stack_id = str(stack.get("StackId") or "")
    return Deployment(
        environment=env,
        stack_name=name,
        region=_field(stack_id, 3) or region,
        account=_field(stack_id, 4) or _account_of(outputs[wanted["stateMachineArn"]]),
        training_bucket=outputs[wanted["trainingBucket"]],
        key_arn=outputs[wanted["keyArn"]],
        bedrock_service_role_arn=outputs[wanted["bedrockServiceRoleArn"]],
        state_machine_arn=outputs[wanted["stateMachineArn"]],
        topic_arn=outputs[wanted["topicArn"]],
        source=f"cloudformation:{name}",
        approval_url=_optional(outputs.get("ApprovalUrl")),
        approver_role_arn=_optional(outputs.get("ApproverRoleArn")),
        slot_lock_table=_optional(outputs.get("SlotLockTable")),
        evaluation_job_role_arn=_optional(outputs.get("EvaluationJobRoleArn")),
        start_url=_optional(outputs.get("StartUrl")),
        approver_mfa=outputs.get("ApproverMfa") == "true",
    )


def _field(arn: str, index: int) -> str:
    parts = arn.split(":")
    return parts[index] if len(parts) > index else ""


def _account_of(arn: str) -> str:
    return _field(arn, 4)


@dataclass(frozen=True)
class Probe:
    """One permission the operator needs, tried with a read-only call."""

    name: str
    action: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "action": self.action, "ok": self.ok, "detail": self.detail}


def probe_access(clients: Clients, deployment: Deployment) -> tuple[dict[str, Any] | None, list[Probe]]:
    """Who the caller is, and which read-only calls of the pipeline it may make.

    Writes (uploading, starting, approving, deleting) cannot be probed without side effects; the
    report lists what they need instead.
    """
    identity: dict[str, Any] | None = None
    probes: list[Probe] = []

    def attempt(name: str, action: str, call: Any, describe: Any) -> Any:
        try:
            result = call()
        except Exception as exc:
            code = error_code(exc)
            if not code:
                from pipeline.operate.errors import describe_aws_error

                described = describe_aws_error(exc)
                if described is None:
                    raise
                probes.append(Probe(name, action, False, described.message))
                return None
            probes.append(Probe(name, action, False, f"{code}: {exc}"))
            return None
        probes.append(Probe(name, action, True, describe(result)))
        return result

    who = attempt(
        "caller identity",
        "sts:GetCallerIdentity",
        lambda: clients("sts").get_caller_identity(),
        lambda r: str(r.get("Arn")),
    )
    if who is not None:
        identity = {"arn": who.get("Arn"), "account": who.get("Account"), "userId": who.get("UserId")}
        if deployment.account and who.get("Account") != deployment.account:
            probes.append(
                Probe(
                    "account",
                    "-",
                    False,
                    f"you are signed in to account {who.get('Account')}; "
                    f"the pipeline is in {deployment.account}",
                )
            )
    attempt(
        "workflow",
        "states:DescribeStateMachine",
        lambda: clients("stepfunctions").describe_state_machine(stateMachineArn=deployment.state_machine_arn),
        lambda r: f"{r.get('name')} ({r.get('status', 'ACTIVE')})",
    )
    attempt(
        "runs",
        "states:ListExecutions",
        lambda: clients("stepfunctions").list_executions(
            stateMachineArn=deployment.state_machine_arn, statusFilter="RUNNING", maxResults=100
        ),
        lambda r: f"{len(r.get('executions', []))} running",
    )
    attempt(
        "run artifacts",
        "s3:ListBucket",
        lambda: clients("s3").list_objects_v2(Bucket=deployment.training_bucket, Prefix="runs/", MaxKeys=1),
        lambda r: f"s3://{deployment.training_bucket}/runs/ readable",
    )
    attempt(
        "throughput",
        "bedrock:ListProvisionedModelThroughputs",
        lambda: clients("bedrock").list_provisioned_model_throughputs(maxResults=1),
        lambda r: "provisioned throughput visible",
    )
    attempt(
        "deployments",
        "bedrock:ListCustomModelDeployments",
        lambda: clients("bedrock").list_custom_model_deployments(maxResults=1),
        lambda r: "on-demand custom model deployments visible",
    )
    return identity, probes


# What the commands that change things need, beyond the probes (which would have side effects).
WRITE_PERMISSIONS: Final = (
    (
        "start",
        "s3:PutObject on datasets/*, kms:GenerateDataKey on the key, and the start URL "
        "(the stack's starter policy, starterPolicyArn)",
    ),
    (
        "approve/reject",
        "sts:AssumeRole and sts:SetSourceIdentity on the stack's approver role (approverRoleArn; as your IAM "
        "user name, with MFA where approverMfa is true), which reads the request and calls the approval URL",
    ),
    (
        "cancel",
        "states:StopExecution, bedrock:StopModelCustomizationJob, bedrock:DeleteProvisionedModelThroughput, "
        "bedrock:DeleteCustomModelDeployment",
    ),
    ("throughput delete", "bedrock:DeleteProvisionedModelThroughput"),
    (
        "sweep",
        "bedrock:DeleteProvisionedModelThroughput, bedrock:DeleteCustomModelDeployment, "
        "bedrock:DeleteCustomModel",
    ),
    (
        "compare",
        "bedrock:InvokeModel on the compared models; bedrock:GetCustomModelDeployment and "
        "bedrock:GetCustomModel to price a deployment",
    ),
    (
        "check/start/estimate (live facts; --offline needs none)",
        "bedrock:GetFoundationModel (the live model check), pricing:GetProducts (live prices; without "
        "it the catalog's are used), bedrock:ListFoundationModels (models --live)",
    ),
)
