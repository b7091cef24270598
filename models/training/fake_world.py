"""A small stand-in for the Rust world export, for testing the pipeline alone.

    python models/training/fake_world.py --out /tmp/allot-fake [--rows 40000]
    python models/training/train.py --data /tmp/allot-fake --out /tmp/allot-fake/models

It writes fraud.csv, eta.csv and demand.csv in the same shape as
`allot-world` (numeric feature columns, then labels and meta columns), with
made-up dynamics. It is not training data for shipped models: `retrain` always
uses the Rust world.
"""

import argparse
import csv
import os

import numpy as np


def splits(n, rng):
    # time-ordered split like the real export: first 70% train, 15% valid, 15% test
    cut1, cut2 = int(n * 0.7), int(n * 0.85)
    return ["train" if i < cut1 else "valid" if i < cut2 else "test" for i in range(n)]


def write(path, header, cols):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in zip(*cols):
            w.writerow(row)


def fraud(n, rng, out):
    t = np.sort(rng.uniform(0, 120 * 86400, n)).astype(np.int64)
    age = rng.exponential(300, n)
    amount = rng.lognormal(4.2, 0.8, n)
    express = (rng.random(n) < 0.2).astype(int)
    dist = rng.exponential(30, n)
    reship = (rng.random(n) < 0.03).astype(int)
    dev24 = rng.poisson(0.3, n)
    card24 = rng.poisson(0.2, n)
    resale = rng.beta(1, 5, n)
    logit = (-6.0 + 1.5 * (age < 7) + 0.8 * np.log1p(amount / 200) + 0.9 * express
             + 0.01 * dist + 1.5 * reship + 0.7 * dev24 + 0.8 * card24 + 2.0 * resale)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    hdr = ["account_age_days", "order_amount", "service_speed", "ship_bill_distance_km",
           "address_customers_7d", "device_orders_24h", "card_orders_24h", "high_resale_share",
           "is_fraud", "order_time", "split"]
    extra = ["line_count", "unit_count", "max_resale_risk", "customer_orders_24h", "customer_orders_7d",
             "customer_amount_7d", "device_orders_1h", "device_customers_24h", "card_addresses_7d",
             "address_orders_24h", "customer_return_rate", "hour_local", "is_weekend"]
    noise = [rng.poisson(1.5, n) for _ in extra]
    hdr = hdr[:8] + extra + hdr[8:]
    write(os.path.join(out, "fraud.csv"), hdr,
          [np.round(age, 2), np.round(amount, 2), express * 2, np.round(dist, 1), reship * 3 + 1, dev24,
           card24, np.round(resale, 3), *noise, y, t, splits(n, rng)])


def eta(n, rng, out):
    service = rng.integers(0, 3, n)
    dist = rng.uniform(10, 4000, n)
    origin_store = (rng.random(n) < 0.3).astype(int)
    after_cutoff = (rng.random(n) < 0.3).astype(int)
    weekday = rng.integers(0, 7, n)
    peak = (rng.random(n) < 0.15).astype(int)
    base = np.where(service == 0, 1.0 + dist / 700, np.where(service == 1, 1.0 + dist / 2000, 0.8))
    mean = base + 0.6 * after_cutoff + 0.4 * origin_store + 0.5 * peak + 0.7 * (weekday >= 5)
    transit = np.maximum(0.5, mean * rng.lognormal(0, 0.25, n))
    hdr = ["distance_km", "service_speed", "origin_kind", "after_cutoff", "weekday", "is_peak",
           "transit_days", "service", "split"]
    names = np.array(["NPX-GROUND", "NPX-2DAY", "NPX-OVERNIGHT"])
    write(os.path.join(out, "eta.csv"), hdr,
          [np.round(dist, 1), service, origin_store, after_cutoff, weekday, peak,
           np.round(transit, 3), names[service], splits(n, rng)])


def demand(n, rng, out):
    days = 140
    series = max(1, n // days)
    rows = []
    for s in range(series):
        level = rng.lognormal(0.5, 1.0)
        week = 1 + 0.4 * np.sin(np.arange(7) / 7 * 2 * np.pi + rng.uniform(0, 6))
        promo = (rng.random(days) < 0.05).astype(int)
        mu = level * week[np.arange(days) % 7] * (1 + 1.5 * promo)
        units = rng.poisson(mu)
        for d in range(28, days):
            split = "train" if d < 100 else "valid" if d < 120 else "test"
            rows.append((s % 50, d % 7, promo[d], units[d - 7], units[d - 14],
                         round(units[d - 28:d].mean(), 4), units[d], split))
    hdr = ["category", "weekday", "is_promo", "lag_same_weekday", "lag_14", "lag_7d_mean", "units", "split"]
    write(os.path.join(out, "demand.csv"), hdr, list(zip(*rows)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=40000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    fraud(a.rows, rng, a.out)
    eta(a.rows, rng, a.out)
    demand(a.rows, rng, a.out)


if __name__ == "__main__":
    main()
