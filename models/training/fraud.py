"""Fraud: a LightGBM binary classifier, its thresholds and the rule baseline."""

import os
import re

import numpy as np

import common
import metrics
import onnx_export

# A fixed number of trees, no early stopping: validation (the weeks before
# the peak) has other campaigns than training, and its loss stopped the
# boosting after 8-30 trees, too few to split velocity beyond 0 vs more.
MAX_TREES = 150
# Velocity counts can only make an order more suspicious: the score never
# falls as one of these grows. Without the constraint the trees split card
# velocity at 0 vs more and nothing above (a card's 10th order of the day
# scored like its 2nd); with it, every split the data supports is kept in
# the rising direction. The order of FEATURES is the serving order.
INCREASING = ("device_orders_1h", "device_orders_24h", "device_customers_24h", "card_orders_24h",
              "card_addresses_7d", "address_orders_24h", "address_customers_7d")
FEATURES = ("order_amount", "line_count", "unit_count", "max_resale_risk", "high_resale_share",
            "service_speed", "ship_bill_distance_km", "account_age_days", "customer_orders_24h",
            "customer_orders_7d", "customer_amount_7d", "device_orders_1h", "device_orders_24h",
            "device_customers_24h", "card_orders_24h", "card_addresses_7d", "address_orders_24h",
            "address_customers_7d", "customer_return_rate", "hour_local", "is_weekend")
PARAMS = common.base_params(
    objective="binary", metric=["binary_logloss", "auc"], first_metric_only=True, learning_rate=0.05, num_leaves=15,
    min_data_in_leaf=100, feature_fraction=0.9, lambda_l2=1.0,
    monotone_constraints=[int(f in INCREASING) for f in FEATURES],
    monotone_constraints_method="intermediate")
REVIEW_RATE = 0.02
REJECT_RATE = 0.002
REJECT_PRECISION = 0.9
HOLDOUT_ROWS = 4000  # labelled test rows in the card (the server's quality gate)

# The hand-written baseline an analyst would deploy without a model: one point
# per red flag; rows are ranked by points, then by order value. A flag whose
# column is absent from the table is left out. "pXX" thresholds are
# training-split quantiles of that column.
RULE = [
    ("account_age_days", "<", 7.0),          # new account
    ("order_amount", ">=", "p90"),           # high value
    ("service_speed", ">=", 2.0),            # overnight or same-day
    ("high_resale_share", ">=", 0.5),        # mostly high-resale SKUs
    ("ship_bill_distance_km", ">=", "p95"),  # ships far from the billing address
    ("device_orders_24h", ">=", 2.0),        # device velocity
    ("device_customers_24h", ">=", 2.0),     # several customers on one device
    ("card_orders_24h", ">=", 2.0),          # card velocity
    ("card_addresses_7d", ">=", 2.0),        # one card, several shipping addresses
    ("address_customers_7d", ">=", 3.0),     # reshipper-like address
]
TIEBREAK = "order_amount"


def rule_baseline(table):
    Xt, _ = table.part("train")
    used = []
    for col, op, thr in RULE:
        if col not in table.features:
            continue
        i = table.features.index(col)
        if isinstance(thr, str):
            thr = float(np.quantile(Xt[:, i], int(thr[1:]) / 100))
        used.append((col, i, op, float(thr)))
    tb = table.features.index(TIEBREAK) if TIEBREAK in table.features else None

    def score(X):
        pts = np.zeros(len(X))
        for _, i, op, thr in used:
            pts += (X[:, i] < thr) if op == "<" else (X[:, i] >= thr)
        return pts, (X[:, tb] if tb is not None else None)

    text = " + ".join(f"[{c} {op} {thr:.4g}]" for c, _, op, thr in used)
    text = f"points = {text}; rank by points, ties by {TIEBREAK if tb is not None else 'row order'}"
    return score, text, used


