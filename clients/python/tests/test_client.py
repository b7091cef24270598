"""The client against a real allot server (tests/server.py): the common
calls, errors with their code and field, idempotent commits, the decision
feed, authentication, and the README's examples run as written."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import unittest
import uuid

import allot
from allot import line, postal

from server import Server

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
ZIP = "10001"


class ServerCase(unittest.TestCase):
    """One server for every test of a class, and a client of it (with the
    class's ``token``); ``tokens`` turns authentication on."""

    tokens = None
    token = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(tokens=cls.tokens)
        cls.client = allot.Client(cls.server.target, token=cls.token, timeout_s=30.0)
        try:
            cls.server.wait_ready(cls.client)
        except Exception:
            cls.client.close()
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop()


class AgainstServer(ServerCase):
    """The common calls, without authentication."""

    def order_id(self) -> str:
        return f"py-{uuid.uuid4().hex[:12]}"

    def in_stock_sku(self) -> str:
        """A SKU the demo network holds somewhere (SKU-000001 is held)."""
        return "SKU-000001"

    def test_a_reserve_holds_stock_once_per_key_and_confirms(self):
        order = self.order_id()
        lines = [line(self.in_stock_sku(), 1)]
        first = self.client.reserve(order, lines, postal(ZIP), idempotency_key=f"{order}:1")
        self.assertEqual(first.disposition, allot.OrderDisposition.Value("ORDER_DISPOSITION_ALLOCATED"))
        self.assertTrue(first.reservation.reservation_id)
        self.assertEqual(sum(s.units for s in first.shipments), 1)
        # The same key and request: the first answer, nothing held again.
        again = self.client.reserve(order, lines, postal(ZIP), idempotency_key=f"{order}:1")
        self.assertEqual(again.reservation.reservation_id, first.reservation.reservation_id)
        self.assertEqual(again.decision_id, first.decision_id)
        # The same key with another request is refused.
        with self.assertRaises(allot.AlreadyExists) as refused:
            self.client.reserve(order, [line(self.in_stock_sku(), 2)], postal(ZIP), idempotency_key=f"{order}:1")
        self.assertEqual(refused.exception.code.name, "ALREADY_EXISTS")
        held = self.client.reservation(first.reservation.reservation_id)
        self.assertEqual(held.state, allot.ReservationState.Value("RESERVATION_STATE_HELD"))
        confirmed = self.client.confirm(held.reservation_id)
        self.assertEqual(confirmed.state, allot.ReservationState.Value("RESERVATION_STATE_CONFIRMED"))
        # Confirming twice answers it unchanged.
        self.assertEqual(self.client.confirm(held.reservation_id), confirmed)
        with self.assertRaises(allot.FailedPrecondition):
            self.client.release(held.reservation_id, reason="order_cancelled")

    def test_a_commit_without_a_key_is_refused_before_any_call(self):
        with self.assertRaises(ValueError):
            self.client.reserve(self.order_id(), [line("SKU-000001", 1)], postal(ZIP), idempotency_key="")

    def test_bad_input_raises_with_the_code_and_the_field(self):
        with self.assertRaises(allot.InvalidArgument) as bad:
            self.client.allocate(self.order_id(), [line("SKU-000001", 0)], postal(ZIP))
        self.assertEqual(bad.exception.field, "lines[0].quantity")
        self.assertEqual(bad.exception.method, "/allot.v1.AllocationService/Allocate")
        with self.assertRaises(allot.NotFound) as unknown:
            self.client.promise([line("NOT-A-SKU", 1)], postal(ZIP))
        self.assertEqual(unknown.exception.field, "lines[0].sku")
        with self.assertRaises(allot.NotFound):
            self.client.reservation("rsv_01ARZ3NDEKTSV4RRFFQ69G5FAV")

    def test_a_promise_states_dates_and_probabilities(self):
        answer = self.client.promise([line("SKU-000001", 1)], postal(ZIP))
        self.assertTrue(answer.options, "at least one service level offered")
        for option in answer.options:
            self.assertLessEqual(option.earliest_delivery_date, option.latest_delivery_date)
            self.assertGreater(option.on_time_probability, 0.0)
            self.assertLessEqual(option.on_time_probability, 1.0)
            self.assertGreater(option.cost_minor, 0)
        self.assertTrue(answer.decision_id)

    def test_score_explain_and_replay_one_decision(self):
        order = self.order_id()
        assessment = self.client.score(
            order,
            [line("SKU-000001", 1)],
            postal(ZIP),
            allot.context(customer_id="c-1", email="ann@example.com", device_id="d-1", card_fingerprint="card-1"),
            order_amount_minor=2599,
        )
        self.assertGreaterEqual(assessment.fraud_probability, 0.0)
        self.assertLessEqual(assessment.fraud_probability, 1.0)
        self.assertTrue(assessment.reasons, "every decision carries reasons")
        record = self.client.explain(assessment.decision_id)
        self.assertIn(order, str(record))
        replayed = self.client.replay(assessment.decision_id)
        self.assertTrue(replayed.identical, str(replayed))

    def test_a_return_is_routed_and_explained(self):
        from allot.v1 import returns_pb2

        decided = self.client.route_return(
            "rma-" + self.order_id(),
            "SKU-000001",
            postal(ZIP),
            quantity=2,
            reason=returns_pb2.RETURN_REASON_SIZE_FIT,
            condition=returns_pb2.ITEM_CONDITION_NEW_SEALED,
            unit_price_minor=20000,
        )
        self.assertTrue(decided.node, str(decided))
        self.assertEqual(sum(u.quantity for u in decided.units), 2)
        self.assertEqual(
            decided.net_recovery_minor,
            decided.expected_recovery_minor - decided.shipping_cost_minor - decided.receiving_cost_minor,
        )
        self.assertTrue(decided.reasons)
        record = self.client.explain(decided.decision_id)
        self.assertEqual(record.return_decision, decided)
        with self.assertRaises(allot.InvalidArgument) as bad:
            self.client.route_return("rma-bad", "SKU-000001", postal(ZIP), quantity=0)
        self.assertIn("quantity", str(bad.exception))

    def test_planning_forecasts_and_plans(self):
        forecast = self.client.forecast(["SKU-000001"], nodes=["DC-ABE"], horizon_days=3)
        self.assertEqual(len(forecast.series), 1)
        self.assertEqual(forecast.series[0].node, "DC-ABE")
        self.assertEqual(len(forecast.series[0].days), 3)
        for day in forecast.series[0].days:
            self.assertLessEqual(day.q10, day.q50)
            self.assertLessEqual(day.q50, day.q90)
        with self.assertRaises(allot.InvalidArgument) as bad:
            self.client.forecast(["SKU-000001"], nodes=["DC-ABE"], horizon_days=29)
        self.assertEqual(bad.exception.field, "horizon_days")
        plan = self.client.plan_transfers(["SKU-000001"], horizon_days=7, timeout_s=30.0)
        self.assertEqual(plan.horizon_days, 7)
        self.assertGreaterEqual(plan.shortfall_cost_before_minor, plan.shortfall_cost_after_minor)
        workload = self.client.workload(["DC-ABE"], horizon_days=2)
        self.assertEqual([n.node for n in workload.nodes], ["DC-ABE"])
        self.assertEqual(len(workload.nodes[0].days), 2)

    def test_the_feed_carries_the_decisions_made(self):
        order = self.order_id()
        made = self.client.allocate(order, [line("SKU-000001", 1)], postal(ZIP))
        feed = self.client.watch(from_position=0, timeout_s=60.0)
        try:
            for n, event in enumerate(feed):
                if event.decision_id == made.decision_id:
                    self.assertEqual(event.order_id, order)
                    break
                self.assertLess(n, 10_000, "the decision never appeared on the feed")
        finally:
            feed.close()


class WithTokens(ServerCase):
    """Authentication: the token travels with every call, roles apply."""

    tokens = {"oms-secret": ["decide", "operate", "read"], "support-secret": ["read"]}
    token = "oms-secret"

    def test_roles_are_enforced_and_named_in_the_error(self):
        order = f"py-{uuid.uuid4().hex[:12]}"
        answer = self.client.reserve(order, [line("SKU-000001", 1)], postal(ZIP), idempotency_key=order)
        self.assertTrue(answer.reservation.reservation_id)
        with allot.Client(self.server.target, token="support-secret") as support:
            self.assertEqual(support.reservation(answer.reservation.reservation_id).order_id, order)
            with self.assertRaises(allot.PermissionDenied):
                support.release(answer.reservation.reservation_id)
        with allot.Client(self.server.target) as anonymous:
            with self.assertRaises(allot.Unauthenticated):
                anonymous.network()


class Examples(ServerCase):
    """The README's examples, run as written against a real server."""

    def run_example(self, name: str) -> str:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / name), self.server.target],
            capture_output=True,
            text=True,
            timeout=120,
            env={k: v for k, v in os.environ.items() if k != "ALLOT_TOKEN"},
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_the_routing_loop_holds_confirms_and_releases(self):
        out = self.run_example("oms_routing.py")
        self.assertIn("web-1001: ORDER_DISPOSITION_ALLOCATED", out)
        self.assertIn("ship ", out)
        self.assertIn("RESERVATION_STATE_CONFIRMED", out)
        self.assertIn("RESERVATION_STATE_RELEASED", out)

    def test_the_checkout_promise_lists_service_levels(self):
        out = self.run_example("checkout_promise.py")
        self.assertRegex(out, r"SERVICE_LEVEL_GROUND: arrives by \d{4}-\d{2}-\d{2}")


if __name__ == "__main__":
    unittest.main()
