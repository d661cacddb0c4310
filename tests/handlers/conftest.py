"""The workflow handlers' tests run inside moto with the stack's bucket and topic and fresh clients.

Not autouse: a module opts in with ``pytestmark = pytest.mark.usefixtures("aws")``, so other tests
in this folder keep their own setup.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from lambdas.common import runtime
from tests.handlers.plans import BUCKET, TOPIC_ARN


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAINING_BUCKET", BUCKET)
    monkeypatch.setenv("TOPIC_ARN", TOPIC_ARN)
    runtime.reset_clients()
    with mock_aws():
        s3 = runtime.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        # The stack's bucket is versioned: the run record pins dataset versions.
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        runtime.client("sns").create_topic(Name=TOPIC_ARN.rsplit(":", 1)[-1])
        yield
    runtime.reset_clients()
