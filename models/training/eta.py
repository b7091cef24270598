"""ETA: LightGBM quantile regressors (q10, q50, q90 of transit days) shipped as
one ONNX graph with one input and one output [N, 3] (one ORT run per batch)."""

import numpy as np

import common
import metrics
import onnx_export

QUANTILES = (0.1, 0.5, 0.9)
# A fixed number of trees, no early stopping: the quantile loss's gradient is
# only a sign, so small services (same-day is ~1% of shipments) are split out
# late; stopping on the overall validation loss (dominated by ground) kept q50
# at 37 trees and left same-day's q50 worse than its static per-service median.
MAX_TREES = 200
OUTPUT = "quantiles"
HOLDOUT_ROWS = 2000  # labelled test rows in the card: actual transit days


def params(alpha):
    return common.base_params(
        objective="quantile", alpha=alpha, metric="quantile", learning_rate=0.1,
        num_leaves=31, min_data_in_leaf=20, feature_fraction=0.9, lambda_l2=1.0)


def holdout(table, sess):
    """The card's labelled test rows (label = actual transit days) and how
    this model (ONNX Runtime, before any calibration) does on them."""
    h = common.holdout(table, HOLDOUT_ROWS)
    X = np.array([[np.nan if v is None else v for v in r] for r in h["rows"]], dtype=np.float32)
    (p,) = sess.run(None, {onnx_export.INPUT: X})
    p = p.astype(np.float64)
    y = np.array(h["labels"])
    h["metrics"] = {"mae_q50": round(float(np.abs(y - p[:, 1]).mean()), 6),
                    "coverage_q10_q90": round(float(((y >= p[:, 0]) & (y <= p[:, 2])).mean()), 6),
                    "pinball": [round(metrics.pinball(y, p[:, k], a), 6) for k, a in enumerate(QUANTILES)]}
    return h


def service_baseline(services, train_table):
    """The baseline's [q10, q50, q90] for rows of `services`: the training
    split's quantiles of transit days per service (what a static SLA table
    would say; a service the training split lacks gets every service's)."""
    svc_t = train_table.meta["service"][train_table.mask("train")]
    _, yt = train_table.part("train")
    base = np.zeros((len(services), len(QUANTILES)))
    for s in np.unique(services):
        ref = yt[svc_t == s] if (svc_t == s).any() else yt
        base[services == s] = np.quantile(ref, QUANTILES)
    return base


