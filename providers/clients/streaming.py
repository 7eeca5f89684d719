"""Streaming over the SDK, with retries only before the first event.

The first event is read inside the retry loop: an error that arrives before the
consumer has seen anything (a 529, or Bedrock's throttling frame at the start of
a stream) is retried and may fail over; after that it is STREAM_INTERRUPTED.
"""
import json
import time

from anthropic import Stream

from providers.clients.base import MessageStream
from providers.clients.error_mapping import from_sdk_exception
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.retry import call_with_retries
from providers.clients.usage import Usage

_NOTHING = object()


class SdkMessageStream(MessageStream):
    def __init__(self, open_stream, retry_policy, *, provider, model_id, region=None, deadline=None, map_error=None):
        super().__init__()
        self._deadline = deadline
        self._map_error = map_error
        self.deltas = 0  # content deltas delivered: a floor for output tokens when no final usage came
        self.completed = False  # message_stop seen
        self._open_stream = open_stream
        self._retry = retry_policy
        self._provider = provider
        self._region = region
        self._stream = None
        self.model_id = model_id
        self._accumulator = MessageAccumulator()

    def _map(self, exc, mid_stream):
        if self._map_error is not None and not mid_stream:
            return self._map_error(exc, self.model_id)
        return from_sdk_exception(exc, provider=self._provider, model_id=self.model_id,
                                  region=self._region, mid_stream=mid_stream)

    def _open_and_peek(self):
        """Open the stream and read its first event: a failure up to here reached nobody, so it
        is an ordinary (retryable, fail-over-able) provider error, a dropped connection included."""
        raw = self._open_stream()
        stream = None
        try:
            # Events as the plain dicts the wire carried: no pydantic model built and dumped again per event.
            stream = raw.parse(to=Stream[object])
            iterator = iter(stream)
            first = next(iterator, _NOTHING)
        except Exception as exc:
            if stream is not None:
                stream.close()
            raise self._map(exc, mid_stream=False) from exc
        if first is _NOTHING:
            stream.close()
            raise ProviderError(ErrorKind.CONNECTION, f"The {self._provider} stream closed before its first event.",
                                provider=self._provider)
        return raw, stream, iterator, first

    def __iter__(self):
        (raw, self._stream, iterator, first), self.attempts = call_with_retries(
            self._open_and_peek, self._retry, describe=f"{self._provider} stream {self.model_id}",
            deadline=self._deadline)
        self.request_id = raw.headers.get("request-id") or raw.headers.get("x-amzn-requestid")
        yield self._observe(first)
        try:
            for event in iterator:
                yield self._observe(event)
        except Exception as exc:
            raise self._map(exc, mid_stream=True) from exc
        finally:
            self._stream.close()
        if not self.completed:
            raise ProviderError(ErrorKind.STREAM_INTERRUPTED,
                                f"The {self._provider} stream ended before message_stop.", provider=self._provider)

    def _observe(self, event):
        data = event if type(event) is dict else event.to_dict()
        if data.get("type") == "content_block_delta":
            self.deltas += 1
            if self.ttft_ms is None:
                self.ttft_ms = (time.monotonic() - self._started) * 1000
        elif data.get("type") == "message_stop":
            self.completed = True
        self._accumulator.add(data)
        self.usage = self._accumulator.usage
        self.message = self._accumulator.message
        return data

    def close(self):
        if self._stream is not None:
            self._stream.close()


class MessageAccumulator:
    """Builds the final message and usage from stream events."""

    def __init__(self):
        self.message = None
        self.usage = Usage()
        self._partial_json = {}

    def add(self, event):
        kind = event.get("type")
        if kind == "message_start":
            self.message = {**event["message"], "content": []}
            self.usage = Usage.from_anthropic(event["message"].get("usage"))
        elif kind == "content_block_start":
            self.message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            self._apply_delta(event["index"], event["delta"])
        elif kind == "content_block_stop":
            self._finish_block(event["index"])
        elif kind == "message_delta":
            self.message.update({k: v for k, v in event.get("delta", {}).items() if v is not None})
            self.usage = self.usage.merged_with_stream_delta(event.get("usage"))
            self.message["usage"] = {**self.message.get("usage", {}), **(event.get("usage") or {})}

    def _apply_delta(self, index, delta):
        block = self.message["content"][index]
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "input_json_delta":
            self._partial_json[index] = self._partial_json.get(index, "") + delta["partial_json"]
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]

    def _finish_block(self, index):
        if index in self._partial_json:
            raw = self._partial_json.pop(index)
            self.message["content"][index]["input"] = json.loads(raw) if raw else {}
