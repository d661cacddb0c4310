"""The model catalog: one complete, sourced entry per model; lookups, hyperparameter rules and
distillation pairs; a model added as one entry is checked, planned and priced like the others."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from typing import Any

import pytest

from pipeline import naming
from pipeline.catalog import (
    CONTINUED_PRE_TRAINING,
    CONVERSATION,
    CONVERSATION_PROMPTS,
    CUSTOMIZATION_TYPES,
    DISTILLATION,
    FINE_TUNING,
    NEW_CUSTOMIZATION,
    TEACHERS,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    ModelEntry,
    Price,
    PriceSheet,
    RecordBounds,
    Teacher,
    TokenLimit,
    Unknown,
    UnknownModelError,
    all_models,
    check_teacher,
    get_model,
    incomplete,
    lifecycle_problems,
    parse_teacher,
    registry,
    wire_value,
)
from pipeline.catalog.models import ENTRIES
from pipeline.catalog.types import PER_1K_TOKENS, PER_1M_INPUT, PER_1M_OUTPUT, PER_MONTH
from pipeline.datasets.formats import FORMATS
from pipeline.plan import PlanContext, build_plan
from pipeline.runspec import RunSpec, RunSpecError, spec_hash

NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
TEXT_MODELS_WITH_CONTEXT_SUFFIX = [
    m.model_id for m in all_models() if "text" in m.output_modalities and "canvas" not in m.model_id
]


# --------------------------------------------------------------------------------------------------
# Consistency of the data
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.model_id)
def test_every_entry_is_complete_and_points_at_known_formats(model: object) -> None:
    from pipeline.catalog import ModelInfo

    assert isinstance(model, ModelInfo)
    assert model.regions and all(r.count("-") >= 2 for r in model.regions)
    assert model.customization_types and set(model.customization_types) <= set(CUSTOMIZATION_TYPES)
    for ctype, rules in model.customizations.items():
        assert rules.customization_type == ctype
        assert rules.data_format in FORMATS
        assert rules.sources, f"{model.model_id} {ctype} rules cite no source"
    assert model.sources


@pytest.mark.parametrize("model_id", TEXT_MODELS_WITH_CONTEXT_SUFFIX)
def test_text_models_use_the_context_suffixed_customization_id(model_id: str) -> None:
    assert model_id.rsplit(":", 1)[-1].endswith("k")


def test_catalog_covers_the_models_the_reference_lists() -> None:
    ids = {m.model_id for m in all_models()}

    assert {
        "amazon.nova-micro-v1:0:128k",
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-pro-v1:0:300k",
        "amazon.nova-2-lite-v1:0:256k",
        "amazon.titan-text-express-v1:0:8k",
        "amazon.titan-text-lite-v1:0:4k",
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-1-70b-instruct-v1:0:128k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-2-3b-instruct-v1:0:128k",
        "meta.llama3-2-11b-instruct-v1:0:128k",
        "meta.llama3-2-90b-instruct-v1:0:128k",
    } <= ids


def test_continued_pre_training_is_titan_text_only() -> None:
    cpt = {m.model_id for m in all_models() if m.supports(CONTINUED_PRE_TRAINING)}

    assert cpt == {"amazon.titan-text-express-v1:0:8k", "amazon.titan-text-lite-v1:0:4k"}


def test_every_teacher_pair_points_at_a_student_that_supports_distillation() -> None:
    for teacher in TEACHERS.values():
        for student in teacher.students:
            model = get_model(student)
            assert model.supports(DISTILLATION), student
            assert teacher.model_id in model.distillation_teachers
            assert set(teacher.regions) <= set(model.regions)


def test_models_without_a_teacher_do_not_offer_distillation() -> None:
    for model in all_models():
        assert model.supports(DISTILLATION) == bool(model.distillation_teachers), model.model_id


def test_claude_3_haiku_facts() -> None:
    model = get_model("anthropic.claude-3-haiku-20240307-v1:0:200k")
    rules = model.rules(FINE_TUNING)

    assert model.regions == ("us-west-2",)
    assert (rules.training_records.min, rules.training_records.max) == (32, 10_000)
    assert rules.validation_records.max == 1_000
    assert rules.total_records.max == 10_000 and rules.total_records.adjustable
    assert rules.token_limit(None) == 32_000
    assert rules.reserved_strings == ("\nHuman:", "\nAssistant:")
    assert model.hyperparameters["batchSize"].min == 4


def test_unconfirmed_facts_are_marked_in_the_data() -> None:
    nova = get_model(NOVA_MICRO)
    warmup = nova.hyperparameters["learningRateWarmupSteps"]

    assert warmup.max == 20 and warmup.unconfirmed and "UNCONFIRMED" in warmup.unconfirmed
    assert any("Validation record bounds" in u for u in nova.all_unconfirmed())
    assert get_model("meta.llama3-3-70b-instruct-v1:0:128k").unconfirmed


def test_llama33_image_fine_tuning_is_allowed_but_unconfirmed() -> None:
    model = get_model("meta.llama3-3-70b-instruct-v1:0:128k")
    rules = model.rules(FINE_TUNING)

    assert rules.media is not None and "png" in rules.media.image_formats
    assert any("Vision Instruct" in u for u in model.all_unconfirmed())


def test_unknown_prices_are_none_never_zero() -> None:
    lite = get_model("amazon.titan-text-lite-v1:0:4k")
    express = get_model("amazon.titan-text-express-v1:0:8k")

    # the $7.10 figure has no stated commitment term, so no PT price is claimed for Lite
    assert lite.prices.pt_no_commit_per_mu_hour is None
    assert "commitment term" in lite.entry.prices.pt_no_commit_per_mu_hour.reason  # type: ignore[union-attr]
    assert express.prices.pt_no_commit_per_mu_hour is not None
    assert express.prices.pt_no_commit_per_mu_hour.value == 20.50
    assert express.prices.pt_no_commit_per_mu_hour.as_of == "2024-04"
    assert get_model(NOVA_MICRO).prices.pt_no_commit_per_mu_hour is None  # no source gives Micro's
    for model in all_models():
        for price in model.prices.to_dict().values():
            assert price is None or (price["value"] > 0 and price["asOf"] and price["source"])


# --------------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------------


def test_get_model_returns_the_entry() -> None:
    assert get_model(NOVA_MICRO).name == "Amazon Nova Micro"


def test_unknown_model_is_a_key_error_listing_close_matches() -> None:
    with pytest.raises(UnknownModelError) as caught:
        get_model("amazon.nova-mikro-v1:0:128k")

    assert isinstance(caught.value, KeyError)
    assert "did you mean 'amazon.nova-micro-v1:0:128k'" in str(caught.value)


def test_on_demand_id_points_at_the_customization_id() -> None:
    with pytest.raises(UnknownModelError, match=r"context-suffixed id: 'amazon\.nova-micro-v1:0:128k'"):
        get_model("amazon.nova-micro-v1:0")


def test_unsupported_customization_type_message() -> None:
    with pytest.raises(ValueError, match="does not support CONTINUED_PRE_TRAINING; it supports FINE_TUNING"):
        get_model("anthropic.claude-3-haiku-20240307-v1:0:200k").rules(CONTINUED_PRE_TRAINING)


def test_to_dict_is_json_ready() -> None:
    import json

    document = json.loads(json.dumps([m.to_dict() for m in all_models()]))

    assert document[0]["modelId"] == NOVA_MICRO
    assert document[0]["unconfirmed"]
    facts = document[0]["facts"]
    assert facts["onDemandDeploymentRegions"] == {
        "value": ["us-east-1"],
        "source": "[UG:deploy-custom-model-on-demand], checked 2026-11-28",
        "asOf": "2026-11-28",
        "unconfirmed": None,
    }
    assert facts["unknownPrices"]["pt_no_commit_per_mu_hour"]["checked"] == "2026-12-07"


# --------------------------------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------------------------------


def test_out_of_range_message_names_value_range_and_model() -> None:
    _, problems = get_model(NOVA_MICRO).check_hyperparameters({"epochCount": 12}, FINE_TUNING)

    assert [p.message for p in problems] == [
        "epochCount=12 is out of range 1\u20135 for amazon.nova-micro-v1:0:128k"
    ]
    assert problems[0].field == "hyperParameters.epochCount"
    assert problems[0].allowed == "1\u20135"


def test_values_are_normalized_to_wire_strings() -> None:
    values, problems = get_model(NOVA_MICRO).check_hyperparameters(
        {"epochCount": 2, "learningRate": 0.00001, "learningRateWarmupSteps": "5"}, FINE_TUNING
    )

    assert problems == []
    assert values == {"epochCount": "2", "learningRate": "1e-05", "learningRateWarmupSteps": "5"}


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"epochCount": "2.5"}, "is not an integer"),
        ({"learningRate": "fast"}, "is not a number"),
        ({"epochCount": True}, "must be a number or a numeric string"),
        ({"batchSize": "1"}, "unknown hyperparameter 'batchSize'"),
        ({"epochcount": "2"}, "did you mean 'epochCount'"),
        ({"learningRate": "0.5"}, "out of range 1e-06\u20130.0001"),
        ({"learningRateWarmupSteps": "50"}, "UNCONFIRMED maximum"),
    ],
    ids=[
        "not-integer",
        "not-number",
        "boolean",
        "unknown-name",
        "misspelled",
        "range",
        "nova-warmup-unconfirmed-max",
    ],
)
def test_each_hyperparameter_mistake_is_named(values: dict[str, object], fragment: str) -> None:
    _, problems = get_model(NOVA_MICRO).check_hyperparameters(values, FINE_TUNING)

    assert len(problems) == 1
    assert fragment in problems[0].message


def test_required_hyperparameter_without_default_and_auto_value() -> None:
    model = get_model("amazon.titan-embed-image-v1:0")

    _, missing = model.check_hyperparameters({}, FINE_TUNING)
    values, auto = model.check_hyperparameters({"epochCount": "Auto"}, FINE_TUNING)

    assert "epochCount is required" in missing[0].message
    assert auto == [] and values == {"epochCount": "Auto"}


def test_distillation_takes_no_hyperparameters() -> None:
    _, problems = get_model(NOVA_MICRO).check_hyperparameters({"epochCount": 2}, DISTILLATION)

    assert "DISTILLATION takes no hyperParameters" in problems[0].message


def test_effective_hyperparameter_falls_back_to_the_default() -> None:
    model = get_model("amazon.titan-text-express-v1:0:8k")

    assert model.effective_hyperparameter("epochCount", {}) == "5"
    assert model.effective_hyperparameter("epochCount", {"epochCount": "3"}) == "3"


@pytest.mark.parametrize(
    ("raw", "wire"), [(2, "2"), (0.5, "0.5"), ("  3 ", "3"), (True, None), (None, None), ([1], None)]
)
def test_wire_value(raw: object, wire: str | None) -> None:
    assert wire_value(raw) == wire


def test_titan_token_limits_by_batch_size() -> None:
    lite = get_model("amazon.titan-text-lite-v1:0:4k").rules(FINE_TUNING)
    express = get_model("amazon.titan-text-express-v1:0:8k").rules(FINE_TUNING)

    assert [lite.token_limit(b) for b in (1, 2, 3, 6)] == [4_096, 4_096, 2_048, 2_048]
    assert [express.token_limit(b) for b in (1, 2, 4)] == [4_096, 2_048, 2_048]


# --------------------------------------------------------------------------------------------------
# Distillation teachers
# --------------------------------------------------------------------------------------------------


def test_allowed_pair_in_its_region_passes() -> None:
    assert check_teacher("amazon.nova-pro-v1:0", get_model(NOVA_MICRO), "us-east-1") == []
    assert check_teacher("us.amazon.nova-pro-v1:0", get_model(NOVA_MICRO), "us-east-1") == []


@pytest.mark.parametrize(
    ("teacher", "student", "region", "fragment"),
    [
        (
            "amazon.nova-pro-v1:0",
            "amazon.nova-pro-v1:0:300k",
            "us-east-1",
            "cannot teach amazon.nova-pro-v1:0:300k",
        ),
        (
            "amazon.nova-premier-v1:0",
            NOVA_MICRO,
            "us-east-1",
            "only through a cross-Region inference profile",
        ),
        (
            "us.meta.llama3-1-405b-instruct-v1:0",
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "us-west-2",
            "only on demand",
        ),
        ("amazon.nova-pro-v1:0", NOVA_MICRO, "us-west-2", "runs in us-east-1, not us-west-2"),
        ("eu.amazon.nova-pro-v1:0", NOVA_MICRO, "us-east-1", "does not serve us-east-1"),
        (
            "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
            NOVA_MICRO,
            "us-east-1",
            "ARN is in us-west-2",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
            NOVA_MICRO,
            "us-east-1",
            "application inference profiles cannot be teachers",
        ),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", NOVA_MICRO, "us-east-1", "not a distillation teacher"),
    ],
)
def test_each_teacher_mistake_is_named(teacher: str, student: str, region: str, fragment: str) -> None:
    problems = check_teacher(teacher, get_model(student), region)

    assert any(fragment in p.message for p in problems), [p.message for p in problems]


def test_teacher_identifiers_in_every_form_are_understood() -> None:
    profile_arn = parse_teacher(
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-premier-v1:0"
    )
    model_arn = parse_teacher("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")

    assert (profile_arn.model_id, profile_arn.via_profile, profile_arn.arn_region) == (
        "amazon.nova-premier-v1:0",
        True,
        "us-east-1",
    )
    assert (model_arn.model_id, model_arn.via_profile) == ("amazon.nova-pro-v1:0", False)
    premier_profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-premier-v1:0"
    # Before its end of life (2026-09-14) the profile ARN is a valid teacher; after it, refused as such.
    assert (
        check_teacher(premier_profile, get_model(NOVA_MICRO), "us-east-1", today=dt.date(2026, 9, 13)) == []
    )
    (problem,) = check_teacher(
        premier_profile, get_model(NOVA_MICRO), "us-east-1", today=dt.date(2026, 9, 14)
    )
    assert problem.value == premier_profile
    assert "reached end of life on 2026-09-14" in problem.message


# --------------------------------------------------------------------------------------------------
# Amazon Nova 2 Lite [UG:nova-2-sft-data-prep], [NOVA2:*]
# --------------------------------------------------------------------------------------------------

NOVA2_LITE = "amazon.nova-2-lite-v1:0:256k"


def test_nova2_lite_fine_tuning_facts() -> None:
    model = get_model(NOVA2_LITE)
    rules = model.rules(FINE_TUNING)

    assert model.regions == ("us-east-1",)
    assert model.customization_types == (FINE_TUNING, "REINFORCEMENT_FINE_TUNING")  # no distillation
    assert not rules.validation_allowed  # "will not be supported during SFT training"
    assert (rules.training_records.min, rules.training_records.max) == (8, 20_000)
    assert rules.training_records.recommended_min == 200
    assert rules.token_limit(None) == 32_000
    assert rules.reasoning_content
    assert rules.media is not None
    assert rules.media.image_formats == ("png", "jpeg", "gif")  # webp/webm: Nova 2 guide only, UNCONFIRMED
    assert rules.media.video_formats == ("mov", "mkv", "mp4")
    assert rules.media.images_and_videos_exclusive and rules.media.same_bucket_as_dataset
    assert any("webp" in u for u in model.all_unconfirmed())


def test_nova2_lite_hyperparameters() -> None:
    model = get_model(NOVA2_LITE)
    values, problems = model.check_hyperparameters(
        {"epochCount": 5, "learningRate": 1e-4, "learningRateWarmupSteps": 20}, FINE_TUNING
    )
    _, too_high = model.check_hyperparameters({"learningRateWarmupSteps": 21}, FINE_TUNING)

    assert problems == [] and values["learningRateWarmupSteps"] == "20"
    assert [(hp.min, hp.max, hp.default) for hp in model.hyperparameters.values()] == [
        (1, 5, "2"),
        (1e-6, 1e-4, "1e-05"),
        (0, 20, "10"),
    ]
    assert "out of range 0\u201320" in too_high[0].message


def test_nova2_lite_is_deployed_on_demand_and_invoked_through_the_us_profile() -> None:
    model = get_model(NOVA2_LITE)

    assert model.on_demand_deployment_regions == ("us-east-1",)
    assert model.deploys_on_demand("us-east-1") and not model.deploys_on_demand("us-west-2")
    assert model.invoked_through_profile
    assert model.to_dict()["baseInvokedThroughProfile"] is True


# --------------------------------------------------------------------------------------------------
# One entry per model: every fact stated, sourced and dated, or stated as unknown / UNCONFIRMED
# --------------------------------------------------------------------------------------------------

DAY = "2026-12-01"
TINY = "acme.tiny-v1:0:8k"
NOT_PRICED = Unknown("no price page for the test vendor", DAY)


def minimal_entry(**changes: Any) -> ModelEntry:
    """The least an entry can state: one customization type, one hyperparameter, a few prices."""
    fields: dict[str, Any] = {
        "model_id": TINY,
        "name": "Acme Tiny",
        "provider": "Acme",
        "regions": Fact(("us-east-1",), "[TEST] Acme's model page", DAY),
        "input_modalities": ("text",),
        "output_modalities": ("text",),
        "customizations": (
            CustomizationRules(
                customization_type=FINE_TUNING,
                data_format=CONVERSATION,
                validation_allowed=True,
                training_records=RecordBounds(8, 1_000),
                token_limits=(TokenLimit(8_000),),
                sources=("[TEST] Acme's data page",),
            ),
        ),
        "distillation": None,
        "hyperparameters": (HyperParameter("epochCount", "integer", 1, 5, "2", source="[TEST] hp page"),),
        "on_demand_deployment_regions": Fact(("us-east-1",), "[TEST] deployment page", DAY),
        "invoked_through_profile": Fact(False, "[TEST] model card", DAY),
        "lifecycle": Lifecycle("[TEST] model card", checked=dt.date(2026, 12, 1)),
        "prices": PriceSheet.known(
            NOT_PRICED,
            training=Price(0.002, PER_1K_TOKENS, DAY, "[TEST] price page"),
            storage_per_month=Price(1.95, PER_MONTH, DAY, "[TEST] price page"),
            on_demand_input_per_1m_tokens=Price(0.10, PER_1M_INPUT, DAY, "[TEST] price page"),
            on_demand_output_per_1m_tokens=Price(0.40, PER_1M_OUTPUT, DAY, "[TEST] price page"),
            deployment_input_per_1m_tokens=Price(0.10, PER_1M_INPUT, DAY, "[TEST] price page"),
            deployment_output_per_1m_tokens=Price(0.40, PER_1M_OUTPUT, DAY, "[TEST] price page"),
        ),
        "sources": ("[TEST] Acme's model page",),
        "rules_checked": DAY,
    }
    fields.update(changes)
    return ModelEntry(**fields)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.model_id)
def test_every_entry_states_each_fact_with_its_source_and_date(entry: ModelEntry) -> None:
    assert incomplete(entry) == []


def test_the_catalog_is_its_entries_in_order() -> None:
    assert [m.model_id for m in all_models()] == [e.model_id for e in ENTRIES]
    assert all(m.entry is e for m, e in zip(all_models(), ENTRIES, strict=True))


def test_an_entry_cannot_leave_a_fact_out_by_omission() -> None:
    # Only notes, unconfirmed lines and extra Price List names have defaults: forgetting on-demand
    # deployment support, the profile use, the lifecycle or a price is a TypeError at import.
    optional = {
        name for name, p in inspect.signature(ModelEntry).parameters.items() if p.default is not p.empty
    }
    assert optional == {"notes", "unconfirmed", "price_list_names"}
    assert all(p.default is p.empty for p in inspect.signature(PriceSheet).parameters.values())
    fields = {f.name: getattr(minimal_entry(), f.name) for f in dataclasses.fields(ModelEntry)}
    del fields["on_demand_deployment_regions"]
    with pytest.raises(TypeError, match="on_demand_deployment_regions"):
        ModelEntry(**fields)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"regions": Fact(("us-east-1",), "", DAY)}, "regions has no source"),
        ({"regions": Fact(("us-east-1",), "[TEST]", "last year")}, "regions as_of 'last year' is not a date"),
        (
            {"on_demand_deployment_regions": Fact((), "[TEST]", "undated")},
            "on-demand deployment regions is undated and not marked UNCONFIRMED",
        ),
        (
            {"on_demand_deployment_regions": Fact(("eu-west-1",), "[TEST]", DAY)},
            "a region it is not customized in",
        ),
        ({"lifecycle": Lifecycle("[TEST] card")}, "the lifecycle has no date it was checked"),
        ({"rules_checked": ""}, "rules_checked '' is not a date"),
        ({"sources": ()}, "cites no source"),
        (
            {"hyperparameters": (HyperParameter("epochCount", "integer", 1, 5, "2"),)},
            "hyperparameter epochCount cites no source",
        ),
        (
            {"customizations": (dataclasses.replace(minimal_entry().customizations[0], sources=()),)},
            "the FINE_TUNING rules cite no source",
        ),
        (
            {"prices": PriceSheet.known(Unknown("", DAY))},
            "the unknown training price says nothing about what was searched",
        ),
        (
            {
                "prices": PriceSheet.known(
                    NOT_PRICED, training=Price(0.002, PER_1K_TOKENS, DAY, "[3P] a blog")
                )
            },
            "the training price is a third party's reading but not marked UNCONFIRMED",
        ),
        (
            {"prices": PriceSheet.known(NOT_PRICED, training=Price(0.002, "USD per hour", DAY, "[TEST]"))},
            "the training price is in 'USD per hour'",
        ),
        (
            {
                "prices": PriceSheet.known(
                    NOT_PRICED, storage_per_month=Price(1.95, PER_MONTH, "undated", "[TEST]")
                )
            },
            "the storage price is undated and not marked UNCONFIRMED",
        ),
        (
            {"prices": PriceSheet.known(NOT_PRICED, training=Price(0.0, PER_1K_TOKENS, DAY, "[TEST]"))},
            "a price is positive (unknown is Unknown)",
        ),
        (
            {
                "on_demand_deployment_regions": Fact((), "[TEST]", DAY),
                "prices": minimal_entry().prices,
            },
            "prices an on-demand deployment it states it cannot have",
        ),
        (
            {
                "customizations": (
                    dataclasses.replace(minimal_entry().customizations[0], customization_type=DISTILLATION),
                )
            },
            "distillation support comes from the teachers",
        ),
    ],
)
def test_an_entry_missing_a_source_date_or_statement_is_named(changes: dict[str, Any], named: str) -> None:
    assert incomplete(minimal_entry()) == []

    problems = incomplete(minimal_entry(**changes))

    assert any(named in p for p in problems), problems


def test_a_price_sheet_names_no_price_the_catalog_does_not_know() -> None:
    with pytest.raises(TypeError, match="not a price of a catalog entry: trainng"):
        PriceSheet.known(NOT_PRICED, trainng=Price(0.002, PER_1K_TOKENS, DAY, "[TEST]"))


def test_unconfirmed_prices_say_so_where_they_are_cited() -> None:
    micro = get_model(NOVA_MICRO)

    assert micro.prices.training is not None and micro.prices.training.unconfirmed
    assert micro.prices.training.cite().endswith("; UNCONFIRMED")
    assert any(u.startswith("Price UNCONFIRMED (training)") for u in micro.all_unconfirmed())
    for model in all_models():
        for price in dataclasses.asdict(model.prices).values():
            if price is not None and price["source"].startswith(("[3P]", "[ABS]", "[AWS-BLOG]")):
                assert price["unconfirmed"], (model.model_id, price["source"])


# --------------------------------------------------------------------------------------------------
# Distillation support is the teachers' statement
# --------------------------------------------------------------------------------------------------


def test_distillation_is_supported_exactly_when_a_teacher_lists_the_model() -> None:
    taught = {student for t in TEACHERS.values() for student in t.students}

    assert {m.model_id for m in all_models() if m.supports(DISTILLATION)} == taught
    for entry in ENTRIES:
        # Rules with no teacher would be data nobody reads; a taught model without rules cannot build.
        assert (entry.distillation is not None) == (entry.model_id in taught), entry.model_id


def test_a_teacher_listing_a_model_without_distillation_rules_cannot_build_the_catalog() -> None:
    teacher = Teacher(
        "acme.big-v1:0", "Acme Big", ("us-east-1",), (TINY,), on_demand=True, inference_profile=False
    )

    with pytest.raises(
        ValueError, match=r"acme\.big-v1:0 lists acme\.tiny-v1:0:8k as a student, but its catalog entry"
    ):
        registry.Catalog.of((minimal_entry(),), (teacher,))
    rules = dataclasses.replace(
        ENTRIES[0].distillation,  # type: ignore[arg-type]
        data_format=CONVERSATION_PROMPTS,
    )
    built = registry.Catalog.of((minimal_entry(distillation=rules),), (teacher,)).by_id[TINY]
    assert built.supports(DISTILLATION) and built.distillation_teachers == ("acme.big-v1:0",)
    assert registry.Catalog.of((minimal_entry(distillation=rules),), ()).by_id[TINY].customization_types == (
        FINE_TUNING,
    )


def test_the_catalog_refuses_a_model_stated_twice() -> None:
    with pytest.raises(ValueError, match=r"states acme\.tiny-v1:0:8k twice"):
        registry.Catalog.of((minimal_entry(), minimal_entry()))


# --------------------------------------------------------------------------------------------------
# Adding a base model is one entry: it is validated, planned and priced like the others
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def with_tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "CATALOG", registry.Catalog.of((*ENTRIES, minimal_entry())))


def _tiny_spec(**changes: Any) -> RunSpec:
    data: dict[str, Any] = {
        "name": "tiny-run",
        "region": "us-east-1",
        "baseModel": TINY,
        "customizationType": "FINE_TUNING",
        "training": "s3://bucket/train.jsonl",
        "hyperParameters": {"epochCount": 3},
        "evaluation": {"prompts": "s3://bucket/prompts.jsonl", "minQuality": 0.5, "maxPrompts": 10},
        "serving": {"mode": "on-demand"},
    }
    data.update(changes)
    return RunSpec.from_dict(data)


@pytest.mark.usefixtures("with_tiny")
def test_a_model_added_as_one_entry_is_planned_and_priced_from_that_entry() -> None:
    spec = _tiny_spec()
    run_id = naming.run_id(spec.name, spec_hash(spec))

    plan = build_plan(spec, PlanContext(bucket="bucket", run_id=run_id), estimated_tokens=100_000)

    assert plan["job"]["BaseModelIdentifier"] == TINY
    assert plan["job"]["HyperParameters"] == {"epochCount": "3"}
    assert plan["baseModelInvokeId"] == "acme.tiny-v1:0"
    estimate = plan["estimate"]
    # Deploys on demand: evaluated on a deployment, nothing bought, no approval needed.
    assert estimate["evaluationVehicle"] == "deployment" and estimate["servingMode"] == "on-demand"
    assert estimate["trainingUsd"] == pytest.approx(100_000 / 1000 * 3 * 0.002)
    assert estimate["storageMonthlyUsd"] == 1.95
    assert estimate["evaluationUsd"] == pytest.approx(2 * (10 * 500 * 0.10 + 10 * 512 * 0.40) / 1e6, abs=1e-4)
    assert "[TEST] price page" in estimate["basis"]["training"]
    assert estimate["throughputHourlyUsd"] is None
    assert plan["approval"]["required"] is False
    assert lifecycle_problems(TINY, purpose=NEW_CUSTOMIZATION) == []


@pytest.mark.usefixtures("with_tiny")
def test_a_model_added_as_one_entry_enforces_its_own_rules() -> None:
    with pytest.raises(RunSpecError, match=r"epochCount=9 is out of range 1\u20135 for acme\.tiny-v1:0:8k"):
        _tiny_spec(hyperParameters={"epochCount": 9})
    with pytest.raises(RunSpecError, match=r"acme\.tiny-v1:0:8k does not support DISTILLATION"):
        _tiny_spec(customizationType="DISTILLATION", teacher="amazon.nova-pro-v1:0", hyperParameters=None)
    with pytest.raises(
        RunSpecError,
        match=r"acme\.tiny-v1:0:8k cannot be customized in us-west-2; it is offered in us-east-1",
    ):
        _tiny_spec(region="us-west-2")


def test_without_its_entry_the_model_is_unknown() -> None:
    with pytest.raises(RunSpecError, match=r"unknown base model 'acme\.tiny-v1:0:8k'"):
        _tiny_spec()
