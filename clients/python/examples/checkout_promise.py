"""A checkout page asking when a cart can arrive: every service level's
delivery date, window, on-time probability and shipping cost.

    python examples/checkout_promise.py [HOST:PORT]     # default 127.0.0.1:50051
"""

import os
import sys

import allot
from allot import line, postal


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    cart = [line("SKU-000001", 1), line("SKU-000007", 1)]
    with allot.Client(target, token=os.environ.get("ALLOT_TOKEN"), timeout_s=2.0) as client:
        try:
            answer = client.promise(cart, postal("10001"), explain_unavailable=True)
        except allot.DeadlineExceeded:
            print("no promise in time: show the standard delivery text")
            return
        for option in answer.options:
            level = allot.ServiceLevel.Name(option.service_level)
            print(
                f"{level}: arrives by {option.latest_delivery_date}"
                f" (window {option.earliest_delivery_date} to {option.latest_delivery_date},"
                f" {option.on_time_probability:.0%} on time), shipping {option.cost_minor / 100:.2f}"
            )
        for missing in answer.unavailable:
            level = allot.ServiceLevel.Name(missing.service_level)
            print(f"{level}: not offered ({', '.join(allot.ReasonCode.Name(r.code) for r in missing.reasons)})")


if __name__ == "__main__":
    main()
