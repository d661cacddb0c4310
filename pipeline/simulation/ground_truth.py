"""What the simulated models know: the ground truth each Converse answer is cut from.

The simulated Bedrock answers a prompt with the reference answer it "learned" for it, degraded to
the model's quality (pipeline.simulation.fake_bedrock.runtime). It learns the references from the
run's datasets (evaluation prompts, fine-tuning records); a prompt that comes without one (the
held-out prompts of a distillation measured against its teacher, evaluation.references=teacher) is
given a made-up truth of its own, and the ids the run invokes its teacher by answer it at the
teacher's quality. One teaching for the simulation's runner and the sandbox, which reads the same
datasets from its S3 when a run starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final

from pipeline import evaluation, plan
from pipeline.runspec import RunSpec
from pipeline.runspec.model import REFERENCES_TEACHER
from pipeline.simulation.fake_bedrock import FakeBedrock

# Enough lines for every prompt a run evaluates on (maxPrompts is at most 1,000).
TEACH_MAX_LINES: Final = 5000
_TRUTH_TAIL: Final = ("which", "the", "shop", "answers", "with", "care", "and", "detail")


def references_from_teacher(spec: RunSpec) -> bool:
    return spec.evaluation is not None and spec.evaluation.references == REFERENCES_TEACHER


def meet_the_teacher(fake: FakeBedrock, spec: RunSpec) -> bool:
    """Where the teacher answers for the references, the fake answers its ids as the teacher."""
    teacher = plan.teacher_invoke_id(spec)
    if references_from_teacher(spec) and teacher is not None:
        fake.teachers.add(teacher)
        return True
    return False


def teach(fake: FakeBedrock, lines: Iterable[bytes | str], *, made_up: bool) -> None:
    """Learn the reference of every record that has one; with ``made_up``, a truth of its own for
    every prompt that has none."""
    for number, line in enumerate(lines):
        if number >= TEACH_MAX_LINES:
            break
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        pair = evaluation.extract_pair(record)
        if pair is not None:
            fake.learn(*pair)
        elif made_up:
            prompt = evaluation.extract_prompt(record)
            if prompt is not None:
                fake.learn(prompt, made_up_truth(prompt))


def made_up_truth(prompt: str) -> str:
    """What a perfect model answers to a prompt that came without a reference: words of its own, the
    same every time, long enough for answers of every quality to differ."""
    return " ".join([*reversed(prompt.split()), *_TRUTH_TAIL])