def train(table, world, docs, out_dir):
    print(f"eta: {table.counts()} rows, {len(table.features)} features")
    boosters, bests = [], []
    for a in QUANTILES:
        b, best = common.fit(params(a), table, MAX_TREES, early_stop=None)
        boosters.append(b)
        bests.append(best)
        print(f"  q{int(a * 100)}: {best} trees")
    parts = [onnx_export.convert(b, len(table.features)) for b in boosters]
    merged = onnx_export.merge_regressors(parts, OUTPUT)
    sess, version, inputs, outputs, info = common.export(
        merged, "eta", out_dir, "allot ETA: transit days quantiles [q10, q50, q90] per row")

    Xv, yv = table.part("valid")
    lv = np.column_stack([b.predict(Xv) for b in boosters])
    (ov,) = sess.run(None, {onnx_export.INPUT: Xv})
    parity = common.assert_parity("eta valid quantiles", ov, lv, "regression")

    Xs, ys = table.part("test")
    ps = np.column_stack([b.predict(Xs) for b in boosters])
    svc_s = table.meta["service"][table.mask("test")]

    def block(mask):
        y, p = ys[mask], ps[mask]
        # baseline: the training split's per-service quantiles (what a static SLA table would say)
        base = service_baseline(svc_s[mask], table)
        return {
            "rows": int(mask.sum()),
            "mae_q50": round(float(np.abs(y - p[:, 1]).mean()), 6),
            "coverage_q10_q90": round(float(((y >= p[:, 0]) & (y <= p[:, 2])).mean()), 6),
            "below_q10": round(float((y < p[:, 0]).mean()), 6),
            "below_q50": round(float((y < p[:, 1]).mean()), 6),
            "at_or_below_q50": round(float((y <= p[:, 1]).mean()), 6),
            "above_q90": round(float((y > p[:, 2]).mean()), 6),
            "mean_width_q10_q90": round(float((p[:, 2] - p[:, 0]).mean()), 6),
            "pinball": [round(metrics.pinball(y, p[:, k], a), 6) for k, a in enumerate(QUANTILES)],
            "crossing_share": round(float(((p[:, 0] > p[:, 1]) | (p[:, 1] > p[:, 2])).mean()), 6),
            "baseline_service_quantiles": {
                "mae_q50": round(float(np.abs(y - base[:, 1]).mean()), 6),
                "coverage_q10_q90": round(float(((y >= base[:, 0]) & (y <= base[:, 2])).mean()), 6),
                "mean_width_q10_q90": round(float((base[:, 2] - base[:, 0]).mean()), 6),
                "pinball": [round(metrics.pinball(y, base[:, k], a), 6) for k, a in enumerate(QUANTILES)],
            },
        }

    m = {"all": block(np.ones(len(ys), dtype=bool))}
    m["per_service"] = {s: block(svc_s == s) for s in sorted(np.unique(svc_s))}
    m["target_is_integer"] = bool(np.all(np.mod(table.y, 1) == 0))

    idx = common.sample_indices(lv[:, 1])
    Xr = Xv[idx]
    (orow,) = sess.run(None, {onnx_export.INPUT: Xr})
    samples = []
    for j in range(len(idx)):
        lg = {}
        for k, (a, b) in enumerate(zip(QUANTILES, boosters)):
            c = common.contributions(b, Xr[j:j + 1])[0]
            lg[f"q{int(a * 100)}"] = {"raw": float(b.predict(Xr[j:j + 1], raw_score=True)[0]),
                                      "prediction": float(b.predict(Xr[j:j + 1])[0]), **c}
        samples.append({"features": common.f32list(Xr[j]), "service": str(table.meta["service"][table.mask("valid")][idx[j]]),
                        "transit_days": float(yv[idx[j]]), "lightgbm": lg,
                        "onnxruntime": {OUTPUT: [float(v) for v in orow[j]]}})
    card = {
        "name": "eta", "version": version, "kind": "quantile_regressor",
        "onnx": info, "input": inputs[0], "outputs": outputs,
        "output_semantics": {OUTPUT: "columns are q10, q50, q90 of transit days; independent "
                                     "models, so a row may cross (see metrics.crossing_share): sort if monotone values are needed"},
        "quantiles": list(QUANTILES),
        "unit": "days",
        "features": common.feature_schema(table, docs),
        "training_data": common.training_data(table, world),
        "lightgbm": {"params": {f"q{int(a * 100)}": params(a) for a in QUANTILES}, "max_trees": MAX_TREES,
                     "num_trees": [b.num_trees() for b in boosters], "best_iteration": bests,
                     "raw_score": "identity: prediction == raw"},
        "onnx_layout": "one TreeEnsembleRegressor, n_targets=3; target k holds the trees of quantile k",
        "pinned": common.PINNED,
        "metrics": {"test": m, "parity_valid_max_abs_diff": parity},
        "reference_histograms": common.histograms(table),
        "reference_output_histograms": common.output_histograms(
            zip(("q10", "q50", "q90"), sess.run(None, {onnx_export.INPUT: table.part("train")[0]})[0].T)),
        "holdout": holdout(table, sess),
        "reference_sample": common.reference_sample(table, 2000),
        "samples": samples,
        "samples_note": "validation rows spread over the q50 range; per quantile, LightGBM raw, "
                        "prediction and pred_contrib (TreeSHAP, bias last: sum + bias == raw)",
    }
    common.write_card(out_dir, "eta", card)
    return card
