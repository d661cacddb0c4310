"""Names derived from a run are deterministic and always valid for the API that receives them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import naming

HASH = "3f9a2c1b7d" + "0" * 54


def test_run_id_is_name_plus_hash_prefix() -> None:
    assert naming.run_id("support-bot-v1", HASH) == "support-bot-v1-3f9a2c1b7d"
    assert naming.run_id("support-bot-v1", HASH) == naming.run_id("support-bot-v1", HASH)


def test_distinct_specs_get_distinct_run_ids() -> None:
    other = "4" + HASH[1:]
    assert naming.run_id("bot", HASH) != naming.run_id("bot", other)


def test_bad_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        naming.run_id("bot", "xyz")


def test_all_names_derive_from_the_run_id() -> None:
    rid = naming.run_id("support--bot", HASH)
    assert naming.job_name(rid) == "support-bot-3f9a2c1b7d"
    assert naming.custom_model_name(rid) == "support-bot-3f9a2c1b7d"
    assert naming.provisioned_model_name(rid) == "support-bot-3f9a2c1b7d-pt"
    assert naming.job_request_token(rid) == rid
    assert naming.throughput_request_token(rid) == "support-bot-3f9a2c1b7d-pt"
    assert naming.evaluation_throughput_name(rid) == "support-bot-3f9a2c1b7d-eval"
    assert naming.evaluation_throughput_request_token(rid) == "support-bot-3f9a2c1b7d-eval-pt"
    assert naming.deployment_name(rid) == "support-bot-3f9a2c1b7d-od"
    assert naming.deployment_request_token(rid) == "support-bot-3f9a2c1b7d-od"


def test_every_purchase_and_deployment_of_a_run_has_its_own_name_and_token() -> None:
    rid = naming.run_id("support-bot", HASH)
    names = {
        naming.provisioned_model_name(rid),
        naming.evaluation_throughput_name(rid),
        naming.deployment_name(rid),
    }
    tokens = {
        naming.throughput_request_token(rid),
        naming.evaluation_throughput_request_token(rid),
        naming.deployment_request_token(rid),
        naming.job_request_token(rid),
    }
    assert len(names) == 3 and len(tokens) == 4


def test_long_run_ids_keep_the_hash_in_every_name() -> None:
    rid = naming.run_id("a" * 40, HASH)
    for name in (naming.evaluation_throughput_name(rid), naming.deployment_name(rid)):
        assert len(name) <= 63
        assert "3f9a2c1b7d" in name


@given(st.from_regex(r"[a-z][a-z0-9-]{2,39}", fullmatch=True), st.from_regex(r"[0-9a-f]{64}", fullmatch=True))
def test_names_always_fit_bedrock_patterns(run_name: str, digest: str) -> None:
    rid = naming.run_id(run_name, digest)
    assert len(rid) <= 80
    assert rid.endswith(digest[:10])
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*", naming.job_name(rid))
    assert len(naming.job_name(rid)) <= 63
    for name in (
        naming.custom_model_name(rid),
        naming.provisioned_model_name(rid),
        naming.evaluation_throughput_name(rid),
        naming.deployment_name(rid),  # modelDeploymentName: ([0-9a-zA-Z][_-]?){1,63}
    ):
        assert re.fullmatch(r"([0-9a-zA-Z][_-]?)+", name)
        assert len(name) <= 63
    for token in (
        naming.throughput_request_token(rid),
        naming.evaluation_throughput_request_token(rid),
        naming.deployment_request_token(rid),
    ):
        assert re.fullmatch(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?", token)


# -- reruns (start --rerun) -----------------------------------------------------------------------


def _derived(rid: str) -> dict[str, str]:
    """Every name and token the plan derives from a run id."""
    return {
        "job": naming.job_name(rid),
        "job token": naming.job_request_token(rid),
        "custom model": naming.custom_model_name(rid),
        "throughput": naming.provisioned_model_name(rid),
        "throughput token": naming.throughput_request_token(rid),
        "evaluation throughput": naming.evaluation_throughput_name(rid),
        "evaluation throughput token": naming.evaluation_throughput_request_token(rid),
        "deployment": naming.deployment_name(rid),
        "deployment token": naming.deployment_request_token(rid),
        "judge job": naming.judge_job_name(rid, "custom"),
        "judge token": naming.judge_request_token(rid, "custom"),
    }


def test_a_rerun_is_the_run_id_with_its_attempt() -> None:
    rid = naming.run_id("support-bot", HASH)
    assert naming.rerun_id(rid, 2) == "support-bot-3f9a2c1b7d-r2"
    # A rerun of a rerun numbers from the same run, not r2-r3
    assert naming.rerun_id("support-bot-3f9a2c1b7d-r2", 3) == "support-bot-3f9a2c1b7d-r3"
    assert [naming.attempt_of(r) for r in (rid, naming.rerun_id(rid, 7))] == [1, 7]
    # A run name that ends like an attempt is still attempt 1: the hash comes last
    assert naming.attempt_of(naming.run_id("bot-r2", HASH)) == 1
    with pytest.raises(ValueError, match="attempt 2 or later"):
        naming.rerun_id(rid, 1)
    with pytest.raises(ValueError, match="not a run id of a run spec"):
        naming.rerun_id("started-by-hand", 2)


@given(
    st.from_regex(r"[a-z][a-z0-9-]{2,79}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    st.integers(min_value=2, max_value=999),
)
def test_no_name_or_token_of_a_rerun_is_one_of_the_earlier_attempts(
    run_name: str, digest: str, attempt: int
) -> None:
    rid = naming.run_id(run_name, digest)
    rerun = naming.rerun_id(rid, attempt)
    # An execution name: at most 80 characters, and valid for every API that receives a name
    assert len(rerun) <= 80 and rerun.endswith(f"{digest[:10]}-r{attempt}")
    assert re.fullmatch(r"[0-9A-Za-z_-]{1,80}", rerun)
    names = _derived(rerun)
    earlier = [_derived(rid), _derived(naming.rerun_id(rid, attempt - 1)) if attempt > 2 else {}]
    for what, name in names.items():
        assert all(name != other.get(what) for other in earlier), what
        assert f"{digest[:10]}-r{attempt}" in name.lower()
    for kind in ("custom model", "throughput", "evaluation throughput", "deployment"):
        name = names[kind]
        assert re.fullmatch(r"([0-9a-zA-Z][_-]?)+", name) and len(name) <= 63
    assert len(names["job"]) <= 63 and len(names["judge job"]) <= 63
