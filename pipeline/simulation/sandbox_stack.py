"""The synthesized stack as the sandbox deploys it: environment ``sandbox``, in moto's backends.

:class:`Sandbox` is the sandbox's world (moto's clients, the simulated Bedrock, the in-process
functions, what the template provisioned) and :meth:`Sandbox.provision` deploys the template into
it the way CloudFormation would for the environment ``sandbox``: the template's resources
(:func:`pipeline.simulation.template.provision`), each function told its environment, the function
URLs served by the sandbox's endpoint, the discovery manifest as the SSM parameter
``/bedrock-customization/sandbox/deployment`` and as the outputs of the stack
``BedrockCustomization-sandbox``, and a second IAM user who may approve what the default key starts.

Apart from :mod:`pipeline.simulation.sandbox` (the server's lifecycle) and
:mod:`pipeline.simulation.sandbox_routes` (its HTTP routes) because this is what the CLI finds once
the sandbox is up, whatever serves it; the names the CLI is told (the environment, the function URLs'
paths, the credentials) are defined here, once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline import naming
from pipeline.simulation.function_urls import ANSWER_HANDLER, START_HANDLER

ENVIRONMENT: Final = "sandbox"
APPROVAL_PATH: Final = "/_sandbox/approval-url/"
START_PATH: Final = "/_sandbox/start-url/"
# An IAM user of the sandbox other than the one the default key is: who approves what that one starts.
APPROVER: Final = "sandbox-approver"
# What the CLI should use: anything works as credentials, the sandbox only needs SigV4 to be present.
CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}


@dataclass
class Sandbox:
    """The sandbox's world: moto backends, fake Bedrock, functions and the deployed stack.

    Its requests are routed by :class:`~pipeline.simulation.sandbox_routes.SandboxApp`; between them
    :mod:`pipeline.simulation.sandbox_events` keeps ``delivered`` and ``announced``.
    """

    port: int
    region: str
    speed: float
    scenario: Any
    template: Any
    out: Path
    endpoint: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    fake: Any = None
    functions: Any = None
    provisioned: Any = None
    clients: dict[str, Any] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    answer_arn: str | None = None
    start_arn: str | None = None
    announced: int = 0

    @property
    def approval_url(self) -> str:
        return f"{self.endpoint}{APPROVAL_PATH}"

    @property
    def start_url(self) -> str:
        return f"{self.endpoint}{START_PATH}"

    def environment_line(self) -> str:
        """The exact environment the CLI needs, as a shell would take it."""
        values = {
            "AWS_ENDPOINT_URL": self.endpoint,
            **CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        return " ".join(f"{k}={v}" for k, v in values.items())

    # -- setting up ------------------------------------------------------------------------------

    def provision(self) -> None:
        import boto3

        from pipeline.simulation.actors import ACCOUNT
        from pipeline.simulation.template import PROVISIONED_SERVICES, Resolver, provision

        # The template's services, and SSM (the deployment manifest) and CloudFormation (its stack).
        services = (*PROVISIONED_SERVICES, "ssm", "cloudformation")
        self.clients = {name: boto3.client(name, region_name=self.region) for name in services}
        resolver = Resolver(region=self.region, account=ACCOUNT, stack_name=self.template.stack_name)
        self.provisioned = provision(self.template, resolver, self.clients)
        for function, arn in self.provisioned.functions.values():
            # The sandbox is the stack deployed as environment "sandbox": functions that know their
            # environment (serving slots' parameters, the --env of the commands they print) know it
            # as such, as a deployment for it would.
            if naming.DEPLOYMENT_ENVIRONMENT_VARIABLE in function.environment:
                environment = {**function.environment, naming.DEPLOYMENT_ENVIRONMENT_VARIABLE: ENVIRONMENT}
                function = dataclasses.replace(function, environment=environment)
            self.functions.register(function, arn)
        from pipeline.simulation.function_urls import function_arn

        self.answer_arn = function_arn(self.provisioned, ANSWER_HANDLER)
        self.start_arn = function_arn(self.provisioned, START_HANDLER)
        # What CloudFormation would know after a deployment: the state machine, the function URLs.
        machine_id, _ = self.template.state_machine()
        resolver.refs[machine_id] = self.provisioned.state_machine_arn
        served = {self.answer_arn: self.approval_url, self.start_arn: self.start_url}
        for logical_id, resource in self.template.of_type("AWS::Lambda::Url").items():
            target = resolver.resolve((resource.get("Properties") or {}).get("TargetFunctionArn"))
            resolver.attributes[(logical_id, "FunctionUrl")] = served.get(target, self.approval_url)
        self.manifest = self._manifest(resolver)
        name = f"/bedrock-customization/{ENVIRONMENT}/deployment"
        self.clients["ssm"].put_parameter(
            Name=name, Value=json.dumps(self.manifest), Type="String", Overwrite=True
        )
        self._stack_outputs(resolver)
        self._second_person()

    def _second_person(self) -> None:
        """An IAM user who may approve what ``sandbox`` (``user/moto``) starts: the starter may not."""
        key = None
        with contextlib.suppress(Exception):  # a moto without IAM users: the note is left out
            self.clients["iam"].create_user(UserName=APPROVER)
            key = self.clients["iam"].create_access_key(UserName=APPROVER)["AccessKey"]
        if key is not None:
            self.notes.append(
                f"runs started with the sandbox key may not be approved by it (self-approval); approve as "
                f"{APPROVER}: AWS_ACCESS_KEY_ID={key['AccessKeyId']} "
                f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']} bedrock-customize approve RUN_ID "
                f"--env {ENVIRONMENT}"
            )

    def _manifest(self, resolver: Any) -> dict[str, Any]:
        from pipeline.simulation.template import TemplateError

        manifest: dict[str, Any] = {}
        for resource in self.template.of_type("AWS::SSM::Parameter").values():
            props = resource.get("Properties", {})
            if str(props.get("Name", "")).endswith("/deployment"):
                try:
                    manifest = json.loads(resolver.resolve(props.get("Value")))
                except (TemplateError, TypeError, json.JSONDecodeError) as error:
                    self.notes.append(
                        f"the template's manifest did not resolve ({error}); built from outputs"
                    )
        for key, output in (self.template.body.get("Outputs") or {}).items():
            wanted = key[:1].lower() + key[1:]
            if wanted not in manifest and key != "ManifestParameter":
                with contextlib.suppress(TemplateError):
                    manifest[wanted] = resolver.resolve(output.get("Value"))
        manifest.update(
            environment=ENVIRONMENT,
            stackName=f"BedrockCustomization-{ENVIRONMENT}",
            region=self.region,
            approvalUrl=self.approval_url,
            **({"startUrl": self.start_url} if self.start_arn else {}),
            # The CLI shows deadlines on the wall clock and in sandbox time (pipeline.operate.discovery).
            sandboxSpeed=self.speed,
        )
        manifest.setdefault("version", 1)
        return manifest

    def _stack_outputs(self, resolver: Any) -> None:
        """The stack ``BedrockCustomization-sandbox`` with the manifest's values as outputs (discovery's
        fallback when the SSM parameter cannot be read). A stand-in resource holds it up."""
        outputs = {
            key[:1].upper() + key[1:]: {"Value": str(value)}
            for key, value in self.manifest.items()
            if isinstance(value, str) and key not in ("environment", "stackName", "region", "account")
        }
        body = {
            "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": outputs,
        }
        try:
            with warnings.catch_warnings():  # moto: "WaitConditionHandle is not supported" (it needs none)
                warnings.simplefilter("ignore")
                self.clients["cloudformation"].create_stack(
                    StackName=self.manifest["stackName"], TemplateBody=json.dumps(body)
                )
        except Exception as error:  # the SSM manifest is what the CLI reads first
            self.notes.append(f"no stack outputs: {type(error).__name__}: {error}")
