"""A routed, authenticated Bedrock request, as the handlers of every Bedrock path receive it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .aws_identity import Identity
from .bedrock_catalog import Target
from .faults import Fault


@dataclass
class Call:
    """A routed, authenticated Bedrock request."""

    identity: Identity
    region: str
    action: str
    handler: Callable[..., None]
    target: Target | None = None
    resource: str | None = None
    streaming: bool = False
    fault: Fault | None = None
    resource_id: str | None = None  # a job's ID or ARN, from the URL
    messages_api: bool = False  # the Messages-API paths answer past the front door in Anthropic's error shape
