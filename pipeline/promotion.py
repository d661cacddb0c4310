"""Promoting the model of an earlier run into a serving slot (``bedrock-customize promote``).

A promotion is a run of the same workflow that trains nothing. Its execution input is the earlier
run's spec with ``serving.slot`` set, plus ``promoteFrom`` (the earlier run's id). The preflight
checks the earlier run here: its custom model exists, is Active, is of the spec's base and carries
the earlier run's tags (this pipeline made it for that run), the earlier run's own evaluation passed,
and the model is not already the slot's champion. The plan then names the earlier run's job
(``jobVariant`` = pipeline.plan.PROMOTION_VARIANT): the loss gate reads that job's loss again
against the spec's bar, and the model is evaluated anew against the base *and the slot's champion
as it is now*, on the same prompts. So the verdict that lets a model into a slot is established by
the promotion itself, never borrowed from a run compared with an older champion. Approval, the lock,
the in-place change, the smoke check through the slot and the rollback are the workflow's, unchanged.

What a promotion creates is its own (an evaluation deployment or throughput, judge jobs); the
earlier run's job and model are not, and its cleanup never touches them (they carry the earlier
run's execution tags, pipeline.ownership).

Pure but for the clients passed in: :func:`read_source` is the one reading of an earlier run that
the preflight (lambdas/preflight/promotion_check.py) and the CLI (pipeline/operate/promote.py)
share. Calls: bedrock:GetCustomModel and bedrock:ListTagsForResource of the earlier model; the
caller's reader of its evaluation.json.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline import naming
from pipeline.plan import EXECUTION_ARN_TAG, RUN_ID_TAG
from pipeline.problems import Problem

# The execution input's key naming the earlier run (the CLI writes it, the preflight reads it).
PROMOTE_FROM: Final = "promoteFrom"
FIELD: Final = PROMOTE_FROM
_RUN_ID: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?")
_SUFFIX: Final = re.compile(r"-p(?P<attempt>[1-9][0-9]*)$")
_MAX_ID: Final = 80
_ACTIVE: Final = "Active"


def promotion_id(source_run_id: str, attempt: int) -> str:
    """The run id of the ``attempt``-th promotion (1, 2, ...) of ``source_run_id``'s model.

    ``<source run id>-p<n>``; a source id too long for the suffix is shortened and keeps a digest of
    itself, so two long ids sharing a prefix never promote under one id.
    """
    if attempt < 1:
        raise ValueError(f"a promotion attempt is 1 or more, got {attempt}")
    suffix = f"-p{attempt}"
    if len(source_run_id) + len(suffix) <= _MAX_ID:
        return f"{source_run_id}{suffix}"
    digest = hashlib.sha256(source_run_id.encode()).hexdigest()[:8]
    head = source_run_id[: _MAX_ID - len(suffix) - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}{suffix}"


@dataclass(frozen=True)
class Source:
    """The earlier run whose model a promotion serves, as the preflight found it."""

    run_id: str
    model_arn: str
    model_name: str
    job_name: str
    job_arn: str | None
    output_uri: str | None
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "sourceRunId": self.run_id,
            "modelArn": self.model_arn,
            "modelName": self.model_name,
            "jobName": self.job_name,
            "jobArn": self.job_arn,
            "outputUri": self.output_uri,
            "sourceVerdict": self.verdict,
        }

    def plan_job(self, base_model: str, customization_type: str) -> dict[str, Any]:
        """The plan's ``job`` of a promotion: the earlier run's job, which it does not create (the
        loss gate, ``status`` and the record read it by name)."""
        job: dict[str, Any] = {
            "JobName": self.job_name,
            "CustomModelName": self.model_name,
            "BaseModelIdentifier": base_model,
            "CustomizationType": customization_type,
        }
        if self.output_uri:
            job["OutputDataConfig"] = {"S3Uri": self.output_uri}
        return job


# The earlier run's documents the checks read (written by lambdas/evaluate_model and lambdas/judge).
EVALUATION_DOCUMENT: Final = "evaluation.json"
JUDGE_DOCUMENT: Final = "judge.json"
# A model or an evaluation that is not there is a reason to refuse, not an operational failure.
_NOT_THERE: Final = frozenset(
    {"ResourceNotFoundException", "ValidationException", "NoSuchKey", "404", "NotFound"}
)


def read_source(
    bedrock: Any,
    read_document: Callable[[str], Mapping[str, Any] | None],
    error_code: Callable[[Exception], str],
    source_run_id: str,
    *,
    base_model: str,
    champion_model_arn: str | None,
    judged: bool = False,
) -> tuple[Source | None, list[Problem]]:
    """Read the earlier run's model, its tags and its evaluation (``read_document``: one of its
    documents under runs/<its id>/ by name; with ``judged``, the judge's too), then
    :func:`check_source` them.

    Anything but "not there" escapes: an unchecked source never passes silently.
    """

    def unless_missing(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:
            if error_code(error) in _NOT_THERE:
                return None
            raise

    model = unless_missing(
        lambda: bedrock.get_custom_model(modelIdentifier=naming.custom_model_name(source_run_id))
    )
    tags: dict[str, str] = {}
    if model is not None:
        listed = bedrock.list_tags_for_resource(resourceARN=model["modelArn"])
        tags = {str(t["key"]): str(t["value"]) for t in listed.get("tags", [])}
    return check_source(
        source_run_id,
        model=model,
        tags=tags,
        evaluation=unless_missing(lambda: read_document(EVALUATION_DOCUMENT)),
        judge=unless_missing(lambda: read_document(JUDGE_DOCUMENT)) if judged else None,
        judged=judged,
        base_model=base_model,
        champion_model_arn=champion_model_arn,
    )


def source_id_problem(source_run_id: Any, this_run_id: str) -> Problem | None:
    """The ``promoteFrom`` of the execution input is a run id, and not this run's."""
    if not isinstance(source_run_id, str) or not _RUN_ID.fullmatch(source_run_id):
        return Problem(
            FIELD,
            source_run_id,
            "the run id of an earlier run (lowercase letters, digits and '-', 1-80)",
            f"{FIELD}={source_run_id!r} is not a run id; promote with `bedrock-customize promote RUN --slot "
            "NAME`, which writes it",
        )
    if source_run_id == this_run_id:
        return Problem(FIELD, source_run_id, "another run's id", "a run cannot promote its own model")
    return None


