"""The training storage: encryption, rotation, public access, TLS, logging, lifecycle, retention."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from tests.infra.conftest import resources_of_type, storage_key_id


def _training_bucket(template: Template) -> dict[str, Any]:
    buckets = [
        b
        for b in resources_of_type(template, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" in b["Properties"]
    ]
    assert len(buckets) == 1, "exactly one bucket logs to the access-log bucket: the training bucket"
    return buckets[0]


def _log_bucket(template: Template) -> dict[str, Any]:
    buckets = [
        b
        for b in resources_of_type(template, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" not in b["Properties"]
    ]
    assert len(buckets) == 1
    return buckets[0]


def test_key_is_customer_managed_and_rotates(dev: Template) -> None:
    key = resources_of_type(dev, "AWS::KMS::Key")[storage_key_id(dev)]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert "KeySpec" not in key["Properties"]


def test_training_bucket_uses_sse_kms_with_the_project_key(dev: Template) -> None:
    # Given
    key_id = storage_key_id(dev)
    # When
    encryption = _training_bucket(dev)["Properties"]["BucketEncryption"]
    # Then
    (rule,) = encryption["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True


def test_both_buckets_block_all_public_access_and_keep_versions(dev: Template) -> None:
    for bucket in (_training_bucket(dev), _log_bucket(dev)):
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_policy_denies_plain_http(dev: Template) -> None:
    policies = resources_of_type(dev, "AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        tls = [s for s in statements if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
        assert len(tls) == 1
        assert tls[0]["Effect"] == "Deny"
        assert tls[0]["Action"] == "s3:*"
        assert tls[0]["Principal"] == {"AWS": "*"}


def test_training_bucket_logs_to_the_separate_log_bucket(dev: Template) -> None:
    log_bucket_id = next(
        k
        for k, b in resources_of_type(dev, "AWS::S3::Bucket").items()
        if "LoggingConfiguration" not in b["Properties"]
    )
    logging = _training_bucket(dev)["Properties"]["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": log_bucket_id}, "LogFilePrefix": "training-bucket/"}
    # Access-log delivery only supports SSE-S3 destinations.
    log_encryption = _log_bucket(dev)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert log_encryption[0]["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_lifecycle_expires_noncurrent_versions_and_aborts_multipart_uploads(
    dev: Template, prod: Template
) -> None:
    for template, days in ((dev, 30), (prod, 90)):
        rules = {
            r["Id"]: r for r in _training_bucket(template)["Properties"]["LifecycleConfiguration"]["Rules"]
        }
        assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": days}
        assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
            "DaysAfterInitiation": 7
        }
        assert all(r["Status"] == "Enabled" for r in rules.values())


def test_prod_retains_its_buckets_and_dev_may_delete_them(dev: Template, prod: Template) -> None:
    for resource in resources_of_type(prod, "AWS::S3::Bucket").values():
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"
    for resource in resources_of_type(dev, "AWS::S3::Bucket").values():
        assert resource["DeletionPolicy"] == "Delete"


def test_the_project_key_is_retained_in_every_environment(dev: Template, prod: Template) -> None:
    # Every custom model is encrypted with it: deleting it with a dev stack would make them unusable.
    for template in (dev, prod):
        key = resources_of_type(template, "AWS::KMS::Key")[storage_key_id(template)]
        assert key["DeletionPolicy"] == "Retain"
        assert key["UpdateReplacePolicy"] == "Retain"


def test_the_access_log_bucket_acknowledges_its_own_logging_finding(dev: Template) -> None:
    (skip,) = _log_bucket(dev)["Metadata"]["checkov"]["skip"]
    assert skip["id"] == "CKV_AWS_18"
    assert "access-log destination" in skip["comment"]
