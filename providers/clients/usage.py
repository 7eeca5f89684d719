"""Token usage from both providers normalized into one record."""
from dataclasses import asdict, dataclass


def _get(source, name, default=0):
    if source is None:
        return default
    value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
    return default if value is None else value


@dataclass(frozen=True)
class Usage:
    """input_tokens is uncached input only, as both providers report it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0

    @property
    def cache_write_tokens(self):
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total_input_tokens(self):
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_anthropic(cls, usage):
        """From the `usage` of a Messages response (dict or SDK object); Bedrock's
        InvokeModel body carries the same shape."""
        cache_write = _get(usage, "cache_creation_input_tokens")
        # The TTL breakdown is absent on older API versions and some Bedrock
        # models; then all writes are 5-minute ones (the default TTL).
        write_1h = min(_get(_get(usage, "cache_creation", None), "ephemeral_1h_input_tokens"), cache_write)
        write_5m = cache_write - write_1h
        return cls(
            input_tokens=_get(usage, "input_tokens"),
            output_tokens=_get(usage, "output_tokens"),
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            cache_read_tokens=_get(usage, "cache_read_input_tokens"),
        )

    @classmethod
    def from_converse(cls, usage):
        """From Bedrock Converse's usage (inputTokens is uncached only)."""
        return cls(
            input_tokens=_get(usage, "inputTokens"),
            output_tokens=_get(usage, "outputTokens"),
            cache_write_5m_tokens=_get(usage, "cacheWriteInputTokens"),
            cache_read_tokens=_get(usage, "cacheReadInputTokens"),
        )

    def merged_with_stream_delta(self, delta_usage):
        """Streams send input usage in message_start and output (sometimes with
        updated input counts) in message_delta; later non-null values win."""
        values = self.as_dict()
        for field, api_name in (
            ("input_tokens", "input_tokens"),
            ("output_tokens", "output_tokens"),
            ("cache_read_tokens", "cache_read_input_tokens"),
        ):
            value = _get(delta_usage, api_name, None)
            if value is not None:
                values[field] = value
        cache_write = _get(delta_usage, "cache_creation_input_tokens", None)
        if cache_write is not None and cache_write != self.cache_write_tokens:
            updated = Usage.from_anthropic({"cache_creation_input_tokens": cache_write,
                                            "cache_creation": _get(delta_usage, "cache_creation", None)})
            values["cache_write_5m_tokens"] = updated.cache_write_5m_tokens
            values["cache_write_1h_tokens"] = updated.cache_write_1h_tokens
        return Usage(**values)