def thresholds(valid_score, yv):
    review = metrics.threshold_at_rate(valid_score, REVIEW_RATE)
    # reject: never more than 0.2% of orders and never below precision 0.9 on
    # validation: the higher of the 0.2%-rate score and the lowest score whose
    # flagged set has precision >= 0.9 (with >= 10 frauds flagged). Everything
    # between review and reject goes to a person.
    rate_thr = metrics.threshold_at_rate(valid_score, REJECT_RATE)
    order = np.argsort(-valid_score, kind="mergesort")
    s, y = valid_score[order], yv[order] > 0.5
    tp = np.cumsum(y)
    prec = tp / np.arange(1, len(s) + 1)
    ok = np.where((prec >= REJECT_PRECISION) & (tp >= 10))[0]
    ok = [k for k in ok if k + 1 == len(s) or s[k + 1] < s[k]]  # cut between distinct scores
    if ok:
        prec_thr = float(s[max(ok)])
        if rate_thr >= prec_thr:
            reject, method = rate_thr, (f"score giving a {REJECT_RATE:.1%} reject rate on validation "
                                        f"(precision >= {REJECT_PRECISION} is already reached at {prec_thr:.5g})")
        else:
            reject, method = prec_thr, (f"lowest validation score with precision >= {REJECT_PRECISION} "
                                        f"(above the {REJECT_RATE:.1%}-rate score {rate_thr:.5g})")
    else:
        reject, method = rate_thr, (f"score giving a {REJECT_RATE:.1%} reject rate on validation; "
                                    f"no point reaches precision {REJECT_PRECISION}")
    reject = max(reject, review)
    out = {}
    for name, t in (("review", review), ("reject", reject)):
        f = valid_score >= t
        p, r = metrics.precision_recall(yv, f)
        out[name] = {"score_at_least": t, "valid_rate": round(float(f.mean()), 6),
                     "valid_precision": round(p, 6), "valid_recall": round(r, 6)}
    out["review"]["method"] = f"score giving a {REVIEW_RATE:.0%} review rate on validation"
    out["reject"]["method"] = method
    out["decision"] = "REJECT if p >= reject.score_at_least, else REVIEW if p >= review.score_at_least, else APPROVE"
    return out


def sample_rows(booster, sess, X, y, score, mask, n):
    """Up to `n` rows of `mask`, spread over the score range: exact f32
    features (NaN as null), LightGBM's raw score, probability and
    pred_contrib, and ONNX Runtime's probability."""
    if not mask.any():
        return []
    where = np.flatnonzero(mask)
    idx = where[list(dict.fromkeys(common.sample_indices(score[where], n)))]
    Xr = X[idx]
    raw = booster.predict(Xr, raw_score=True)
    prob = booster.predict(Xr)
    contrib = common.contributions(booster, Xr)
    _, oprob = sess.run(None, {onnx_export.INPUT: Xr})
    return [{"features": [None if v is None or not np.isfinite(v) else v for v in common.f32list(Xr[j])],
             "label": int(y[idx[j]]),
             "lightgbm": {"raw": float(raw[j]), "probability": float(prob[j]), **contrib[j]},
             "onnxruntime": {"probability": float(oprob[j, 1])}} for j in range(len(idx))]


def holdout(table, sess):
    """The card's labelled test rows (label 1 = fraud) and what this model
    scores on them (ONNX Runtime), for the server's quality gate."""
    h = common.holdout(table, HOLDOUT_ROWS, label=lambda v: int(v > 0.5))
    X = np.array([[np.nan if v is None else v for v in r] for r in h["rows"]], dtype=np.float32)
    p = sess.run(None, {onnx_export.INPUT: X})[1][:, 1].astype(np.float64)
    y = np.array(h["labels"])
    flags = metrics.top_k_flags(p, REVIEW_RATE)
    h["metrics"] = {"auc": round(metrics.auc(y, p), 6), "fraud_rate": round(float(y.mean()), 6),
                    "precision_at_2pct": round(metrics.precision_recall(y, flags)[0], 6)}
    return h


VELOCITY_SETS = (("card_orders_24h",), ("device_orders_24h",), ("card_orders_24h", "device_orders_24h"))
VELOCITY_COUNTS = tuple(range(11))
VELOCITY_ROWS = 2000


def velocity_effect(table, sess, review):
    """Partial dependence of the score on card and device velocity: legitimate
    test orders (evenly spaced, up to VELOCITY_ROWS) with the feature (or
    both) set to 0..10, everything else as placed. For each count, the mean
    P(fraud) and the share of those orders at or above the review threshold."""
    Xs, ys = table.part("test")
    legit = Xs[ys < 0.5]
    base = legit[np.linspace(0, len(legit) - 1, min(VELOCITY_ROWS, len(legit))).astype(int)]
    curves = []
    for names in VELOCITY_SETS:
        cols = [table.features.index(n) for n in names]
        mean, review_share = [], []
        for k in VELOCITY_COUNTS:
            X = base.copy()
            X[:, cols] = k
            p = sess.run(None, {onnx_export.INPUT: X})[1][:, 1].astype(np.float64)
            mean.append(round(float(p.mean()), 6))
            review_share.append(round(float((p >= review).mean()), 6))
        curves.append({"features": list(names), "mean_probability": mean, "review_share": review_share})
    return {"rows": int(len(base)), "counts": list(VELOCITY_COUNTS), "curves": curves}


