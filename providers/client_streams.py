"""The in-process client's streams: SDK event objects over the call path's event dicts, and a
stored answer replayed as a well-formed stream (for response cache hits)."""
import functools
import json

import httpx2
import pydantic
from anthropic.types import RawMessageStreamEvent

from providers.clients.errors import ProviderError
from providers.sdk_errors import REQUEST_URL, to_sdk_error


@functools.cache
def _event_adapter():
    return pydantic.TypeAdapter(RawMessageStreamEvent)


def to_event(data):
    """An Anthropic stream event dict as the SDK's own event type."""
    return _event_adapter().validate_python(data)


def message_events(message):
    """A stored message as a well-formed event stream (message_start ... message_stop)."""
    usage = message.get("usage") or {}
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**usage, "output_tokens": 0}}
    yield {"type": "message_start", "message": start}
    for index, block in enumerate(message.get("content") or []):
        kind = block.get("type")
        if kind == "text":
            yield {"type": "content_block_start", "index": index, "content_block": {**block, "text": ""}}
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta",
                                                                             "text": block.get("text", "")}}
        elif kind == "tool_use":
            yield {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
            yield {"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": json.dumps(block.get("input") or {})}}
        elif kind == "thinking":
            yield {"type": "content_block_start", "index": index,
                   "content_block": {**block, "thinking": "", "signature": ""}}
            yield {"type": "content_block_delta", "index": index,
                   "delta": {"type": "thinking_delta", "thinking": block.get("thinking", "")}}
            if block.get("signature"):
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "signature_delta", "signature": block["signature"]}}
        else:
            yield {"type": "content_block_start", "index": index, "content_block": block}
        yield {"type": "content_block_stop", "index": index}
    yield {"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason"),
                                              "stop_sequence": message.get("stop_sequence")},
           "usage": {"output_tokens": usage.get("output_tokens", 0)}}
    yield {"type": "message_stop"}


class EventStream:
    """What `create(stream=True)` returns: iterates the SDK's RawMessageStreamEvent objects,
    closes like the SDK's Stream (close(), `with`), and maps failures to SDK exceptions."""

    def __init__(self, events, *, request_id=None, inner=None, record=None):
        self._events = events
        self._inner = inner
        self._record = record
        self.completed = False  # every event was read (message_stop included)
        self._iterator = self._typed()
        self.response = httpx2.Response(200, headers={"request-id": request_id} if request_id else {},
                                        request=httpx2.Request("POST", REQUEST_URL))

    @property
    def record(self):
        """The usage record of this stream once it ended (None before)."""
        return self._record if self._inner is None else self._inner.record

    def _typed(self):
        try:
            for data in self._events:
                yield to_event(data)
        except ProviderError as error:
            raise to_sdk_error(error) from error
        self.completed = True

    def __iter__(self):
        return self._iterator

    def __next__(self):
        return next(self._iterator)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._iterator.close()
        close = getattr(self._events, "close", None)
        if close is not None:
            close()
        if self._inner is not None:
            self._inner.close()
