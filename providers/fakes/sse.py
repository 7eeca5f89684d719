"""Answer a Messages request the way the Anthropic API does: one JSON message, or SSE events.

Shared by every fake that speaks the Messages API (the Anthropic API, Bedrock's ``/anthropic``
path, bedrock-mantle, Claude Platform on AWS), including the mid-stream faults.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from .replies import Reply, message_json, new_id, stream_events

if TYPE_CHECKING:
    from .exchange import Exchange
    from .faults import Fault
    from .tokens import InputUsage

MID_STREAM_FAULTS = ("stream_break", "malformed_frame", "slow")


def sse_frame(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def reply_to_messages(
    ex: Exchange,
    body: dict,
    model: str,
    reply: Reply,
    usage: InputUsage,
    fault: Fault | None,
    headers: dict[str, str],
) -> None:
    """Send ``reply`` as JSON, or as an SSE stream when the body asks for ``stream: true``."""
    msg_id = new_id("msg")
    if body.get("stream") is not True:
        ex.send_json(200, message_json(msg_id, model, reply, usage), headers)
        return
    events = stream_events(msg_id, model, reply, usage)
    ex.begin_stream(200, "text/event-stream; charset=utf-8", {**headers, "Cache-Control": "no-cache"})
    cut = None
    if fault is not None and fault.kind in MID_STREAM_FAULTS:
        cut = min(fault.after_events if fault.after_events is not None else 1, len(events) - 1)
    for i, event in enumerate(events):
        if i == cut:
            if fault.kind == "slow":
                time.sleep(fault.sleep_seconds)
            elif fault.kind == "stream_break":
                err = {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                    "request_id": ex.request_id,
                }
                ex.write_chunk(b"event: error\ndata: " + json.dumps(err).encode() + b"\n\n")
                break
            else:
                ex.write_chunk(
                    b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\x00~garbage\n\n'
                )
                break
        ex.write_chunk(sse_frame(event))
    ex.end_stream()
