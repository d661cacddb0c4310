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
