"""The retry rules on their own: which failures repeat a call, and the
deadline shared by all attempts (no server: the attempt is a function)."""

from __future__ import annotations

import unittest

import grpc

import allot
from allot.retry import RetryPolicy, Safety, call_with_retry


class Failure(grpc.RpcError):
    def __init__(self, code):
        super().__init__()
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "lines[2].sku: unknown SKU NOPE"


def flaky(codes):
    """An attempt failing with each of `codes` in turn, then answering."""
    calls = []

    def attempt(remaining):
        calls.append(remaining)
        if len(calls) <= len(codes):
            raise Failure(codes[len(calls) - 1])
        return "answer"

    return attempt, calls


POLICY = RetryPolicy(max_attempts=4, initial_backoff_s=0.0, max_backoff_s=0.0)


class Retries(unittest.TestCase):
    def test_idempotent_calls_repeat_after_unavailable_shed_and_aborted(self):
        codes = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED]
        attempt, calls = flaky(codes)
        self.assertEqual(call_with_retry(POLICY, Safety.IDEMPOTENT, "m", 5.0, attempt), "answer")
        self.assertEqual(len(calls), 4)

    def test_recording_calls_repeat_only_what_was_shed(self):
        attempt, calls = flaky([grpc.StatusCode.RESOURCE_EXHAUSTED])
        self.assertEqual(call_with_retry(POLICY, Safety.RECORDS, "m", 5.0, attempt), "answer")
        attempt, calls = flaky([grpc.StatusCode.UNAVAILABLE])
        with self.assertRaises(allot.Unavailable):
            call_with_retry(POLICY, Safety.RECORDS, "m", 5.0, attempt)
        self.assertEqual(len(calls), 1, "a call that may have run is not run again")

    def test_a_bad_request_is_never_repeated_and_names_its_field(self):
        attempt, calls = flaky([grpc.StatusCode.INVALID_ARGUMENT])
        with self.assertRaises(allot.InvalidArgument) as bad:
            call_with_retry(POLICY, Safety.IDEMPOTENT, "/allot.v1.AllocationService/Allocate", 5.0, attempt)
        self.assertEqual(len(calls), 1)
        self.assertEqual(bad.exception.field, "lines[2].sku")
        self.assertEqual(bad.exception.method, "/allot.v1.AllocationService/Allocate")

    def test_attempts_stop_at_the_limit_and_share_one_deadline(self):
        attempt, calls = flaky([grpc.StatusCode.UNAVAILABLE] * 10)
        with self.assertRaises(allot.Unavailable):
            call_with_retry(POLICY, Safety.IDEMPOTENT, "m", 5.0, attempt)
        self.assertEqual(len(calls), 4)
        self.assertTrue(all(b <= a for a, b in zip(calls, calls[1:])), "each attempt gets what is left")
        # A backoff that would end past the deadline is not waited.
        slow = RetryPolicy(max_attempts=4, initial_backoff_s=10.0, max_backoff_s=10.0)
        attempt, calls = flaky([grpc.StatusCode.UNAVAILABLE] * 10)
        slept = []
        with self.assertRaises(allot.Unavailable):
            call_with_retry(slow, Safety.IDEMPOTENT, "m", 1.0, attempt, sleep=slept.append)
        self.assertEqual((len(calls), slept), (1, []))


if __name__ == "__main__":
    unittest.main()
