"""Distillation teachers: which foundation model may teach which students, where and how it is invoked
[UG:prequisites-model-distillation] (checked 2026-11-28), and how a teacher identifier is read.

The teachers' student lists are the one statement of distillation support: a catalog model supports
DISTILLATION exactly when a teacher here lists it (pipeline.catalog.entry.build). A teacher that is
also a customizable base (Nova Pro, Llama 3.1 70B, Llama 3.3 70B) takes its lifecycle from that
model's catalog entry; the others state their own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pipeline.catalog.models import ENTRIES
from pipeline.catalog.models.shared import LEGACY_TABLE
from pipeline.catalog.profiles import split_profile
from pipeline.catalog.types import LIFECYCLE_CHECKED, Lifecycle

SOURCE: Final = "[UG:prequisites-model-distillation], checked 2026-11-28"
# The catalog entries by the id their base model is invoked by (``amazon.nova-pro-v1:0``).
_ENTRY_LIFECYCLES: Final = MappingProxyType({e.on_demand_id: e.lifecycle for e in ENTRIES})


@dataclass(frozen=True)
class Teacher:
    """A distillation teacher and the students it may teach [UG:prequisites-model-distillation]."""

    model_id: str
    name: str
    regions: tuple[str, ...]
    students: tuple[str, ...]
    on_demand: bool  # usable by its plain model id or foundation-model ARN
    inference_profile: bool  # usable through a system-defined cross-Region inference profile
    # None: the lifecycle of the catalog entry invoked by this id (one statement per foundation model).
    own_lifecycle: Lifecycle | None = None
    source: str = SOURCE

    @property
    def lifecycle(self) -> Lifecycle:
        if self.own_lifecycle is not None:
            return self.own_lifecycle
        return _ENTRY_LIFECYCLES[self.model_id]


_NOVA_STUDENTS: Final = ("amazon.nova-lite-v1:0:300k", "amazon.nova-micro-v1:0:128k")

TEACHERS: Final[Mapping[str, Teacher]] = MappingProxyType(
    {
        t.model_id: t
        for t in (
            Teacher(
                "amazon.nova-pro-v1:0",
                "Amazon Nova Pro",
                ("us-east-1",),
                _NOVA_STUDENTS,
                on_demand=True,
                inference_profile=True,
            ),
            Teacher(
                "amazon.nova-premier-v1:0",
                "Amazon Nova Premier",
                ("us-east-1",),
                (*_NOVA_STUDENTS, "amazon.nova-pro-v1:0:300k"),
                on_demand=False,
                inference_profile=True,
                own_lifecycle=Lifecycle(
                    LEGACY_TABLE,
                    legacy=dt.date(2026, 3, 13),
                    end_of_life=dt.date(2026, 9, 14),
                    checked=LIFECYCLE_CHECKED,
                ),
            ),
            Teacher(
                "meta.llama3-1-405b-instruct-v1:0",
                "Meta Llama 3.1 405B Instruct",
                ("us-west-2",),
                (
                    "meta.llama3-1-8b-instruct-v1:0:128k",
                    "meta.llama3-1-70b-instruct-v1:0:128k",
                    "meta.llama3-2-1b-instruct-v1:0:128k",
                    "meta.llama3-3-70b-instruct-v1:0:128k",
                ),
                on_demand=True,
                inference_profile=False,
                # The card reads "Model lifecycle: Legacy" and "Model EOL date: Legacy: July 7, 2026". Read
                # as the end-of-life date, like the Llama 3.2 cards of the same revision and an AWS Labs
                # lifecycle table; the model is also absent from the table of Legacy models, which omits
                # models past end of life. The other reading (Legacy since 2026-07-07, end of life undated)
                # would still allow it as a teacher.
                own_lifecycle=Lifecycle(
                    "[UG:model-card-meta-llama-3-1-405b-instruct]",
                    end_of_life=dt.date(2026, 7, 7),
                    unconfirmed="the card's 'Model EOL date: Legacy: July 7, 2026' is read as the "
                    "end-of-life date",
                    checked=LIFECYCLE_CHECKED,
                ),
            ),
            Teacher(
                "meta.llama3-1-70b-instruct-v1:0",
                "Meta Llama 3.1 70B Instruct",
                ("us-west-2",),
                (
                    "meta.llama3-1-8b-instruct-v1:0:128k",
                    "meta.llama3-2-1b-instruct-v1:0:128k",
                    "meta.llama3-2-3b-instruct-v1:0:128k",
                ),
                on_demand=True,
                inference_profile=True,
            ),
            Teacher(
                "meta.llama3-3-70b-instruct-v1:0",
                "Meta Llama 3.3 70B Instruct",
                ("us-west-2",),
                (
                    "meta.llama3-1-8b-instruct-v1:0:128k",
                    "meta.llama3-2-1b-instruct-v1:0:128k",
                    "meta.llama3-2-3b-instruct-v1:0:128k",
                ),
                on_demand=False,
                inference_profile=True,
            ),
        )
    }
)

# --------------------------------------------------------------------------------------------------
# Reading a teacherModelIdentifier
# --------------------------------------------------------------------------------------------------

_TEACHER_ARN_RE: Final = re.compile(
    r"arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>\d{12})?:"
    r"(?P<kind>foundation-model|inference-profile|application-inference-profile)/(?P<id>.+)"
)


@dataclass(frozen=True)
class TeacherRef:
    """A parsed teacher identifier: which teacher, how it is invoked, and the ARN's region if any."""

    teacher: Teacher | None
    model_id: str
    via_profile: bool
    geography: str | None = None
    arn_region: str | None = None
    application_profile: bool = False


def parse_teacher(identifier: str) -> TeacherRef:
    """Understand a teacherModelIdentifier: model id, profile id, or either kind of ARN [BC]."""
    arn_region = None
    body = identifier
    application_profile = False
    match = _TEACHER_ARN_RE.fullmatch(identifier)
    if match:
        arn_region = match["region"]
        body = match["id"]
        application_profile = match["kind"] == "application-inference-profile"
        if match["kind"] == "foundation-model":
            return TeacherRef(TEACHERS.get(body), body, via_profile=False, arn_region=arn_region)
    geography, body = split_profile(body)
    via_profile = geography is not None or application_profile
    return TeacherRef(
        TEACHERS.get(body),
        body,
        via_profile=via_profile,
        geography=geography,
        arn_region=arn_region,
        application_profile=application_profile,
    )
