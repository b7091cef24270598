"""Python client for allot, the decision engine for order management.

    from allot import Client, line, postal

    with Client("127.0.0.1:50051") as allot:
        answer = allot.reserve("order-1", [line("SKU-000042", 2)], postal("10001"),
                               idempotency_key="order-1:1")

See clients/python/README.md.
"""

from .client import DEFAULT_TIMEOUT_S, Client, Stubs
from .errors import (
    Aborted,
    AllotError,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from .orders import (
    OrderDisposition,
    ReasonCode,
    ReservationState,
    ServiceLevel,
    context,
    line,
    postal,
    timestamp,
)
from .retry import NO_RETRY, RetryPolicy, Safety

__all__ = [
    "Aborted",
    "AllotError",
    "AlreadyExists",
    "Client",
    "DEFAULT_TIMEOUT_S",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NO_RETRY",
    "NotFound",
    "OrderDisposition",
    "PermissionDenied",
    "ReasonCode",
    "ReservationState",
    "ResourceExhausted",
    "RetryPolicy",
    "Safety",
    "ServiceLevel",
    "Stubs",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "context",
    "line",
    "postal",
    "timestamp",
]
