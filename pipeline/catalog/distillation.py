"""Whether a teacher, student and region make a distillation job Bedrock accepts.

Who may teach whom, where and how, is the teachers' data (pipeline.catalog.teachers); a teacher past
its end of life is refused by the lifecycle rules (pipeline.catalog.lifecycle).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from pipeline.catalog.lifecycle import TEACHER_USE, lifecycle_problems
from pipeline.catalog.profiles import geography as profile_geography
from pipeline.catalog.profiles import serves
from pipeline.catalog.teachers import TEACHERS, parse_teacher
from pipeline.catalog.types import ModelInfo
from pipeline.problems import Problem, did_you_mean


def check_teacher(
    identifier: str,
    student: ModelInfo,
    region: str,
    *,
    field_name: str = "teacher",
    today: dt.date | None = None,
) -> list[Problem]:
    """Every reason a teacher/student/region combination would be refused, end of life included.

    ``today`` is the day of the lifecycle check (UTC today by default).
    """
    ref = parse_teacher(identifier)
    allowed = ", ".join(student.distillation_teachers) or "none"
    if ref.application_profile:
        return [
            Problem(
                field_name,
                identifier,
                "a model id or a system-defined cross-Region inference profile",
                "application inference profiles cannot be teachers; use the teacher's model id or its "
                f"system-defined cross-Region inference profile ({allowed})",
            )
        ]
    if ref.teacher is None:
        return [
            Problem(
                field_name,
                identifier,
                allowed,
                f"{identifier!r} is not a distillation teacher{did_you_mean(ref.model_id, TEACHERS)}; "
                f"teachers for {student.model_id}: {allowed}",
            )
        ]
    teacher = ref.teacher
    problems: list[Problem] = []
    if student.model_id not in teacher.students:
        problems.append(
            Problem(
                field_name,
                identifier,
                allowed,
                f"{teacher.model_id} cannot teach {student.model_id}; "
                f"it teaches {', '.join(teacher.students)}. "
                f"Teachers for {student.model_id}: {allowed}",
            )
        )
    if ref.via_profile and not teacher.inference_profile:
        problems.append(
            Problem(
                field_name,
                identifier,
                teacher.model_id,
                f"{teacher.model_id} can be a teacher only on demand; use {teacher.model_id!r}",
            )
        )
    elif not ref.via_profile and not teacher.on_demand:
        geography = profile_geography(region) or "us"
        problems.append(
            Problem(
                field_name,
                identifier,
                f"{geography}.{teacher.model_id}",
                f"{teacher.model_id} can be a teacher only through a cross-Region inference profile; "
                f"use {geography}.{teacher.model_id!r} (or its inference-profile ARN)",
            )
        )
    if region not in teacher.regions:
        problems.append(
            Problem(
                field_name,
                identifier,
                ", ".join(teacher.regions),
                f"distillation from {teacher.model_id} runs in {', '.join(teacher.regions)}, not {region}",
            )
        )
    if ref.arn_region is not None and ref.arn_region != region:
        problems.append(
            Problem(
                field_name,
                identifier,
                region,
                f"the teacher ARN is in {ref.arn_region} but the run is in {region}",
            )
        )
    if ref.geography is not None and not serves(ref.geography, region):
        problems.append(
            Problem(
                field_name,
                identifier,
                f"a profile for {region}",
                f"the {ref.geography}. inference profile does not serve {region}",
            )
        )
    for problem in lifecycle_problems(
        teacher, purpose=TEACHER_USE, today=today, field=field_name, student=student
    ):
        problems.append(replace(problem, value=identifier))
    return problems
