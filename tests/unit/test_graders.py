"""The built-in RFT graders and the grader contract (pipeline.graders)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from pipeline import graders
from pipeline.graders import (
    EXACT_MATCH,
    JSON_SCHEMA,
    NUMERIC,
    ROUGE_L,
    GraderInvocationError,
    GraderSelectionError,
    UnscorableRecordError,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:BedrockCustomization-dev-Grader"
SCHEMA = {
    "type": "object",
    "properties": {"team": {"enum": ["returns", "billing"]}, "priority": {"type": "integer", "minimum": 1}},
    "required": ["team"],
    "additionalProperties": False,
}


def record(reference: Any = "returns", **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Route the message."},
            {"role": "user", "content": "I want a refund."},
        ],
        "reference_answer": reference,
        **extra,
    }


def score(grader: str, answer: Any, reference: Any = "returns", **extra: Any) -> float:
    sample = graders.sample_for(record(reference, **extra), "s1", "")
    sample["messages"][-1]["content"] = answer
    (result,) = graders.grade_batch(grader, [sample])
    assert result["id"] == "s1"
    return float(result["aggregate_reward_score"])


# -- exact-match ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("returns", 1.0),
        ("  Returns.  ", 1.0),
        ('"RETURNS"', 1.0),
        ("returns!", 1.0),
        ("\uff32\uff25\uff34\uff35\uff32\uff2e\uff33", 1.0),  # NFKC: full-width RETURNS
        ("the returns team", 0.0),
        ("billing", 0.0),
    ],
)
def test_exact_match_compares_normalized_answers(answer: str, expected: float) -> None:
    assert score(EXACT_MATCH, answer) == expected


def test_exact_match_takes_numbers_lists_and_answer_objects() -> None:
    assert score(EXACT_MATCH, "42", 42) == 1.0
    assert score(EXACT_MATCH, "refund", ["returns", "refund"]) == 1.0
    assert score(EXACT_MATCH, "returns", {"answer": "returns", "why": "refund"}) == 1.0
    assert score(EXACT_MATCH, "16", {"final_answer": "16"}) == 1.0


# -- numeric ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("42", 42, 1.0),
        ("The total is $1,234.50.", "1234.5", 1.0),
        ("2 + 3 = 5, so the answer is 7", 7, 1.0),  # the last number
        ("Step 1 gives 12. #### 16 (checked with 3 methods)", 16, 1.0),  # the number after ####
        ("about 3.14", {"value": 3.14159, "tolerance": 0.01}, 1.0),
        ("about 3.2", {"value": 3.14159, "tolerance": 0.01}, 0.0),
        ("105", {"value": 100, "relativeTolerance": 0.1}, 1.0),
        ("0.30000000000000004", 0.3, 1.0),  # float noise is within the default tolerance
        ("41", 42, 0.0),
        ("-7", -7, 1.0),
        ("1e3", 1000, 1.0),
    ],
)
def test_numeric_reads_the_answers_number_and_applies_the_tolerance(
    answer: str, reference: Any, expected: float
) -> None:
    assert score(NUMERIC, answer, reference) == expected


def test_numeric_answer_without_a_number_scores_zero_and_says_so() -> None:
    sample = graders.sample_for(record(42), "s", "I cannot tell")
    (result,) = graders.grade_batch(NUMERIC, [sample])
    assert result["aggregate_reward_score"] == 0.0
    assert {"name": "number_found", "value": 0.0, "type": "Metric"} in result["metrics_list"]


# -- json-schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"team": "returns"}', 1.0),
        ('{"team": "billing", "priority": 2}', 1.0),
        ('```json\n{"team": "returns"}\n```', 1.0),  # a fence around the JSON is removed
        ('{"team": "shipping"}', graders.JSON_BUT_INVALID_SCORE),  # not in the enum
        ('{"team": "returns", "extra": 1}', graders.JSON_BUT_INVALID_SCORE),  # additionalProperties
        ('{"priority": 0}', graders.JSON_BUT_INVALID_SCORE),  # required and minimum
        ("[1, 2]", graders.JSON_BUT_INVALID_SCORE),  # wrong type
        ("team: returns", 0.0),  # not JSON
        ('{"team": "returns"', 0.0),  # truncated
    ],
)
def test_json_schema_scores_parsing_and_validity(answer: str, expected: float) -> None:
    assert score(JSON_SCHEMA, answer, json_schema=SCHEMA) == expected


def test_json_schema_violations_name_the_place() -> None:
    problems = graders.schema_violations({"team": "x", "priority": 0, "more": True}, SCHEMA)
    assert problems == [
        '$.team: must be one of ["returns", "billing"]',
        "$.priority: breaks minimum 1",
        "$: unexpected key 'more'",
    ]


def test_json_schema_subset_covers_arrays_strings_and_combinators() -> None:
    schema = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"anyOf": [{"type": "string", "pattern": "^[a-z]+$", "maxLength": 5}, {"type": "null"}]},
    }
    assert graders.schema_violations(["abc", None], schema) == []
    assert graders.schema_violations([], schema) == ["$: fewer than 1 items"]
    assert graders.schema_violations(["a", "a"], schema) == ["$: items are not unique"]
    assert graders.schema_violations(["ABCDEFG"], schema) == ["$[0]: matches none of anyOf"]
    assert graders.schema_violations(3, {"oneOf": [{"type": "integer"}, {"type": "number"}]}) == [
        "$: does not match exactly one of oneOf"
    ]
    assert graders.schema_violations(True, {"type": "integer"}) == ["$: expected integer, got a boolean"]


def test_a_schema_with_keywords_the_grader_does_not_implement_is_unscorable() -> None:
    with pytest.raises(UnscorableRecordError, match=r"uses \$ref, which the built-in json-schema grader"):
        score(JSON_SCHEMA, "{}", json_schema={"$ref": "#/definitions/x"})
    with pytest.raises(UnscorableRecordError, match="'json_schema' key"):
        score(JSON_SCHEMA, "{}")
    with pytest.raises(UnscorableRecordError, match="not a regular expression"):
        score(JSON_SCHEMA, "{}", json_schema={"type": "string", "pattern": "("})


# -- rouge-l ----------------------------------------------------------------------------------------


def test_rouge_l_scores_word_overlap_in_order() -> None:
    reference = "Send the tent back within 30 days for a full refund"
    assert score(ROUGE_L, reference, reference) == 1.0
    partial = score(ROUGE_L, "send the tent back for a refund", reference)
    assert 0.5 < partial < 1.0
    assert score(ROUGE_L, "completely unrelated words", reference) == 0.0
    assert score(ROUGE_L, "x = 4", {"solution": "x = 4", "steps": []}) == 1.0


# -- malformed answers score 0, never an error ------------------------------------------------------


@pytest.mark.parametrize("grader", graders.BUILTIN_GRADERS)
@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s["messages"][-1].update(content=""),  # empty answer
        lambda s: s["messages"][-1].update(content="   \n"),  # whitespace only
        lambda s: s["messages"][-1].update(content=None),  # not a string
        lambda s: s["messages"][-1].update(content=[{"image": "x"}]),  # parts without text
        lambda s: s["messages"].pop(),  # no assistant turn at all
        lambda s: s.update(messages="not a list"),
        lambda s: s["messages"][-1].update(role="user"),  # the last turn is not the answer
    ],
)
def test_every_builtin_grader_scores_a_malformed_answer_zero(grader: str, mutate: Any) -> None:
    sample = graders.sample_for(record(42, json_schema=SCHEMA), "s", "42")
    mutate(sample)
    (result,) = graders.grade_batch(grader, [sample])
    assert result["aggregate_reward_score"] == 0.0
    assert {"name": "malformed_response", "value": 1.0, "type": "Metric"} in result["metrics_list"]


def test_openai_text_parts_are_read_as_the_answer() -> None:
    sample = graders.sample_for(record("returns"), "s", "")
    sample["messages"][-1]["content"] = [{"type": "text", "text": "ret"}, {"type": "text", "text": "urns"}]
    assert graders.grade_batch(EXACT_MATCH, [sample])[0]["aggregate_reward_score"] == 1.0


# -- records a grader cannot score raise ------------------------------------------------------------


@pytest.mark.parametrize(
    ("grader", "reference", "message"),
    [
        (EXACT_MATCH, {"no": "answer key"}, "exact-match needs a string or number reference"),
        (EXACT_MATCH, [], "empty list"),
        (EXACT_MATCH, "  ", "empty after normalization"),
        (NUMERIC, "about twelve", "numeric reference 'about twelve' is not a number"),
        (NUMERIC, {"tolerance": 1}, "needs 'value'"),
        (NUMERIC, {"value": 3, "tolerance": -1}, "tolerances must be >= 0"),
        (NUMERIC, True, "got a boolean"),
        (ROUGE_L, "!!!", "no words to compare with"),
        (ROUGE_L, None, "no reference_answer (neither at the top level nor under metadata)"),
    ],
)
def test_a_record_the_grader_cannot_score_is_an_error_naming_the_sample(
    grader: str, reference: Any, message: str
) -> None:
    sample = graders.sample_for(record(reference), "sample-7", "42")
    with pytest.raises(UnscorableRecordError, match="sample 'sample-7'") as raised:
        graders.grade_batch(grader, [sample])
    assert message in str(raised.value)
    assert graders.record_problem(grader, record(reference)) is not None


def test_record_problem_is_none_for_a_scorable_record() -> None:
    assert graders.record_problem(EXACT_MATCH, record("returns")) is None
    assert graders.record_problem(NUMERIC, record("12.5")) is None
    assert graders.record_problem(JSON_SCHEMA, record("x", json_schema=SCHEMA)) is None
    assert graders.record_problem(ROUGE_L, record("a full sentence")) is None


def test_a_batch_that_is_not_a_list_of_samples_is_refused() -> None:
    with pytest.raises(graders.UnreadableBatchError, match="expects a list of samples"):
        graders.grade_batch(EXACT_MATCH, "samples")
    with pytest.raises(graders.UnreadableBatchError, match="expects a list of samples"):
        graders.grade_batch(EXACT_MATCH, {"items": []})
    # a single sample object (a hand-made test invocation) is graded as a batch of one
    assert len(graders.grade_batch(EXACT_MATCH, graders.sample_for(record(), "a", "returns"))) == 1


# -- which grader an invocation runs ----------------------------------------------------------------


def test_the_alias_in_the_invoked_arn_names_the_grader() -> None:
    for name in graders.BUILTIN_GRADERS:
        assert graders.grader_from_arn(f"{ARN}:{name}") == name
    for invoked in (ARN, f"{ARN}:$LATEST", f"{ARN}:7", "", "not an arn"):
        with pytest.raises(GraderSelectionError, match="through one of its aliases"):
            graders.grader_from_arn(invoked)
    with pytest.raises(GraderSelectionError, match="unknown built-in grader"):
        graders.score_sample("bleu", graders.sample_for(record(), "a", "returns"))


def test_grader_arns_must_be_lambda_functions_of_the_run_region_and_account() -> None:
    account = "123456789012"
    assert graders.lambda_arn_problem(f"{ARN}:numeric", region="us-east-1", account=account) is None
    assert "is in us-west-2" in str(
        graders.lambda_arn_problem(ARN.replace("us-east-1", "us-west-2"), region="us-east-1", account=account)
    )
    assert "belongs to account 123456789012" in str(
        graders.lambda_arn_problem(ARN, region="us-east-1", account="210987654321")
    )
    assert "not a Lambda function ARN" in str(
        graders.lambda_arn_problem("arn:aws:s3:::bucket", region="us-east-1", account=None)
    )
    assert "at most 512" in str(graders.lambda_arn_problem(ARN + "x" * 600, region="us-east-1", account=None))


# -- the dry call and the contract ------------------------------------------------------------------


def records(count: int = 2, reference: Any = "returns") -> list[tuple[int, dict[str, Any]]]:
    return [(line, record(reference, ticket_id=f"T{line}")) for line in range(1, count + 1)]


def test_dry_run_samples_look_like_bedrocks_and_carry_the_record_as_metadata() -> None:
    samples = graders.dry_run_samples(records(1))
    assert [s.kind for s in samples] == ["reference", "wrong"]
    first = samples[0].sample
    assert first["messages"][-1] == {"role": "assistant", "content": "returns"}
    assert first["messages"][:-1] == record()["messages"]
    assert first["metadata"] == {"reference_answer": "returns", "ticket_id": "T1"}


def test_a_builtin_grader_passes_its_own_dry_run_in_both_shapes() -> None:
    report = graders.dry_run(EXACT_MATCH, records(3), graders.local_invoker(EXACT_MATCH))
    assert report.ok and report.warnings == ()
    assert report.understood == ("metadata", "top-level")
    assert [(s["shape"], s["answer"], s["score"]) for s in report.scores] == [
        (shape, answer, score)
        for shape in ("metadata", "top-level")
        for _ in range(3)
        for answer, score in (("reference", 1.0), ("wrong", 0.0))
    ]


def test_a_grader_that_raises_fails_the_dry_run_with_its_error() -> None:
    report = graders.dry_run(NUMERIC, records(2), graders.local_invoker(NUMERIC))
    assert not report.ok
    assert report.problems[0].startswith(
        "the grader failed on 4 samples from lines 1, 2 in every documented shape: metadata: "
        "UnreadableBatchError: 4 of 4 samples could not be read"
    )
    assert report.understood == ()


def test_a_grader_that_ranks_the_reference_no_higher_than_a_wrong_answer_gets_a_warning() -> None:
    def constant(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": s["id"], "aggregate_reward_score": 0.5} for s in samples]

    report = graders.dry_run(EXACT_MATCH, records(1), constant)
    assert report.ok and report.understood == ()
    assert report.warnings == (
        "the grader understood neither documented shape (reference_answer under metadata or at the top "
        "level): no record's reference answer scored above a wrong answer",
        "line 1: the reference answer scored 0.5, not above the wrong answer (0.5): check that the grader "
        "reads reference_answer the way the data holds it",
    )


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ({"scores": []}, "the grader returned an object, not a list of results"),
        ([], "the grader returned 0 results for 2 samples"),
        ([{"id": "zz", "aggregate_reward_score": 1}, {}], "id 'zz' is not one of the samples sent"),
        (
            [{"id": "dry-run-1-reference", "aggregate_reward_score": "1"}, {}],
            "aggregate_reward_score must be a finite number, got a string",
        ),
        (
            [{"id": "dry-run-1-reference", "aggregate_reward_score": float("nan")}, {}],
            "aggregate_reward_score must be a finite number",
        ),
        (
            [
                {"id": "dry-run-1-reference", "aggregate_reward_score": 1},
                {"id": "dry-run-1-reference", "aggregate_reward_score": 1},
            ],
            "is answered twice",
        ),
        (
            [
                {
                    "id": "dry-run-1-reference",
                    "aggregate_reward_score": 1,
                    "metrics_list": [{"name": "x", "value": 1, "type": "Score"}],
                },
                {"id": "dry-run-1-wrong", "aggregate_reward_score": 0},
            ],
            "metrics_list[0].type must be one of Reward, Metric",
        ),
        (["nope", "nope"], "result 0 is a string, not an object"),
    ],
)
def test_answers_out_of_contract_are_problems(output: Any, problem: str) -> None:
    report = graders.dry_run(EXACT_MATCH, records(1), lambda samples: output)
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_scores_outside_zero_to_one_are_a_warning_not_an_error() -> None:
    def wide(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"id": s["id"], "aggregate_reward_score": 10 if "reference" in s["id"] else -1} for s in samples
        ]

    report = graders.dry_run(EXACT_MATCH, records(1), wide)
    assert report.ok
    assert any("outside 0-1" in w for w in report.warnings)


def test_lambda_responses_decode_or_raise_with_the_function_error() -> None:
    ok = {"Payload": io.BytesIO(b'[{"id": "a", "aggregate_reward_score": 1}]')}
    assert graders.decode_lambda_response(ok) == [{"id": "a", "aggregate_reward_score": 1}]
    failed = {
        "FunctionError": "Unhandled",
        "Payload": io.BytesIO(json.dumps({"errorType": "KeyError", "errorMessage": "'metadata'"}).encode()),
    }
    with pytest.raises(GraderInvocationError, match="KeyError: 'metadata'"):
        graders.decode_lambda_response(failed)
    with pytest.raises(GraderInvocationError, match="not JSON"):
        graders.decode_lambda_response({"Payload": io.BytesIO(b"<html>")})


def test_describe_dry_run_shows_means_and_problems() -> None:
    report = graders.dry_run(EXACT_MATCH, records(2), graders.local_invoker(EXACT_MATCH))
    text = graders.describe_dry_run({"lambdaArn": f"{ARN}:exact-match", **report.to_dict()})
    assert text.splitlines() == [
        f"grader: {ARN}:exact-match: dry call follows the grader contract",
        "  mean score on 8 samples: reference answers 1.00, wrong answers 0.00",
        "  understands reference_answer: metadata yes; top-level yes",
    ]


def test_read_records_skips_blank_and_broken_lines_and_keeps_line_numbers() -> None:
    lines = [b'{"a": 1}', b"", b"not json", b"[1]", b'{"b": 2}', b'{"c": 3}']
    assert list(graders.read_records(lines, 2)) == [(1, {"a": 1}), (5, {"b": 2})]


# -- every documented payload shape (pipeline.grader_payload) -----------------------------------------


def top_level(sample: dict[str, Any]) -> dict[str, Any]:
    """The same sample with the record's keys at the top level (the SageMaker / Nova 2 guide's shape)."""
    return {"id": sample["id"], "messages": sample["messages"], **sample["metadata"]}


def nova_role(sample: dict[str, Any]) -> dict[str, Any]:
    sample["messages"][-1]["role"] = "nova_assistant"
    return sample


def text_parts(sample: dict[str, Any]) -> dict[str, Any]:
    sample["messages"][-1]["content"] = [{"type": "text", "text": sample["messages"][-1]["content"]}]
    return sample


SHAPED: list[tuple[str, Any]] = [
    ("bare list, metadata (Bedrock guide)", lambda a, b: [a, b]),
    ("bare list, top level (SageMaker guide)", lambda a, b: [top_level(a), top_level(b)]),
    ("batch envelope", lambda a, b: {"batch": [a, b]}),
    (
        "trajectories envelope (AWS gpt-oss sample)",
        lambda a, b: {"trajectories": [top_level(a), top_level(b)]},
    ),
    ("nova_assistant role", lambda a, b: [nova_role(a), nova_role(top_level(b))]),
    ("content parts", lambda a, b: [text_parts(top_level(a)), text_parts(b)]),
]


@pytest.mark.parametrize("grader", graders.BUILTIN_GRADERS)
@pytest.mark.parametrize(("shape", "build"), SHAPED, ids=[s for s, _ in SHAPED])
def test_every_builtin_grader_reads_every_documented_shape(grader: str, shape: str, build: Any) -> None:
    right = {EXACT_MATCH: "returns", NUMERIC: "12", JSON_SCHEMA: '{"team": "returns"}', ROUGE_L: "returns"}
    reference = "12" if grader == NUMERIC else "returns"
    data = record(reference, json_schema=SCHEMA)
    event = build(
        graders.sample_for(data, "good", right[grader]), graders.sample_for(data, "bad", "shipping")
    )
    graded = graders.grade(grader, event)
    assert graded.unreadable == []
    assert [(r["id"], r["aggregate_reward_score"]) for r in graded.results] == [("good", 1.0), ("bad", 0.0)]


def test_the_top_level_reference_wins_over_metadata() -> None:
    sample = graders.sample_for(record("billing"), "s", "returns")
    sample["reference_answer"] = "returns"
    assert graders.grade_batch(EXACT_MATCH, [sample])[0]["aggregate_reward_score"] == 1.0


def test_an_unreadable_sample_scores_zero_with_a_named_metric_and_does_not_fail_its_batch() -> None:
    good = [graders.sample_for(record("returns"), f"g{i}", "returns") for i in range(2)]
    bad = graders.sample_for(record("returns"), "lost", "returns")
    del bad["metadata"]["reference_answer"]
    graded = graders.grade(EXACT_MATCH, [good[0], bad, good[1]])
    assert [r["aggregate_reward_score"] for r in graded.results] == [1.0, 0.0, 1.0]
    assert graded.results[1]["id"] == "lost"
    assert {"name": "unreadable_sample", "value": 1.0, "type": "Metric"} in graded.results[1]["metrics_list"]
    assert graded.unreadable == [
        ("lost", "the sample has no reference_answer (neither at the top level nor under metadata)")
    ]
    # Not an object at all: unreadable too, under its position.
    assert graders.grade(EXACT_MATCH, [*good, "junk"]).unreadable == [
        ("2", "sample 2 is a string, not an object")
    ]


def test_a_batch_where_most_samples_are_unreadable_fails_and_half_does_not() -> None:
    good = graders.sample_for(record("returns"), "g", "returns")
    bad = graders.sample_for(record(["returns"]), "b", "returns")
    del bad["metadata"]["reference_answer"]
    assert len(graders.grade(EXACT_MATCH, [good, bad]).unreadable) == 1  # half: scored
    with pytest.raises(
        graders.UnreadableBatchError, match="2 of 3 samples could not be read, more than half"
    ):
        graders.grade(EXACT_MATCH, [good, bad, dict(bad, id="c")])


def test_a_grader_that_reads_only_metadata_is_reported_as_understanding_only_that_shape() -> None:
    def metadata_only(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for s in samples:
            reference = (
                s["metadata"]["reference_answer"] if "metadata" in s else None
            )  # a KeyError-free reader
            answer = s["messages"][-1]["content"]
            out.append({"id": s["id"], "aggregate_reward_score": 1.0 if answer == reference else 0.0})
        return out

    report = graders.dry_run(EXACT_MATCH, records(2), metadata_only)
    assert report.ok
    assert report.understood == ("metadata",)
    (warning,) = report.warnings
    assert warning.startswith(
        "the grader does not understand samples with reference_answer at the top level, as the SageMaker / "
        "Nova 2 guide documents (the reference answer scored no higher than a wrong answer on lines [1, 2]); "
        "it does understand metadata"
    )


def test_a_grader_that_crashes_on_one_shape_is_a_warning_naming_it() -> None:
    def crashes_on_top_level(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "metadata" not in samples[0]:
            raise GraderInvocationError("KeyError: 'metadata'")
        return graders.local_invoker(EXACT_MATCH)(samples)  # type: ignore[no-any-return]

    report = graders.dry_run(EXACT_MATCH, records(1), crashes_on_top_level)
    assert report.ok and report.understood == ("metadata",)
    assert "(the grader failed: KeyError: 'metadata')" in report.warnings[0]
    assert report.to_dict()["shapes"] == [
        {
            "shape": "metadata",
            "understood": True,
            "why": "reference answers scored above wrong answers on every record",
        },
        {"shape": "top-level", "understood": False, "why": "the grader failed: KeyError: 'metadata'"},
    ]
