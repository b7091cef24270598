"""Deadlines and retries that are safe by construction.

Every call has one deadline for all its attempts. A call is retried only
when repeating it cannot do a thing twice:

- idempotent calls (reads, promises, confirming or releasing a reservation,
  and an allocation that commits under an idempotency key, which the server
  answers once per key) are retried when the server could not be reached,
  shed the call, or a commit lost a race (UNAVAILABLE, RESOURCE_EXHAUSTED,
  ABORTED);
- calls that record something each time they run (ScoreOrder, an
  allocation without commit) are retried only when the server shed them
  before doing anything (RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

import enum
import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import grpc

from .errors import from_rpc_error

T = TypeVar("T")


class Safety(enum.Enum):
    """What repeating a call may do."""

    IDEMPOTENT = "idempotent"
    """Repeating it has the effect of running it once."""
    RECORDS = "records"
    """Each run is recorded; repeat only what the server refused to start."""


_RETRYABLE = {
    Safety.IDEMPOTENT: frozenset(
        {
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.ABORTED,
        }
    ),
    Safety.RECORDS: frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED}),
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attempt n (from 1) waits ``min(max_backoff_s, initial_backoff_s *
    multiplier ** (n - 1))`` seconds, times a random factor in [0.5, 1]
    (jitter), before the next one, and never past the call's deadline.
    """

    max_attempts: int = 4
    initial_backoff_s: float = 0.05
    max_backoff_s: float = 1.0
    multiplier: float = 2.0

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0 or self.multiplier < 1:
            raise ValueError("backoff: must be non-negative, multiplier at least 1")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    def retryable(self, safety: Safety, code: grpc.StatusCode) -> bool:
        """True when a call of ``safety`` that failed with ``code`` may run again."""
        return code in _RETRYABLE[safety]


NO_RETRY = RetryPolicy(max_attempts=1)
"""Each call runs once."""


def call_with_retry(
    policy: RetryPolicy,
    safety: Safety,
    method: str,
    timeout_s: float,
    attempt: Callable[[float], T],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Runs ``attempt(remaining_seconds)`` until it succeeds, fails in a way
    that may not be retried, runs out of attempts, or the deadline passes;
    failures are raised as :class:`allot.errors.AllotError`."""
    deadline = time.monotonic() + timeout_s
    for n in range(1, policy.max_attempts + 1):
        remaining = deadline - time.monotonic()
        try:
            return attempt(max(remaining, 0.001))
        except grpc.RpcError as error:
            last = from_rpc_error(error, method)
            if n == policy.max_attempts or not policy.retryable(safety, last.code):
                raise last from None
            pause = policy.backoff(n)
            if time.monotonic() + pause >= deadline:
                raise last from None
            sleep(pause)
    raise AssertionError("unreachable: the last attempt returns or raises")
