"""People in moto for the function-URL handlers' tests: IAM users with keys, approver-role sessions,
identity proofs signed with their credentials, and the URL event Lambda would build for them."""

from __future__ import annotations

import json
from typing import Any, Final

import boto3
from botocore.credentials import Credentials

from pipeline.operate.approvals import identity_proof
from tests.handlers.plans import ACCOUNT, REGION


class LambdaContext:
    """The part of the Lambda context the URL handlers use: their own ARN (its account)."""

    aws_request_id = "req-0001"
    invoked_function_arn: Final = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:approval-answer"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def user(name: str) -> Credentials:
    """A new IAM user of the account and their access key."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def role(name: str = "BedrockCustomization-dev-ApproverRole") -> dict[str, str]:
    created = boto3.client("iam", region_name=REGION).create_role(
        RoleName=name, AssumeRolePolicyDocument="{}"
    )
    return {"arn": created["Role"]["Arn"], "id": created["Role"]["RoleId"]}


def session(of: Credentials, role_arn: str, name: str) -> Credentials:
    """``of`` assumes ``role_arn`` with ``name`` as session name and source identity (as the CLI does)."""
    sts = boto3.client(
        "sts", region_name=REGION, aws_access_key_id=of.access_key, aws_secret_access_key=of.secret_key
    )
    assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName=name, SourceIdentity=name)["Credentials"]
    return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])


def arn_of(credentials: Credentials) -> str:
    sts = boto3.client(
        "sts",
        region_name=REGION,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )
    return str(sts.get_caller_identity()["Arn"])


def url_event(
    body: dict[str, Any],
    credentials: Credentials | None,
    binding: str,
    *,
    caller: str | None = None,
    proof: Any = None,
) -> dict[str, Any]:
    """The event of a function URL with IAM auth: ``caller`` (default: the signer) as Lambda's verified
    caller, and the body with an identity proof signed by ``credentials`` (unless ``proof`` is given)."""
    signed = {**body}
    if credentials is not None or proof is not None:
        signed["proof"] = proof if proof is not None else identity_proof(credentials, REGION, binding)
    context: dict[str, Any] = {"http": {"method": "POST", "path": "/"}}
    who = caller if caller is not None else (arn_of(credentials) if credentials is not None else None)
    if who is not None:
        context["authorizer"] = {"iam": {"userArn": who, "accountId": ACCOUNT}}
    return {"version": "2.0", "requestContext": context, "body": json.dumps(signed), "isBase64Encoded": False}