def _problem(source_run_id: str, message: str, allowed: str) -> Problem:
    return Problem(
        FIELD, source_run_id, allowed, f"cannot promote the model of run {source_run_id}: {message}"
    )


def check_source(
    source_run_id: str,
    *,
    model: Mapping[str, Any] | None,
    tags: Mapping[str, str],
    evaluation: Mapping[str, Any] | None,
    base_model: str,
    champion_model_arn: str | None,
    judge: Mapping[str, Any] | None = None,
    judged: bool = False,
) -> tuple[Source | None, list[Problem]]:
    """The earlier run's model, or why it cannot be promoted (every reason at once).

    ``model``: GetCustomModel of the earlier run's model name (None: not found); ``tags``: its tags;
    ``evaluation``: the earlier run's runs/<id>/evaluation.json (None: not written); ``judged``:
    the spec plans an LLM judge, whose bars (``judge``: its judge.json) must have passed too;
    ``champion_model_arn``: what the slot serves now (None: no champion yet).
    """
    name = naming.custom_model_name(source_run_id)
    if model is None:
        return None, [
            _problem(
                source_run_id,
                f"no custom model {name} exists (the run did not train one, or it was deleted)",
                "a run whose customization job completed",
            )
        ]
    problems: list[Problem] = []
    arn = str(model.get("modelArn") or "")
    status = model.get("modelStatus")
    if status not in (None, _ACTIVE):
        problems.append(
            _problem(source_run_id, f"its model {arn} is {status}, not Active", "an Active model")
        )
    if tags.get(RUN_ID_TAG) != source_run_id or not str(tags.get(EXECUTION_ARN_TAG, "")).endswith(
        f":{source_run_id}"
    ):
        problems.append(
            _problem(
                source_run_id,
                f"the model {arn} does not carry that run's tags ({RUN_ID_TAG}={tags.get(RUN_ID_TAG)!r}), so "
                "this pipeline cannot tell it made it for that run",
                "a model this pipeline's run created and tagged",
            )
        )
    model_base = str(model.get("baseModelArn") or "")
    if model_base and not model_base.endswith(f"/{base_model}"):
        problems.append(
            _problem(
                source_run_id,
                f"the model's base is {model_base}, not the spec's {base_model}",
                f"a custom model of {base_model}",
            )
        )
    verdict = str((evaluation or {}).get("verdict") or "")
    if evaluation is None:
        problems.append(
            _problem(
                source_run_id,
                "it has no evaluation (runs/<run id>/evaluation.json): only a model that passed its bars "
                "is promoted",
                "a run whose evaluation passed",
            )
        )
    elif evaluation.get("passed") is not True or evaluation.get("judged") is False:
        problems.append(
            _problem(
                source_run_id,
                f"its evaluation did not pass ({verdict or 'no verdict'}: "
                f"{str(evaluation.get('summary') or '')[:300]})",
                "a run whose evaluation passed",
            )
        )
    if judged and (judge is None or judge.get("passed") is not True):
        problems.append(
            _problem(
                source_run_id,
                "its LLM judge's bars did not pass"
                + (f" ({str(judge.get('summary') or '')[:300]})" if judge is not None else " (never judged)"),
                "a run whose judge's bars passed",
            )
        )
    if champion_model_arn is not None and arn == champion_model_arn:
        problems.append(
            _problem(
                source_run_id,
                f"its model {arn} already serves in the slot",
                "a model the slot does not serve",
            )
        )
    if problems:
        return None, problems
    job_arn = model.get("jobArn")
    output = (model.get("outputDataConfig") or {}).get("s3Uri")
    return (
        Source(
            run_id=source_run_id,
            model_arn=arn,
            model_name=str(model.get("modelName") or name),
            job_name=str(model.get("jobName") or naming.job_name(source_run_id)),
            job_arn=str(job_arn) if job_arn else None,
            output_uri=str(output) if output else None,
            verdict=verdict,
        ),
        [],
    )
