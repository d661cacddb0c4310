"""Stubbing helpers shared by the handler and CLI tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.stub import Stubber


class PartialStubber(Stubber):  # type: ignore[misc]
    """A Stubber that answers only ``operations`` and lets every other call through to moto.

    moto has Bedrock customization jobs but no Provisioned Throughput; one client talks to both.
    """

    def __init__(self, client: Any, operations: Iterable[str]) -> None:
        super().__init__(client)
        self._operations = frozenset(operations)

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        if model.name in self._operations:
            super()._assert_expected_params(model, params, context, **kwargs)

    def _get_response_handler(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        if model.name in self._operations:
            return super()._get_response_handler(model, params, context, **kwargs)
        return None


class TagStore:
    """Bedrock's ``ListTagsForResource`` for resources moto lacks (throughput, deployments,
    evaluation jobs) and the jobs it has, answered from a dict: ``arn -> tags``.

    Attached to a client's ``before-call`` event, like the Stubber, but keyed by ARN instead of an
    ordered queue: what a handler reads first is its own business. An ARN not in the store answers
    ``ResourceNotFoundException``, as Bedrock does for a resource that is gone.
    """

    def __init__(self, client: Any) -> None:
        self.tags: dict[str, dict[str, str]] = {}
        self.asked: list[str] = []
        self._client = client

    def __enter__(self) -> TagStore:
        self._client.meta.events.register_first(
            "before-call.bedrock.ListTagsForResource", self._answer, unique_id="tag-store"
        )
        return self

    def __exit__(self, *_: Any) -> None:
        self._client.meta.events.unregister(
            "before-call.bedrock.ListTagsForResource", self._answer, unique_id="tag-store"
        )

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self.tags.setdefault(arn, {}).update(tags)

    def _answer(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        import json

        from botocore.awsrequest import AWSResponse

        # ``params`` is the serialized request: ListTagsForResource is a JSON body {"resourceARN"}.
        body = params["body"]
        arn = json.loads(body.decode() if isinstance(body, bytes) else body)["resourceARN"]
        self.asked.append(arn)
        if arn not in self.tags:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": f"{arn} not found"}}
            return AWSResponse(None, 404, {}, None), {**error, "ResponseMetadata": {"HTTPStatusCode": 404}}
        tags = [{"key": k, "value": v} for k, v in self.tags[arn].items()]
        return AWSResponse(None, 200, {}, None), {"tags": tags, "ResponseMetadata": {"HTTPStatusCode": 200}}
