"""LightGBM's own predict and Python onnxruntime, single row, on the rows score-bench times.

    cargo run --release -p allot-benches --bin score-bench -- --dump-rows /tmp/fraud_rows.csv
    .venv-train/bin/python benches/lightgbm_baseline.py --rows /tmp/fraud_rows.csv

Loads models/fraud.lgb.txt with lightgbm.Booster(model_file=...) and times
`predict` on one row at a time (num_threads=1), then models/fraud.onnx in an
onnxruntime session with 1 intra-op and 1 inter-op thread. Prints p50/p99 per
measure and, last, one JSON object.
"""

import argparse
import json
import os
import sys
import time

import lightgbm
import numpy as np
import onnxruntime


def percentiles(samples_ns):
    s = np.sort(np.asarray(samples_ns, dtype=np.float64))
    n = len(s)

    def at(q):
        rank = min(max(int(np.ceil(q * n)), 1), n)
        return s[rank - 1] / 1e3

    return {"n": n, "p50_us": at(0.50), "p90_us": at(0.90), "p99_us": at(0.99),
            "p999_us": at(0.999), "mean_us": float(s.mean() / 1e3)}


def time_calls(rows, warmup, iters, fn):
    n = len(rows)
    for i in range(warmup):
        fn(rows[i % n])
    out = np.empty(iters, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(iters):
        r = rows[i % n]
        t = clock()
        fn(r)
        out[i] = clock() - t
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="/tmp/fraud_rows.csv",
                    help="CSV written by score-bench --dump-rows (header = feature names)")
    ap.add_argument("--iters", type=int, default=30000)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--model", default=os.path.join(root, "models", "fraud.lgb.txt"))
    ap.add_argument("--onnx", default=os.path.join(root, "models", "fraud.onnx"))
    args = ap.parse_args()

    with open(args.rows) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(args.rows, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    # One contiguous [1, F] array per row, made before timing (as a server
    # holding a feature vector would).
    rows32 = [np.ascontiguousarray(r.reshape(1, -1)) for r in data]
    rows64 = [r.astype(np.float64) for r in rows32]

    booster = lightgbm.Booster(model_file=args.model)
    if booster.feature_name() != header:
        sys.exit(f"feature order differs: model {booster.feature_name()} vs rows {header}")

    lgb = percentiles(time_calls(rows64, args.warmup, args.iters,
                                 lambda r: booster.predict(r, num_threads=1)))

    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    sess = onnxruntime.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ort = percentiles(time_calls(rows32, args.warmup, args.iters,
                                 lambda r: sess.run(["probabilities"], {name: r})))

    # Same answers on the same rows (LightGBM float64 vs ONNX float32 trees).
    k = min(len(rows32), 2000)
    p_lgb = np.array([booster.predict(r, num_threads=1)[0] for r in rows64[:k]])
    p_ort = np.array([sess.run(["probabilities"], {name: r})[0][0, 1] for r in rows32[:k]])
    max_diff = float(np.max(np.abs(p_lgb - p_ort)))

    for label, s in [("lightgbm Booster.predict, 1 row", lgb),
                     ("python onnxruntime, 1 row", ort)]:
        print(f"{label:<34} n={s['n']:<7} p50 {s['p50_us']:8.2f} us  p90 {s['p90_us']:8.2f} us  "
              f"p99 {s['p99_us']:8.2f} us  p99.9 {s['p999_us']:8.2f} us  mean {s['mean_us']:8.2f} us")
    print(f"rows: {len(rows32)} from {args.rows}; max |p_lightgbm - p_onnx| over {k} rows: {max_diff:.2e}")
    print(json.dumps({
        "rows": len(rows32),
        "iters": args.iters,
        "lightgbm_version": lightgbm.__version__,
        "onnxruntime_version": onnxruntime.__version__,
        "lightgbm_p50_us": round(lgb["p50_us"], 2),
        "lightgbm_p99_us": round(lgb["p99_us"], 2),
        "py_ort_p50_us": round(ort["p50_us"], 2),
        "py_ort_p99_us": round(ort["p99_us"], 2),
        "max_abs_diff_lightgbm_vs_onnx": max_diff,
    }))


if __name__ == "__main__":
    main()