def train(table, world, docs, out_dir):
    if tuple(table.features) != FEATURES:
        raise SystemExit(f"fraud: the table's features {table.features} are not fraud.FEATURES")
    print(f"fraud: {table.counts()} rows, {len(table.features)} features, "
          f"fraud rate {table.y.mean():.4f}")
    booster, best = common.fit(PARAMS, table, MAX_TREES, early_stop=None)
    # The LightGBM text model (same trees as fraud.onnx): the Rust TreeSHAP
    # reads node counts from it to explain scores (models/src/shap).
    booster.save_model(os.path.join(out_dir, "fraud.lgb.txt"))
    model = onnx_export.convert(booster, len(table.features))
    sess, version, inputs, outputs, info = common.export(
        model, "fraud", out_dir, "allot fraud classifier: probabilities[:, 1] = P(fraud)")
    Xv, yv = table.part("valid")
    Xs, ys = table.part("test")
    pv = booster.predict(Xv)
    label, probs = sess.run(None, {onnx_export.INPUT: Xv})
    parity = common.assert_parity("fraud valid P(fraud)", probs[:, 1], pv, "probability")
    if not np.array_equal(label, (probs[:, 1] > 0.5).astype(np.int64)):
        print("  note: label output differs from p > 0.5 on some rows (ties at 0.5)")

    th = thresholds(pv, yv)
    ps = booster.predict(Xs)
    rule_score, rule_text, _ = rule_baseline(table)
    pts_s, tb_s = rule_score(Xs)
    model_flags = metrics.top_k_flags(ps, REVIEW_RATE)
    rule_flags = metrics.top_k_flags(pts_s, REVIEW_RATE, tb_s)
    mp, mr = metrics.precision_recall(ys, model_flags)
    rp, rr = metrics.precision_recall(ys, rule_flags)
    thr_flags = ps >= th["review"]["score_at_least"]
    tp_, tr_ = metrics.precision_recall(ys, thr_flags)
    rej = ps >= th["reject"]["score_at_least"]
    jp, jr = metrics.precision_recall(ys, rej)
    rule_natural = pts_s >= 2
    np_, nr_ = metrics.precision_recall(ys, rule_natural)
    m = {
        "test_rows": int(len(ys)), "test_fraud_rate": round(float(ys.mean()), 6),
        "auc": round(metrics.auc(ys, ps), 6),
        "precision_at_2pct": round(mp, 6), "recall_at_2pct": round(mr, 6),
        "at_review_threshold": {"rate": round(float(thr_flags.mean()), 6), "precision": round(tp_, 6), "recall": round(tr_, 6)},
        "at_reject_threshold": {"rate": round(float(rej.mean()), 6), "precision": round(jp, 6), "recall": round(jr, 6)},
        "rule_baseline": {"rule": rule_text, "auc": round(metrics.auc(ys, pts_s + 1e-9 * (tb_s if tb_s is not None else 0)), 6),
                          "precision_at_2pct": round(rp, 6), "recall_at_2pct": round(rr, 6),
                          "at_2_points": {"rate": round(float(rule_natural.mean()), 6), "precision": round(np_, 6), "recall": round(nr_, 6)}},
        "velocity_effect": velocity_effect(table, sess, th["review"]["score_at_least"]),
        "valid_logloss": round(float(-np.mean(yv * np.log(np.clip(pv, 1e-15, 1)) + (1 - yv) * np.log(np.clip(1 - pv, 1e-15, 1)))), 6),
    }

    # samples: rows without missing values (the serving card parser reads
    # them as f32); samples_missing: rows with some (guest orders, no
    # account age), NaN as null, to hold TreeSHAP and ONNX to LightGBM's
    # missing-value directions.
    complete = np.isfinite(Xv).all(axis=1)
    samples = sample_rows(booster, sess, Xv, yv, pv, complete, 8)
    samples_missing = sample_rows(booster, sess, Xv, yv, pv, ~complete, 6)
    card = {
        "name": "fraud", "version": version, "kind": "binary_classifier",
        "onnx": info, "input": inputs[0], "outputs": outputs,
        "output_semantics": {"probabilities": "column 1 is P(fraud); column 0 is 1 - P(fraud)",
                             "label": "1 when P(fraud) > 0.5 (not used for decisions)"},
        "features": common.feature_schema(table, docs),
        "training_data": common.training_data(table, world),
        "lightgbm": {"params": PARAMS, "max_trees": MAX_TREES, "num_trees": booster.num_trees(),
                     "best_iteration": best, "raw_score": "log-odds; P = 1 / (1 + exp(-raw))"},
        "pinned": common.PINNED,
        "metrics": {"test": m, "parity_valid_max_abs_diff": parity},
        "thresholds": th,
        "reference_histograms": common.histograms(table),
        "reference_output_histograms": common.output_histograms(
            [("probability", sess.run(None, {onnx_export.INPUT: table.part("train")[0]})[1][:, 1])]),
        "holdout": holdout(table, sess),
        "reference_sample": common.reference_sample(table, 2000),
        "samples": samples,
        "samples_note": "validation rows spread over the score range; contributions are "
                        "LightGBM pred_contrib (TreeSHAP) in raw log-odds space, bias last, "
                        "sum(contributions) + bias == raw",
        "samples_missing": samples_missing,
        "samples_missing_note": "as samples, for validation rows with a missing value (guest "
                                "orders: account_age_days is null = NaN)",
    }
    common.write_card(out_dir, "fraud", card)
    return card
