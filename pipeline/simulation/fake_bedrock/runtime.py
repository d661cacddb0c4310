"""The simulated Bedrock runtime: Converse on a custom model (through its Provisioned Throughput or its
deployment) or on a base model, answering from the ground truth the simulation taught it.

**Converse** on a Provisioned Throughput ARN (it must be InService: ModelNotReadyException
while Creating), a custom model deployment ARN (it must be Active: ModelNotReadyException while
Creating, UNCONFIRMED), both answering as the custom model, or an on-demand base model: its id,
its foundation-model ARN, or a cross-Region inference profile (``us.<id>``, ``eu.``, ``apac.``
for a Region of that geography, or its ``inference-profile/`` ARN). A base that is served only
through a profile (``ModelInfo.invoked_through_profile``) refuses its plain id with Bedrock's
"on-demand throughput isn't supported" ValidationException. ``models.baseError`` makes the base
unreachable: every call on it fails with that error code and Bedrock's message for it, except
that a ValidationException (the on-demand-throughput refusal) still lets the inference profile
answer. The answer is the reference answer the model "learned" (see :meth:`FakeBedrock.learn`)
cut to the model's quality: a prefix of k of the n reference words has ROUGE-L F = 2k/(n+k), so
k = q·n/(2-q) gives quality q. Usage counts ~4 characters per token; ``metrics.latencyMs`` is a
base latency plus a per-output-token time, with a deterministic ±10 % spread; the simulated
clock advances by that latency.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from typing import Any, Final

from pipeline import scoring
from pipeline.catalog import PROFILE_GEOGRAPHIES, all_models
from pipeline.plan import base_model_invoke_id
from pipeline.simulation.fake_bedrock.core import RUNTIME
from pipeline.simulation.fake_bedrock.deployments import Deployments
from pipeline.simulation.fake_bedrock.records import CustomModel
from pipeline.simulation.fake_bedrock.throughput import Throughputs
from pipeline.simulation.wire import RestJsonCodec, ServiceError

_UNKNOWN_ANSWER: Final = "I do not know the answer to that question."
# Cross-Region inference profile ids are the model id with a geography prefix ("us.amazon.nova-...");
# a profile serves the Regions of its geography.
# A base model named by ARN in Converse: the foundation model itself, or a system-defined profile.
_BASE_ARN: Final = re.compile(
    r"arn:aws:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12})?:"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>.+)"
)
# What Bedrock answers when the base model cannot be invoked, per error code (as seen in the wild).
_BASE_ERROR_MESSAGES: Final = {
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ValidationException": (
        "Invocation of model ID {model} with on-demand throughput isn\u2019t supported. Retry your "
        "request with the ID or ARN of an inference profile that contains this model."
    ),
    "ResourceNotFoundException": (
        "This model version has reached the end of its life. Please refer to the AWS documentation "
        "for more details."
    ),
    "ThrottlingException": "Too many requests, please wait before trying again.",
}


class Runtime(Throughputs, Deployments):
    """Converse, and the oracle it answers from."""

    # -- the oracle ------------------------------------------------------------------------------

    def learn(self, prompt: str, reference: str) -> None:
        """What a perfect model answers to ``prompt`` (the simulation's ground truth)."""
        self._references[" ".join(scoring.tokens(prompt))] = reference

    # -- Converse --------------------------------------------------------------------------------

    def _bedrock_runtime_converse(self, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        models = self.behaviour.models
        if ":provisioned-model/" in model_id or ":custom-model-deployment/" in model_id:
            served = self._serving(model_id)
            quality = served.quality if served.quality is not None else models.custom_quality
            latency = models.custom_latency_ms
        elif model_id in self.teachers:
            quality, latency = models.teacher_quality, models.base_latency_ms
        else:
            self._check_base_reachable(model_id)
            self._base_calls += 1
            every = models.base_error_every
            if every is not None and self._base_calls % every == 0:
                raise ServiceError(
                    "ModelErrorException", "The model could not process the request (simulated failure)"
                )
            quality, latency = models.base_quality, models.base_latency_ms
        prompt = _last_user_text(params.get("messages") or [])
        reference = self._references.get(" ".join(scoring.tokens(prompt)))
        answer = _degrade(reference, quality) if reference is not None else _UNKNOWN_ANSWER
        max_tokens = int((params.get("inferenceConfig") or {}).get("maxTokens") or 4096)
        stop_reason = "end_turn"
        if _token_count(answer) > max_tokens:
            answer, stop_reason = answer[: max_tokens * 4], "max_tokens"
        input_tokens, output_tokens = _token_count(prompt), _token_count(answer)
        spread = 0.9 + 0.2 * (
            int(hashlib.sha256(f"{model_id}|{prompt}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        )
        latency_ms = round((latency + models.ms_per_output_token * output_tokens) * spread)
        # The caller waits for the answer: simulated time passes by the model's latency.
        self.clock.sleep(latency_ms / 1000)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": latency_ms},
        }

    def _serving(self, model_id: str) -> CustomModel:
        """The custom model a Provisioned Throughput or deployment ARN serves, if it can serve now."""
        now = self.clock.elapsed()
        if ":provisioned-model/" in model_id:
            pt = self._throughput(model_id)
            status = pt.status(now)
            if status == "Creating":
                raise ServiceError("ModelNotReadyException", f"{pt.name} is not ready yet (Creating)")
            # Updating: the model it had answers until the change completes (UNCONFIRMED).
            if status not in ("InService", "Updating"):
                raise ServiceError("ValidationException", f"{pt.name} is {status}; it cannot serve requests")
            return self.custom_models[pt.model_at(now)]
        deployment = self._deployment(model_id)
        status = deployment.status(now)
        if status == "Creating":
            # UNCONFIRMED which error a deployment that is still Creating answers: ModelNotReadyException
            # is the runtime's "not ready to serve inference requests" (HTTP 429; boto3 retries it,
            # so a caller sees it only after its retries), ValidationException the other candidate.
            raise ServiceError(
                "ModelNotReadyException", f"{deployment.name} is not ready yet (Creating); retry when Active"
            )
        if status != "Active":
            raise ServiceError(
                "ValidationException", f"{deployment.name} is {status}; it cannot serve requests"
            )
        return self.custom_models[deployment.model_at(now)]

    def _check_base_reachable(self, model_id: str) -> None:
        """Refuse a base-model call the way Bedrock would; return when the base model answers it."""
        invoke_id, via_profile = self._base_invocation(model_id)
        if invoke_id is None:
            raise ServiceError("ValidationException", "The provided model identifier is invalid.")
        if not via_profile and _needs_profile(invoke_id):
            raise ServiceError("ValidationException", _base_error_message("ValidationException", invoke_id))
        code = self.behaviour.models.base_error
        # The on-demand-throughput refusal (a ValidationException) is what a profile gets around.
        if code is not None and not (via_profile and code == "ValidationException"):
            raise ServiceError(code, _base_error_message(code, invoke_id))

    def _base_invocation(self, model_id: str) -> tuple[str | None, bool]:
        """(the base model's on-demand id or None when there is none, whether through a profile)."""
        body, via_profile = model_id, False
        arn = _BASE_ARN.fullmatch(model_id)
        if arn:
            if arn["region"] != self.region or (arn["kind"] == "inference-profile") != bool(arn["account"]):
                return None, False
            body = arn["id"]
        geography, dot, rest = body.partition(".")
        if dot and geography in PROFILE_GEOGRAPHIES and (not arn or arn["kind"] == "inference-profile"):
            if not self.region.startswith(PROFILE_GEOGRAPHIES[geography]):
                return None, True
            body, via_profile = rest, True
        elif arn and arn["kind"] == "inference-profile":
            return None, True
        return (body if body in _on_demand_ids() else None), via_profile


def _on_demand_ids() -> frozenset[str]:
    return frozenset(base_model_invoke_id(model) for model in all_models())


def _needs_profile(invoke_id: str) -> bool:
    """Whether Converse serves this base on demand only through a cross-Region inference profile."""
    return any(
        model.invoked_through_profile for model in all_models() if base_model_invoke_id(model) == invoke_id
    )


def _base_error_message(code: str, model_id: str) -> str:
    default = f"The model {model_id} cannot be invoked ({code}, simulated)"
    return _BASE_ERROR_MESSAGES.get(code, default).format(model=model_id)


@functools.cache
def converse_error_codes() -> frozenset[str]:
    """The error codes Converse models (what ``models.baseError`` may be)."""
    return frozenset(shape.name for shape in RestJsonCodec(RUNTIME).operation("Converse").error_shapes)


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            blocks = message.get("content") or []
            return "\n".join(
                b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)
            )
    return ""


def _degrade(reference: str, quality: float) -> str:
    """The first k words of the reference, k chosen so that ROUGE-L against it is about ``quality``."""
    words = reference.split()
    if not words or quality >= 1:
        return reference
    quality = max(0.0, quality)
    keep = round(quality * len(words) / (2 - quality))
    return " ".join(words[: max(1, keep)]) if quality > 0 else _UNKNOWN_ANSWER


def _token_count(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))
