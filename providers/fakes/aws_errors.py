"""AWS-style errors raised by the Bedrock handlers and rendered by FakeBedrock."""

from __future__ import annotations


class AwsError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def validation_error(message: str) -> AwsError:
    return AwsError(400, "ValidationException", message)
