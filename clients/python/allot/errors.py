"""Errors as Python exceptions carrying the gRPC status code and, for a bad
request, the request field the server named."""

from __future__ import annotations

import re
from typing import Optional

import grpc

# allot's INVALID_ARGUMENT messages start with the field they are about:
# "lines[0].quantity: must be 1 to 100000, got 0".
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\[[^\]\s]*\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]\s]*\])*)*): ")


class AllotError(Exception):
    """A call allot answered with a status other than OK.

    Attributes:
        code: the ``grpc.StatusCode``.
        message: the status message, as the server wrote it.
        field: the request field the server named (INVALID_ARGUMENT and
            other errors about one field), else ``None``.
        method: the full gRPC method name, e.g.
            ``/allot.v1.AllocationService/Allocate``.
    """

    def __init__(self, code: grpc.StatusCode, message: str, method: str = ""):
        self.code = code
        self.message = message
        self.method = method
        match = _FIELD.match(message or "")
        self.field: Optional[str] = match.group(1) if match else None
        super().__init__(f"{method} {code.name}: {message}" if method else f"{code.name}: {message}")


class InvalidArgument(AllotError):
    """The request broke the contract; ``field`` names what to fix."""


class NotFound(AllotError):
    """The decision, reservation, SKU or node does not exist."""


class AlreadyExists(AllotError):
    """An idempotency key was reused with a different request."""


class FailedPrecondition(AllotError):
    """The call is valid but the state does not allow it (for example
    confirming a released reservation, or no demand model loaded)."""


class ResourceExhausted(AllotError):
    """The server shed the call before deciding (a concurrency limit, a
    full solver queue or decision log): nothing was done; retry later."""


class Unavailable(AllotError):
    """The server could not be reached or is still loading."""


class DeadlineExceeded(AllotError):
    """The call's deadline passed."""


class Aborted(AllotError):
    """A commit lost its race for stock to other replicas; nothing was
    reserved. Retry with the same idempotency key."""


class Unauthenticated(AllotError):
    """No or an unknown bearer token."""


class PermissionDenied(AllotError):
    """The token lacks the role this call needs."""


class Unimplemented(AllotError):
    """The server does not implement this call."""


class Internal(AllotError):
    """The server failed; the status message says what."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
}


def from_rpc_error(error: grpc.RpcError, method: str = "") -> AllotError:
    """The exception for a failed call (``grpc.RpcError`` from grpcio)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return _BY_CODE.get(code, AllotError)(code, details or "", method)
