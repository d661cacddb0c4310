"""Judges: the evaluator models of Bedrock evaluation jobs that use an LLM as a judge.

[UG:evaluation-judge] "Supported evaluator models": one list for built-in metrics, one for custom
metrics; "Cross Region inference profiles are supported for the listed models". Judges are foundation
models used on demand (the job invokes them; their tokens are billed to the account). A judge that is
also a customizable base (Nova Pro, Claude 3 Haiku, the Llama 70B models) takes its on-demand prices
and its lifecycle from that model's catalog entry; the others' prices are unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pipeline.catalog.lifecycle import lifecycle_of
from pipeline.catalog.profiles import serves, split_profile
from pipeline.catalog.registry import model_invoked_as
from pipeline.catalog.types import END_OF_LIFE, LEGACY, Lifecycle, Prices, day_or_today
from pipeline.problems import Problem, did_you_mean

_JUDGE_SOURCE: Final = "[UG:evaluation-judge]"


@dataclass(frozen=True)
class Judge:
    """A foundation model that can judge: for built-in metrics, for custom metrics, or both."""

    model_id: str
    name: str
    builtin_metrics: bool
    custom_metrics: bool
    source: str = _JUDGE_SOURCE

    @property
    def prices(self) -> Prices:
        """The judge's on-demand token rates: its catalog entry's base-model rates (unknown without one)."""
        model = model_invoked_as(self.model_id)
        if model is None:
            return Prices()
        return Prices(
            on_demand_input_per_1m_tokens=model.prices.on_demand_input_per_1m_tokens,
            on_demand_output_per_1m_tokens=model.prices.on_demand_output_per_1m_tokens,
        )

    @property
    def lifecycle(self) -> Lifecycle:
        model = model_invoked_as(self.model_id)
        return model.lifecycle if model is not None else lifecycle_of(self.model_id)


DEFAULT_JUDGE: Final = "amazon.nova-pro-v1:0"

JUDGES: Final[Mapping[str, Judge]] = MappingProxyType(
    {
        j.model_id: j
        for j in (
            Judge("amazon.nova-pro-v1:0", "Amazon Nova Pro", True, True),  # the only Nova judge listed
            Judge("anthropic.claude-sonnet-4-20250514-v1:0", "Anthropic Claude Sonnet 4", True, True),
            Judge("anthropic.claude-3-7-sonnet-20250219-v1:0", "Anthropic Claude 3.7 Sonnet", True, True),
            Judge("anthropic.claude-3-5-sonnet-20241022-v2:0", "Anthropic Claude 3.5 Sonnet v2", True, True),
            Judge("anthropic.claude-3-5-sonnet-20240620-v1:0", "Anthropic Claude 3.5 Sonnet v1", True, True),
            Judge("anthropic.claude-3-5-haiku-20241022-v1:0", "Anthropic Claude 3.5 Haiku", True, True),
            Judge("anthropic.claude-3-haiku-20240307-v1:0", "Anthropic Claude 3 Haiku", True, True),
            Judge("meta.llama3-1-70b-instruct-v1:0", "Meta Llama 3.1 70B Instruct", True, True),
            Judge("meta.llama3-3-70b-instruct-v1:0", "Meta Llama 3.3 70B Instruct", False, True),
            Judge("mistral.mistral-large-2402-v1:0", "Mistral Large 24.02", True, True),
            Judge("mistral.mistral-large-2407-v1:0", "Mistral Large 24.07", False, True),
        )
    }
)
# A judge may not be Legacy: a Legacy model may refuse new customers [UG:model-lifecycle], and a run
# that starts on one would fail only after training was paid for.
_JUDGE_REFUSED: Final = frozenset({LEGACY, END_OF_LIFE})


def judge_of(identifier: str) -> Judge | None:
    """The catalog judge behind a model id or a system-defined cross-Region inference profile id."""
    return JUDGES.get(split_profile(identifier)[1])


def check_judge(
    identifier: str,
    region: str | None,
    *,
    builtin_metrics: bool,
    custom_metrics: bool,
    field_name: str = "evaluation.judge.model",
    today: dt.date | None = None,
) -> list[Problem]:
    """Every reason the judge would be refused: not a listed judge, not for these metrics, its
    lifecycle, or a cross-Region profile of another geography."""
    judge = judge_of(identifier)
    listed = ", ".join(JUDGES)
    if judge is None:
        return [
            Problem(
                field_name,
                identifier,
                listed,
                f"{identifier!r} is not a judge model the user guide lists{did_you_mean(identifier, JUDGES)} "
                f"{_JUDGE_SOURCE}; judges: {listed}",
            )
        ]
    problems: list[Problem] = []
    for needed, supported, kind in (
        (builtin_metrics, judge.builtin_metrics, "built-in"),
        (custom_metrics, judge.custom_metrics, "custom"),
    ):
        if needed and not supported:
            able = ", ".join(
                j.model_id
                for j in JUDGES.values()
                if (j.builtin_metrics if kind == "built-in" else j.custom_metrics)
            )
            problems.append(
                Problem(
                    field_name,
                    identifier,
                    able,
                    f"{judge.model_id} cannot judge {kind} metrics {_JUDGE_SOURCE}; judges that can: {able}",
                )
            )
    head = split_profile(identifier)[0]
    if head is not None and region is not None and not serves(head, region):
        problems.append(
            Problem(
                field_name,
                identifier,
                f"a profile for {region}",
                f"the {head}. inference profile does not serve {region}",
            )
        )
    day = day_or_today(today)
    lifecycle = judge.lifecycle
    status = lifecycle.status(day)
    if status in _JUDGE_REFUSED:
        current = [
            j.model_id
            for j in JUDGES.values()
            if j.lifecycle.status(day) not in _JUDGE_REFUSED and (j.custom_metrics or not custom_metrics)
        ]
        suggestion = DEFAULT_JUDGE if DEFAULT_JUDGE in current else " or ".join(current[:2])
        problems.append(
            Problem(
                field_name,
                identifier,
                ", ".join(current),
                f"{judge.model_id} ({judge.name}) is {status.replace('_', ' ').lower()} as of "
                f"{day.isoformat()} ({lifecycle.source}); use a current judge, e.g. {suggestion}",
            )
        )
    return problems
