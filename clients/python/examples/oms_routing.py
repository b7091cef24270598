"""An OMS routing loop: for each new order, ask allot where it ships and
hold the stock; when the warehouse ships, confirm; when the customer
cancels, release.

    python examples/oms_routing.py [HOST:PORT]     # default 127.0.0.1:50051

The bearer token, if the server wants one, comes from ALLOT_TOKEN.
"""

import datetime as dt
import os
import sys

import allot
from allot import ServiceLevel, line, postal

# Orders as an OMS would hand them over: id, destination ZIP, lines.
ORDERS = [
    ("web-1001", "10001", [("SKU-000001", 1), ("SKU-000007", 2)]),
    ("web-1002", "94103", [("SKU-000003", 1)]),
    ("web-1003", "60601", [("SKU-000001", 3)]),
]


def route(client: allot.Client, order_id: str, zip_code: str, lines):
    """Decides and holds one order; returns its reservation id (or None)."""
    try:
        answer = client.reserve(
            order_id,
            [line(sku, quantity) for sku, quantity in lines],
            postal(zip_code),
            service_level=ServiceLevel.SERVICE_LEVEL_GROUND,
            # One key per order: a retry after a crash cannot hold twice.
            idempotency_key=f"{order_id}:1",
            reservation_ttl=dt.timedelta(hours=4),
        )
    except allot.InvalidArgument as error:
        print(f"{order_id}: rejected by allot, fix {error.field}: {error.message}")
        return None
    disposition = allot.OrderDisposition.Name(answer.disposition)
    print(f"{order_id}: {disposition}, decision {answer.decision_id}")
    for shipment in answer.shipments:
        print(
            f"  ship {shipment.units} unit(s) from {shipment.node} by {shipment.service}"
            f" for {shipment.total_cost_minor / 100:.2f}"
        )
    for allocated in answer.lines:
        why = ", ".join(allot.ReasonCode.Name(r.code) for r in allocated.reasons)
        print(f"  line {allocated.line_id}: {why}")
    return answer.reservation.reservation_id or None


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    with allot.Client(target, token=os.environ.get("ALLOT_TOKEN")) as client:
        held = [route(client, *order) for order in ORDERS]
        held = [r for r in held if r]
        # The first order shipped, the last was cancelled.
        if held:
            shipped = client.confirm(held[0])
            print(f"{shipped.reservation_id}: {allot.ReservationState.Name(shipped.state)}")
        if len(held) > 1:
            cancelled = client.release(held[-1], reason="order_cancelled")
            print(f"{cancelled.reservation_id}: {allot.ReservationState.Name(cancelled.state)}")


if __name__ == "__main__":
    main()
