"""Demand: LightGBM Poisson regressor of units per SKU x region x day."""

import re

import numpy as np

import common
import metrics
import onnx_export

MAX_TREES = 200
PARAMS = common.base_params(
    objective="poisson", metric=["poisson", "l1"], learning_rate=0.05, num_leaves=31,
    min_data_in_leaf=50, feature_fraction=0.9, lambda_l2=1.0)
# the seasonal-naive baseline: units on the same weekday one week earlier
HOLDOUT_ROWS = 2000  # labelled test rows in the card: actual units
NAIVE = r"lag_same_weekday|lag_?7d?$|units_lag_?7|same_weekday"


def naive_column(features):
    if "lag_same_weekday" in features:
        return features.index("lag_same_weekday")
    for i, f in enumerate(features):
        if re.search(NAIVE, f):
            return i
    raise SystemExit(f"demand: no seasonal-naive column matching {NAIVE!r} in {features}")


def holdout(table, sess):
    """The card's labelled test rows (label = actual units) and how this
    model (ONNX Runtime) does on them."""
    h = common.holdout(table, HOLDOUT_ROWS, label=lambda v: int(v) if float(v).is_integer() else float(v))
    X = np.array([[np.nan if v is None else v for v in r] for r in h["rows"]], dtype=np.float32)
    (p,) = sess.run(None, {onnx_export.INPUT: X})
    p = p[:, 0].astype(np.float64)
    y = np.array(h["labels"], dtype=np.float64)
    h["metrics"] = {"wape": round(metrics.wape(y, p), 6), "mae": round(float(np.abs(y - p).mean()), 6)}
    return h


def train(table, world, docs, out_dir):
    print(f"demand: {table.counts()} rows, {len(table.features)} features, mean units {table.y.mean():.3f}")
    booster, best = common.fit(PARAMS, table, MAX_TREES)
    model = onnx_export.convert(booster, len(table.features))
    sess, version, inputs, outputs, info = common.export(
        model, "demand", out_dir, "allot demand: expected units per SKU x region x day")
    Xv, yv = table.part("valid")
    pv = booster.predict(Xv)
    (ov,) = sess.run(None, {onnx_export.INPUT: Xv})
    parity = common.assert_parity("demand valid units", ov[:, 0], pv, "regression")

    Xs, ys = table.part("test")
    ps = booster.predict(Xs)
    nc = naive_column(table.features)
    naive = Xs[:, nc].astype(np.float64)
    if not np.isfinite(naive).all():
        # rows without a week of history: score model and baselines on the rest
        keep = np.isfinite(naive)
        print(f"  demand: {int((~keep).sum())} test rows lack {table.features[nc]}; metrics use the other {int(keep.sum())}")
        Xs, ys, ps, naive = Xs[keep], ys[keep], ps[keep], naive[keep]
    m = {"test_rows": int(len(ys)), "test_units": float(ys.sum()),
         "wape": round(metrics.wape(ys, ps), 6),
         "bias": round(float(ps.sum() / max(1e-12, ys.sum()) - 1), 6),
         "mae": round(float(np.abs(ys - ps).mean()), 6),
         "seasonal_naive": {"column": table.features[nc], "wape": round(metrics.wape(ys, naive), 6),
                            "mae": round(float(np.abs(ys - naive).mean()), 6)}}
    if "lag_7d_mean" in table.features:
        ma = Xs[:, table.features.index("lag_7d_mean")].astype(np.float64)
        m["moving_average_7d"] = {"column": "lag_7d_mean", "wape": round(metrics.wape(ys, ma), 6),
                                  "mae": round(float(np.abs(ys - ma).mean()), 6)}

    idx = common.sample_indices(pv)
    Xr = Xv[idx]
    raw = booster.predict(Xr, raw_score=True)
    pred = booster.predict(Xr)
    contrib = common.contributions(booster, Xr)
    (orow,) = sess.run(None, {onnx_export.INPUT: Xr})
    samples = [{"features": common.f32list(Xr[j]), "units": float(yv[idx[j]]),
                "lightgbm": {"raw": float(raw[j]), "prediction": float(pred[j]), **contrib[j]},
                "onnxruntime": {"variable": float(orow[j, 0])}} for j in range(len(idx))]
    card = {
        "name": "demand", "version": version, "kind": "poisson_regressor",
        "onnx": info, "input": inputs[0], "outputs": outputs,
        "output_semantics": {"variable": "expected units (exp of the raw score)"},
        "unit": "units per SKU x region x day",
        "features": common.feature_schema(table, docs),
        "training_data": common.training_data(table, world),
        "lightgbm": {"params": PARAMS, "max_trees": MAX_TREES, "num_trees": booster.num_trees(),
                     "best_iteration": best, "raw_score": "log of expected units; prediction = exp(raw)"},
        "pinned": common.PINNED,
        "metrics": {"test": m, "parity_valid_max_abs_diff": parity},
        "reference_histograms": common.histograms(table),
        "reference_output_histograms": common.output_histograms(
            [("units", sess.run(None, {onnx_export.INPUT: table.part("train")[0]})[0][:, 0])]),
        "holdout": holdout(table, sess),
        "samples": samples,
        "samples_note": "validation rows spread over the prediction range; contributions are "
                        "pred_contrib (TreeSHAP) in raw log space, bias last: sum + bias == raw",
    }
    common.write_card(out_dir, "demand", card)
    return card
