"""AWS event-stream encoder (application/vnd.amazon.eventstream); botocore only ships a decoder.

Message layout (all integers big-endian):
  total length u32 | headers length u32 | prelude CRC32 | headers | payload | message CRC32
Header: name length u8 | name | type u8 (7 = string) | value length u16 | value
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

_STRING = 7
_PRELUDE = struct.Struct(">II")


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes, *, corrupt_crc: bool = False) -> bytes:
    raw_headers = encode_headers(headers)
    total = _PRELUDE.size + 4 + len(raw_headers) + len(payload) + 4
    prelude = _PRELUDE.pack(total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    crc = zlib.crc32(body)
    if corrupt_crc:
        crc ^= 0xFFFFFFFF  # a frame that parses but fails its checksum, as line noise would
    return body + struct.pack(">I", crc)


def chunk_event(event: dict[str, Any], *, corrupt_crc: bool = False) -> bytes:
    """A Bedrock ``chunk`` event wrapping one Anthropic stream event."""
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, payload, corrupt_crc=corrupt_crc)


def exception_event(exception_type: str, message: str, **extra: Any) -> bytes:
    """A modeled mid-stream exception, e.g. ``modelStreamErrorException`` or ``throttlingException``."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message, **extra}).encode())
