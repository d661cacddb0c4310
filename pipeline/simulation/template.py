"""Read the synthesized CloudFormation template and stand its resources up in moto.

The state machine definition is taken from the template as synthesized (``DefinitionString`` of
the stack's one ``AWS::StepFunctions::StateMachine``), never from a hand-written copy. Its tokens
are resolved the way CloudFormation would, against the moto resources created here:

- ``AWS::S3::Bucket`` (versioning as configured), ``AWS::SNS::Topic``, ``AWS::KMS::Key``,
  ``AWS::DynamoDB::Table`` (keys and billing mode),
  ``AWS::IAM::Role`` (with its trust policy), ``AWS::IAM::ManagedPolicy``,
  ``AWS::Lambda::Function`` (handler, resolved environment, timeout, memory),
  ``AWS::Lambda::Version`` (published) and ``AWS::Lambda::Alias`` are created; ``Ref`` and
  ``Fn::GetAtt`` return what CloudFormation returns for them (bucket name, topic ARN, key id, role
  name, policy ARN, function name, version number, alias ARN; ``Arn`` attributes). The state
  machine's ARN is known before it is created, as in CloudFormation.
- Pseudo parameters: ``AWS::Partition`` = aws, ``AWS::Region``, ``AWS::AccountId``,
  ``AWS::URLSuffix``, ``AWS::StackName``.
- Intrinsics: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``.

Anything else the definition refers to is an error naming the token: the simulation never guesses.
Resources the workflow does not call (log groups, policies, alarms, parameters) are not created.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline.simulation.lambdas import FunctionSpec

STATE_MACHINE: Final = "AWS::StepFunctions::StateMachine"
# The services ``provision`` creates the template's resources in: its callers build one client each.
PROVISIONED_SERVICES: Final = ("s3", "sns", "kms", "iam", "lambda", "stepfunctions", "dynamodb")
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template cannot be simulated (missing, malformed, or an unsupported token)."""


@dataclass
class Template:
    path: Path
    stack_name: str
    body: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> Template:
        path = Path(path)
        if not path.is_file():
            raise TemplateError(
                f"{path} does not exist: synthesize the app first (`make synth`, or `cdk synth -o cdk.out`)"
            )
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise TemplateError(f"{path} is not JSON: {error}") from None
        if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
            raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
        stack_name = path.name.removesuffix(".template.json")
        return cls(path=path, stack_name=stack_name, body=body)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body["Resources"]  # type: ignore[no-any-return]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == kind}

    def state_machine(self) -> tuple[str, dict[str, Any]]:
        found = self.of_type(STATE_MACHINE)
        if len(found) != 1:
            raise TemplateError(f"{self.path}: expected exactly one {STATE_MACHINE}, found {len(found)}")
        return next(iter(found.items()))

    def physical_name(self, logical_id: str, limit: int = 64, *, lower: bool = False) -> str:
        """A CloudFormation-style generated name: stack-logicalId-hash, cut to the service's limit."""
        digest = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:12]
        name = f"{self.stack_name}-{logical_id}"[: limit - 13] + f"-{digest}"
        return name.lower() if lower else name


@dataclass
class Resolver:
    """CloudFormation intrinsic functions over the simulation's physical resources."""

    region: str
    account: str
    stack_name: str
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": None,
        }.get(name, "")

    def ref(self, name: str) -> str:
        if name.startswith("AWS::"):
            value = self.pseudo(name)
            if value:
                return value
            raise TemplateError(f"unsupported pseudo parameter {name}")
        if name not in self.refs:
            raise TemplateError(f"{{'Ref': '{name}'}}: the simulation does not create {name}")
        return self.refs[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        key = (logical_id, attribute)
        if key not in self.attributes:
            raise TemplateError(
                f"{{'Fn::GetAtt': ['{logical_id}', '{attribute}']}}: the simulation does not provide it"
            )
        return self.attributes[key]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(self.resolve(item)) for item in self.resolve(items))
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"unsupported intrinsic {key}")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)


