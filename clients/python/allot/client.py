"""The allot client: one channel, typed helpers for the common calls, and
every generated stub for the rest."""

from __future__ import annotations

import datetime as _dt
import time
from typing import Iterable, Iterator, Optional, Sequence

import grpc
from google.protobuf import duration_pb2

from .errors import DeadlineExceeded, Unavailable, from_rpc_error
from .orders import timestamp
from .retry import RetryPolicy, Safety, call_with_retry
from .v1 import (
    admin_pb2,
    admin_pb2_grpc,
    allocation_pb2,
    allocation_pb2_grpc,
    common_pb2,
    decisions_pb2,
    decisions_pb2_grpc,
    inventory_pb2_grpc,
    planning_pb2,
    planning_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
    returns_pb2,
    returns_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)

DEFAULT_TIMEOUT_S = 5.0
"""Deadline of one call, all its attempts included, unless a call says."""

_RELEASE_REASONS = {
    "order_cancelled": allocation_pb2.RELEASE_REASON_ORDER_CANCELLED,
    "reallocated": allocation_pb2.RELEASE_REASON_REALLOCATED,
    "fraud_rejected": allocation_pb2.RELEASE_REASON_FRAUD_REJECTED,
    "payment_failed": allocation_pb2.RELEASE_REASON_PAYMENT_FAILED,
    "other": allocation_pb2.RELEASE_REASON_OTHER,
}


class Stubs:
    """The generated stub of every allot.v1 service over one channel, for
    calls without a helper (``client.stubs.inventory.GetSkuAvailability(...)``)."""

    def __init__(self, channel: grpc.Channel):
        self.admin = admin_pb2_grpc.AdminServiceStub(channel)
        self.allocation = allocation_pb2_grpc.AllocationServiceStub(channel)
        self.decisions = decisions_pb2_grpc.DecisionServiceStub(channel)
        self.inventory = inventory_pb2_grpc.InventoryServiceStub(channel)
        self.planning = planning_pb2_grpc.PlanningServiceStub(channel)
        self.promise = promise_pb2_grpc.PromiseServiceStub(channel)
        self.returns = returns_pb2_grpc.ReturnsServiceStub(channel)
        self.risk = risk_pb2_grpc.RiskServiceStub(channel)
        self.by_service = {
            "AdminService": self.admin,
            "AllocationService": self.allocation,
            "DecisionService": self.decisions,
            "InventoryService": self.inventory,
            "PlanningService": self.planning,
            "PromiseService": self.promise,
            "ReturnsService": self.returns,
            "RiskService": self.risk,
        }