def placeholder_zip() -> bytes:
    """moto stores code for a function; the handler itself runs in-process from this repository."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The simulation runs the handler from the repository in-process.\n")
    return buffer.getvalue()


@dataclass
class Provisioned:
    """What was created in moto for the template, by logical id."""

    bucket: str
    topic_arn: str
    state_machine_arn: str
    state_machine_role_arn: str
    definition: dict[str, Any]
    functions: dict[str, tuple[FunctionSpec, str]]  # logical id -> (spec, arn)


def provision(template: Template, resolver: Resolver, clients: Mapping[str, Any]) -> Provisioned:
    """Create the template's resources in moto and the state machine with its resolved definition.

    ``clients``: boto3 clients (through moto), one per :data:`PROVISIONED_SERVICES`.
    """
    buckets = template.of_type("AWS::S3::Bucket")
    topics = template.of_type("AWS::SNS::Topic")
    if not buckets:
        raise TemplateError(f"{template.path}: no S3 bucket to run in")
    for logical_id in template.of_type("AWS::KMS::Key"):
        key = clients["kms"].create_key(Description=f"{template.stack_name}/{logical_id}")["KeyMetadata"]
        resolver.refs[logical_id] = key["KeyId"]
        resolver.attributes[(logical_id, "Arn")] = key["Arn"]
        resolver.attributes[(logical_id, "KeyId")] = key["KeyId"]
    for logical_id, resource in buckets.items():
        props = resource.get("Properties", {})
        name = resolver.resolve(props.get("BucketName")) or template.physical_name(logical_id, 63, lower=True)
        if resolver.region == "us-east-1":
            clients["s3"].create_bucket(Bucket=name)
        else:
            clients["s3"].create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": resolver.region}
            )
        status = (props.get("VersioningConfiguration") or {}).get("Status")
        if status:
            clients["s3"].put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        resolver.attributes[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
        resolver.attributes[(logical_id, "RegionalDomainName")] = f"{name}.s3.{resolver.region}.amazonaws.com"
    for logical_id, resource in topics.items():
        props = resource.get("Properties", {})
        name = resolver.resolve(props.get("TopicName")) or template.physical_name(logical_id, 256)
        arn = clients["sns"].create_topic(Name=name)["TopicArn"]
        resolver.refs[logical_id] = arn
        resolver.attributes[(logical_id, "TopicArn")] = arn
        resolver.attributes[(logical_id, "TopicName")] = name
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
        props = resource.get("Properties", {})
        name = resolver.resolve(props.get("TableName")) or template.physical_name(logical_id, 255)
        table = clients["dynamodb"].create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PROVISIONED"),
            **(
                {"ProvisionedThroughput": props["ProvisionedThroughput"]}
                if "ProvisionedThroughput" in props
                else {}
            ),
        )["TableDescription"]
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = table["TableArn"]
    for logical_id, resource in template.of_type("AWS::IAM::Role").items():
        props = resource.get("Properties", {})
        name = resolver.resolve(props.get("RoleName")) or template.physical_name(logical_id, 64)
        trust = resolver.resolve(props.get("AssumeRolePolicyDocument") or {})
        role = clients["iam"].create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = role["Arn"]
        resolver.attributes[(logical_id, "RoleId")] = role["RoleId"]
    # The state machine's ARN is known before it exists (region, account, name), as CloudFormation
    # knows it for a function that starts its executions (the start function's STATE_MACHINE_ARN).
    machine_id, machine = template.state_machine()
    machine_name = resolver.resolve(machine.get("Properties", {}).get("StateMachineName")) or (
        template.physical_name(machine_id, 80)
    )
    machine_arn = f"arn:aws:states:{resolver.region}:{resolver.account}:stateMachine:{machine_name}"
    resolver.refs[machine_id] = machine_arn
    resolver.attributes[(machine_id, "Name")] = machine_name
    functions: dict[str, tuple[FunctionSpec, str]] = {}
    # A function's environment may name another function (the preflight names the built-in grader):
    # create the ones whose references resolve first, then the others.
    pending = list(template.of_type("AWS::Lambda::Function").items())
    while pending:
        deferred = []
        for logical_id, resource in pending:
            try:
                resolver.resolve(
                    (resource.get("Properties", {}).get("Environment") or {}).get("Variables") or {}
                )
            except TemplateError:
                deferred.append((logical_id, resource))
                continue
            functions[logical_id] = _create_function(template, resolver, clients, logical_id, resource)
        if len(deferred) == len(pending):
            resolver.resolve((deferred[0][1].get("Properties", {}).get("Environment") or {}).get("Variables"))
        pending = deferred
    # Managed policies (the starter policy): created once what they name exists; Ref is the ARN.
    for logical_id, resource in template.of_type("AWS::IAM::ManagedPolicy").items():
        props = resource.get("Properties", {})
        name = resolver.resolve(props.get("ManagedPolicyName")) or template.physical_name(logical_id, 128)
        document = resolver.resolve(props.get("PolicyDocument") or {})
        policy = clients["iam"].create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]
        resolver.refs[logical_id] = policy["Arn"]
    # Published versions (the built-in grader's), then the aliases, which point at them.
    for logical_id, resource in template.of_type("AWS::Lambda::Version").items():
        props = resource.get("Properties", {})
        version = clients["lambda"].publish_version(FunctionName=resolver.resolve(props["FunctionName"]))
        resolver.refs[logical_id] = version["FunctionArn"]
        resolver.attributes[(logical_id, "Version")] = version["Version"]
    for logical_id, resource in template.of_type("AWS::Lambda::Alias").items():
        props = resource.get("Properties", {})
        alias = clients["lambda"].create_alias(
            FunctionName=resolver.resolve(props["FunctionName"]),
            Name=props["Name"],
            FunctionVersion=resolver.resolve(props.get("FunctionVersion", "$LATEST")),
        )
        resolver.refs[logical_id] = alias["AliasArn"]
    props = machine.get("Properties", {})
    definition_text = resolver.resolve(props.get("DefinitionString"))
    if not isinstance(definition_text, str):
        raise TemplateError(f"{machine_id}: DefinitionString did not resolve to a string")
    definition = json.loads(definition_text)
    role_arn = resolver.resolve(props.get("RoleArn"))
    arn = clients["stepfunctions"].create_state_machine(
        name=machine_name,
        definition=definition_text,
        roleArn=role_arn,
        type=props.get("StateMachineType", "STANDARD"),
    )["stateMachineArn"]
    if arn != machine_arn:
        raise TemplateError(f"{machine_id}: created as {arn}, expected {machine_arn}")
    return Provisioned(
        bucket=_training_bucket(functions),
        topic_arn=next(iter(resolver.refs[lid] for lid in topics)) if topics else "",
        state_machine_arn=arn,
        state_machine_role_arn=role_arn,
        definition=definition,
        functions=functions,
    )


def _create_function(
    template: Template,
    resolver: Resolver,
    clients: Mapping[str, Any],
    logical_id: str,
    resource: dict[str, Any],
) -> tuple[FunctionSpec, str]:
    props = resource.get("Properties", {})
    name = resolver.resolve(props.get("FunctionName")) or template.physical_name(logical_id, 64)
    environment = {
        k: str(v)
        for k, v in resolver.resolve((props.get("Environment") or {}).get("Variables") or {}).items()
    }
    spec = FunctionSpec(
        logical_id=logical_id,
        function_name=name,
        handler=str(props.get("Handler")),
        environment=environment,
        timeout_seconds=int(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        runtime=str(props.get("Runtime", "python3.14")),
    )
    arn = clients["lambda"].create_function(
        FunctionName=name,
        Runtime=spec.runtime,
        Role=resolver.resolve(props["Role"]),
        Handler=spec.handler,
        Code={"ZipFile": placeholder_zip()},
        Timeout=spec.timeout_seconds,
        MemorySize=spec.memory_mb,
        Environment={"Variables": environment},
    )["FunctionArn"]
    resolver.refs[logical_id] = name
    resolver.attributes[(logical_id, "Arn")] = arn
    return spec, arn


def _training_bucket(functions: Mapping[str, tuple[FunctionSpec, str]]) -> str:
    """The bucket the workflow works in: the one every function is told about in TRAINING_BUCKET."""
    names = {
        spec.environment["TRAINING_BUCKET"]
        for spec, _ in functions.values()
        if "TRAINING_BUCKET" in spec.environment
    }
    if len(names) != 1:
        raise TemplateError(
            f"expected one TRAINING_BUCKET across the workflow functions, found {sorted(names)}"
        )
    return names.pop()