class Client:
    """A connection to one allot server (or the load balancer in front of
    its replicas).

    ``target`` is ``host:port``. With ``root_certificates`` (PEM bytes) the
    channel uses TLS, with ``client_certificate`` and ``client_key`` mutual
    TLS; without, plaintext (allot serves plaintext only on loopback).
    ``token`` is sent as ``authorization: Bearer <token>`` on every call.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        target: str,
        *,
        token: Optional[str] = None,
        root_certificates: Optional[bytes] = None,
        client_certificate: Optional[bytes] = None,
        client_key: Optional[bytes] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy = RetryPolicy(),
    ):
        if root_certificates is not None or client_certificate is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=root_certificates,
                private_key=client_key,
                certificate_chain=client_certificate,
            )
            self._channel = grpc.secure_channel(target, credentials)
        else:
            self._channel = grpc.insecure_channel(target)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout_s = timeout_s
        self.retry = retry
        self.stubs = Stubs(self._channel)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def _call(self, method: str, request, safety: Safety, timeout_s: Optional[float]):
        """Calls ``method`` ("AllocationService/Allocate") with the retry
        rules of ``safety`` under one deadline."""
        service, name = method.split("/")
        rpc = getattr(self.stubs.by_service[service], name)
        return call_with_retry(
            self.retry,
            safety,
            f"/allot.v1.{method}",
            timeout_s if timeout_s is not None else self.timeout_s,
            lambda remaining: rpc(request, timeout=remaining, metadata=self._metadata),
        )

    # --- readiness and the network -------------------------------------

    def wait_ready(self, timeout_s: float = 30.0) -> admin_pb2.NetworkDescription:
        """Waits until the server answers (it answers UNAVAILABLE while it
        loads) and returns its network; raises :class:`Unavailable` after
        ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                return self.network(timeout_s=min(5.0, max(remaining, 0.1)))
            except (Unavailable, DeadlineExceeded):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def network(
        self, include_skus: bool = False, timeout_s: Optional[float] = None
    ) -> admin_pb2.NetworkDescription:
        """The served network: nodes, services, regions, lanes (and SKUs)."""
        return self._call(
            "AdminService/GetNetwork",
            admin_pb2.GetNetworkRequest(include_skus=include_skus),
            Safety.IDEMPOTENT,
            timeout_s,
        )

    # --- allocation ----------------------------------------------------

    def _allocate_request(
        self,
        order_id: str,
        lines: Sequence[common_pb2.OrderLine],
        destination: common_pb2.Destination,
        service_level: int,
        context: Optional[common_pb2.OrderContext],
        ship_complete: bool,
        max_splits: Optional[int],
        excluded_nodes: Iterable[str],
        allow_backorder: bool,
    ) -> allocation_pb2.AllocateRequest:
        options = allocation_pb2.AllocationOptions(
            ship_complete=ship_complete,
            excluded_nodes=list(excluded_nodes),
            allow_backorder=allow_backorder,
        )
        if max_splits is not None:
            options.max_splits = max_splits
        request = allocation_pb2.AllocateRequest(
            order_id=order_id,
            lines=list(lines),
            destination=destination,
            service_level=service_level,
            options=options,
        )
        if context is not None:
            request.context.CopyFrom(context)
        return request

    def allocate(
        self,
        order_id: str,
        lines: Sequence[common_pb2.OrderLine],
        destination: common_pb2.Destination,
        *,
        service_level: int = common_pb2.SERVICE_LEVEL_GROUND,
        context: Optional[common_pb2.OrderContext] = None,
        ship_complete: bool = False,
        max_splits: Optional[int] = None,
        excluded_nodes: Iterable[str] = (),
        allow_backorder: bool = False,
        timeout_s: Optional[float] = None,
    ) -> allocation_pb2.AllocateResponse:
        """Decides which nodes would ship each line, reserving nothing (a
        what-if). Use :meth:`reserve` to hold the stock."""
        request = self._allocate_request(
            order_id, lines, destination, service_level, context,
            ship_complete, max_splits, excluded_nodes, allow_backorder,
        )
        return self._call("AllocationService/Allocate", request, Safety.RECORDS, timeout_s)

    def reserve(
        self,
        order_id: str,
        lines: Sequence[common_pb2.OrderLine],
        destination: common_pb2.Destination,
        *,
        idempotency_key: str,
        service_level: int = common_pb2.SERVICE_LEVEL_GROUND,
        context: Optional[common_pb2.OrderContext] = None,
        ship_complete: bool = False,
        max_splits: Optional[int] = None,
        excluded_nodes: Iterable[str] = (),
        allow_backorder: bool = False,
        reservation_ttl: Optional[_dt.timedelta] = None,
        timeout_s: Optional[float] = None,
    ) -> allocation_pb2.AllocateResponse:
        """Allocates and holds the stock (``commit``) under
        ``idempotency_key``, which is required: a retry, by this client or
        by the caller after a crash, with the same key and request gets the
        first answer and reserves nothing again. Derive the key from the
        order (``f"{order_id}:1"``), never from the attempt."""
        if not idempotency_key:
            raise ValueError("idempotency_key: required to commit (1 to 128 bytes)")
        request = self._allocate_request(
            order_id, lines, destination, service_level, context,
            ship_complete, max_splits, excluded_nodes, allow_backorder,
        )
        request.options.commit = True
        request.options.idempotency_key = idempotency_key
        if reservation_ttl is not None:
            ttl = duration_pb2.Duration()
            ttl.FromTimedelta(reservation_ttl)
            request.options.reservation_ttl.CopyFrom(ttl)
        return self._call("AllocationService/Allocate", request, Safety.IDEMPOTENT, timeout_s)

    def confirm(self, reservation_id: str, timeout_s: Optional[float] = None) -> allocation_pb2.Reservation:
        """The units shipped: the hold ends and on-hand drops. Confirming
        twice answers the reservation unchanged."""
        return self._call(
            "AllocationService/ConfirmReservation",
            allocation_pb2.ConfirmReservationRequest(reservation_id=reservation_id),
            Safety.IDEMPOTENT,
            timeout_s,
        )

    def release(
        self,
        reservation_id: str,
        reason: str = "other",
        note: str = "",
        timeout_s: Optional[float] = None,
    ) -> allocation_pb2.Reservation:
        """Gives the held units back. ``reason`` is one of order_cancelled,
        reallocated, fraud_rejected, payment_failed, other. Releasing twice
        answers the reservation unchanged."""
        if reason not in _RELEASE_REASONS:
            raise ValueError(f"reason: one of {', '.join(_RELEASE_REASONS)}, got {reason!r}")
        return self._call(
            "AllocationService/ReleaseReservation",
            allocation_pb2.ReleaseReservationRequest(
                reservation_id=reservation_id, reason=_RELEASE_REASONS[reason], note=note
            ),
            Safety.IDEMPOTENT,
            timeout_s,
        )

    def reservation(self, reservation_id: str, timeout_s: Optional[float] = None) -> allocation_pb2.Reservation:
        """A reservation in its current state."""
        return self._call(
            "AllocationService/GetReservation",
            allocation_pb2.GetReservationRequest(reservation_id=reservation_id),
            Safety.IDEMPOTENT,
            timeout_s,
        )

    # --- promises and risk ---------------------------------------------

    def promise(
        self,
        lines: Sequence[common_pb2.OrderLine],
        destination: common_pb2.Destination,
        *,
        service_levels: Iterable[int] = (),
        order_time: Optional[_dt.datetime] = None,
        explain_unavailable: bool = False,
        timeout_s: Optional[float] = None,
    ) -> promise_pb2.PromiseResponse:
        """When the cart can arrive, per service level (all when empty):
        the delivery window, the promised date and its on-time probability."""
        request = promise_pb2.PromiseRequest(
            lines=list(lines),
            destination=destination,
            service_levels=list(service_levels),
            explain_unavailable=explain_unavailable,
        )
        if order_time is not None:
            request.order_time.CopyFrom(timestamp(order_time))
        return self._call("PromiseService/GetDeliveryPromise", request, Safety.IDEMPOTENT, timeout_s)

    def score(
        self,
        order_id: str,
        lines: Sequence[common_pb2.OrderLine],
        destination: common_pb2.Destination,
        context: common_pb2.OrderContext,
        *,
        order_amount_minor: int = 0,
        currency: str = "USD",
        service_level: int = common_pb2.SERVICE_LEVEL_GROUND,
        timeout_s: Optional[float] = None,
    ) -> risk_pb2.RiskAssessment:
        """The order's fraud probability, decision and reasons."""
        request = risk_pb2.ScoreOrderRequest(
            order_id=order_id,
            lines=list(lines),
            destination=destination,
            context=context,
            order_amount_minor=order_amount_minor,
            currency=currency,
            service_level=service_level,
        )
        return self._call("RiskService/ScoreOrder", request, Safety.RECORDS, timeout_s)

    # --- returns ---------------------------------------------------------

    def route_return(
        self,
        return_id: str,
        sku: str,
        origin: common_pb2.Destination,
        *,
        quantity: int = 1,
        reason: int = returns_pb2.RETURN_REASON_OTHER,
        condition: int = returns_pb2.ITEM_CONDITION_USED,
        unit_price_minor: Optional[int] = None,
        order_id: str = "",
        timeout_s: Optional[float] = None,
    ) -> returns_pb2.ReturnDecision:
        """Where a return goes (``node``, empty for a write-off) and each
        unit's disposition there, by expected recovery net of the label and
        receiving (docs/returns.md). Recorded, and it takes the node's
        refurbishing or liquidation capacity: repeated only when shed."""
        request = returns_pb2.RouteReturnRequest(
            return_id=return_id,
            order_id=order_id,
            sku=sku,
            quantity=quantity,
            reason=reason,
            condition=condition,
            origin=origin,
        )
        if unit_price_minor is not None:
            request.unit_price_minor = unit_price_minor
        return self._call("ReturnsService/RouteReturn", request, Safety.RECORDS, timeout_s)

    # --- planning --------------------------------------------------------

    def forecast(
        self,
        skus: Sequence[str],
        *,
        regions: Iterable[str] = (),
        nodes: Iterable[str] = (),
        horizon_days: int = 0,
        timeout_s: Optional[float] = None,
    ) -> planning_pb2.DemandForecast:
        """Units each SKU will sell per day in each region (or each node's
        region), with the 10%, 50% and 90% quantiles, for ``horizon_days``
        (1 to 28; 0 means 14). Promotions: ``client.stubs.planning``."""
        request = planning_pb2.ForecastDemandRequest(
            skus=list(skus), regions=list(regions), nodes=list(nodes), horizon_days=horizon_days
        )
        return self._call("PlanningService/ForecastDemand", request, Safety.IDEMPOTENT, timeout_s)

    def plan_transfers(
        self,
        skus: Sequence[str],
        *,
        nodes: Iterable[str] = (),
        horizon_days: int = 0,
        timeout_s: Optional[float] = None,
    ) -> planning_pb2.TransferPlan:
        """Proposed transfers between nodes (all nodes when ``nodes`` is
        empty) that cut the forecast's expected shortfalls at least cost;
        nothing moves until the OMS acts on them. The call's deadline is the
        solve's budget."""
        request = planning_pb2.PlanTransfersRequest(
            skus=list(skus), nodes=list(nodes), horizon_days=horizon_days
        )
        return self._call("PlanningService/PlanTransfers", request, Safety.IDEMPOTENT, timeout_s)

    def workload(
        self,
        nodes: Iterable[str] = (),
        *,
        horizon_days: int = 0,
        skus: Iterable[str] = (),
        timeout_s: Optional[float] = None,
    ) -> planning_pb2.WorkloadForecast:
        """Units to pick and ship and staff hours per node per local day."""
        request = planning_pb2.ForecastWorkloadRequest(
            nodes=list(nodes), horizon_days=horizon_days, skus=list(skus)
        )
        return self._call("PlanningService/ForecastWorkload", request, Safety.IDEMPOTENT, timeout_s)

    # --- decisions -----------------------------------------------------

    def explain(self, decision_id: str, timeout_s: Optional[float] = None) -> decisions_pb2.DecisionRecord:
        """A recorded decision: its request, answer, models and reasons."""
        return self._call(
            "DecisionService/ExplainDecision",
            decisions_pb2.ExplainDecisionRequest(decision_id=decision_id),
            Safety.IDEMPOTENT,
            timeout_s,
        )

    def replay(self, decision_id: str, timeout_s: Optional[float] = None) -> decisions_pb2.ReplayDecisionResponse:
        """Decides a recorded decision again and says whether it is identical."""
        return self._call(
            "DecisionService/ReplayDecision",
            decisions_pb2.ReplayDecisionRequest(decision_id=decision_id),
            Safety.IDEMPOTENT,
            timeout_s,
        )

    def watch(
        self,
        from_position: Optional[int] = None,
        kinds: Iterable[int] = (),
        *,
        max_reconnects: int = 10,
        timeout_s: Optional[float] = None,
    ) -> Iterator[decisions_pb2.DecisionEvent]:
        """The decision feed, as an endless iterator (close it to stop).

        ``from_position``: events after this position (0 = the oldest kept);
        ``None`` = only what happens from now. When the stream breaks
        (UNAVAILABLE), the iterator reconnects from the last position it
        yielded, so no event is lost or repeated; it gives up after
        ``max_reconnects`` consecutive failures. ``timeout_s`` bounds the whole
        watch (DEADLINE_EXCEEDED when it passes); ``None`` watches forever."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        position = from_position
        failures = 0
        while True:
            request = decisions_pb2.WatchDecisionsRequest(kinds=list(kinds))
            if position is not None:
                request.from_position = position
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            stream = self.stubs.decisions.WatchDecisions(
                request, metadata=self._metadata, timeout=remaining
            )
            try:
                for event in stream:
                    failures = 0
                    position = event.position
                    yield event
                return
            except grpc.RpcError as error:
                failure = from_rpc_error(error, "/allot.v1.DecisionService/WatchDecisions")
                if error.code() != grpc.StatusCode.UNAVAILABLE or failures >= max_reconnects:
                    raise failure from None
                failures += 1
                time.sleep(self.retry.backoff(failures))
            finally:
                stream.cancel()
