"""Demand: LightGBM Poisson regressor of units per SKU x region x day, as a
correction of the 7-day moving average.

The trees model log(units / (lag_7d_mean + LEVEL_EPS)): the moving average
is the offset (LightGBM's init_score in training, an Add before the Exp in
the ONNX graph), so a series' level comes from its own last week and the
trees learn only what moves a day away from it (weekday, promotion, price,
season, yesterday's sales), which carries over to series, regions and
worlds the training world never had.
"""

import datetime as dt
import re

import numpy as np

import common
import metrics
import onnx_export

MAX_TREES = 800
# the demand model's release (common.RELEASE names the others)
RELEASE = "2026.12.1"
PARAMS = common.base_params(
    objective="poisson", metric=["poisson", "l1"], learning_rate=0.02, num_leaves=7,
    min_data_in_leaf=200, feature_fraction=0.9, lambda_l2=1.0)
# the offset: log(lag_7d_mean + LEVEL_EPS); a missing mean counts as 0
LEVEL = "lag_7d_mean"
LEVEL_EPS = 0.5
# the seasonal-naive baseline: units on the same weekday one week earlier
HOLDOUT_ROWS = 2000  # labelled test rows in the card: actual units
NAIVE = r"lag_same_weekday|lag_?7d?$|units_lag_?7|same_weekday"

# What the previous release (demand-2026.11.1-c42a82a6: week_of_year and
# region as features, no offset, 124 trees) measured, for the report's
# before/after paragraph: the training world's test split, and the unseen
# worlds' valid and test days (models/training/evaluate). Holiday weeks as
# in `holiday_weeks`.
PREVIOUS = {
    "version": "demand-2026.11.1-c42a82a6",
    "features": "category, region, weekday, week_of_year, is_promo, price, lag_7d_mean, lag_same_weekday, is_peak",
    "test": {"wape": 0.5688, "moving_average_wape": 0.6085, "bias": -0.0913, "holiday_bias": {"christmas_weeks": -0.1603}},
    "unseen": {
        11: {"wape": 0.5628, "bias": -0.2751, "holiday_bias": {"black_friday_cyber_week": -0.0886, "christmas_weeks": -0.2593}},
        23: {"wape": 0.5487, "bias": -0.2145, "holiday_bias": {"black_friday_cyber_week": -0.1021, "christmas_weeks": -0.211}},
        31: {"wape": 0.5681, "bias": -0.1981, "holiday_bias": {"black_friday_cyber_week": -0.0928, "christmas_weeks": -0.1946}},
        47: {"wape": 0.5663, "bias": -0.2066, "holiday_bias": {"black_friday_cyber_week": -0.0638, "christmas_weeks": -0.1568}},
        59: {"wape": 0.5575, "bias": -0.2406, "holiday_bias": {"black_friday_cyber_week": -0.109, "christmas_weeks": -0.2216}},
    },
}


def naive_column(features):
    if "lag_same_weekday" in features:
        return features.index("lag_same_weekday")
    for i, f in enumerate(features):
        if re.search(NAIVE, f):
            return i
    raise SystemExit(f"demand: no seasonal-naive column matching {NAIVE!r} in {features}")


def level_column(features):
    return features.index(LEVEL) if LEVEL in features else None


def offset_of(features):
    """The init_score function of a table with these features (None when
    it has no moving-average column: a plain Poisson model)."""
    col = level_column(features)
    if col is None:
        return None
    return lambda X: onnx_export.log_offset(X, col, LEVEL_EPS)


def predict(booster, X, offset):
    """Expected units: exp(trees + offset), what the ONNX graph computes."""
    raw = booster.predict(X, raw_score=True)
    return np.exp(raw + (offset(X) if offset else 0.0))


def holiday_weeks(dates):
    """Row masks of the holiday weeks, by name, for dates as 'YYYY-MM-DD'
    strings: Black Friday's week through Cyber Monday (Monday before Black
    Friday to the Monday after), and the Christmas weeks (the week of
    December 25 and the week after, to the first Sunday of January)."""
    d = np.array([dt.date.fromisoformat(s) for s in dates]) if len(dates) else np.array([])
    out = {}
    for year in sorted({x.year for x in d}):
        thanks = dt.date(year, 11, 1)
        thanks += dt.timedelta(days=(3 - thanks.weekday()) % 7 + 21)  # fourth Thursday
        bf = thanks + dt.timedelta(days=1)
        monday = bf - dt.timedelta(days=bf.weekday())
        xmas = dt.date(year, 12, 25)
        xmas_monday = xmas - dt.timedelta(days=xmas.weekday())
        for name, lo, hi in (("black_friday_cyber_week", monday, bf + dt.timedelta(days=3)),
                             ("christmas_weeks", xmas_monday, xmas_monday + dt.timedelta(days=13))):
            m = np.array([lo <= x <= hi for x in d], dtype=bool)
            out[name] = out[name] | m if name in out else m
    return {k: v for k, v in out.items() if v.any()}


def bias(y, p):
    return float(np.sum(p) / max(1e-12, float(np.sum(y))) - 1)


def holiday_bias(y, p, dates):
    """Bias (sum predicted / sum actual - 1) on each holiday week present,
    with rows and units."""
    if dates is None:
        return {}
    return {k: {"rows": int(m.sum()), "units": float(y[m].sum()), "bias": round(bias(y[m], p[m]), 6),
                "wape": round(metrics.wape(y[m], p[m]), 6)}
            for k, m in holiday_weeks(dates).items()}


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
    offset = offset_of(table.features)
    booster, best = common.fit(PARAMS, table, MAX_TREES, offset=offset)
    model = onnx_export.convert(booster, len(table.features))
    if offset:
        onnx_export.add_log_offset(model, level_column(table.features), LEVEL_EPS)
    sess, version, inputs, outputs, info = common.export(
        model, "demand", out_dir, "allot demand: expected units per SKU x region x day", release=RELEASE)
    Xv, yv = table.part("valid")
    pv = predict(booster, Xv, offset)
    (ov,) = sess.run(None, {onnx_export.INPUT: Xv})
    parity = common.assert_parity("demand valid units", ov[:, 0], pv, "regression")

    Xs, ys = table.part("test")
    ps = predict(booster, Xs, offset)
    dates = table.meta["date"][table.mask("test")] if "date" in table.meta else None
    nc = naive_column(table.features)
    naive = Xs[:, nc].astype(np.float64)
    if not np.isfinite(naive).all():
        # rows without a week of history: score model and baselines on the rest
        keep = np.isfinite(naive)
        print(f"  demand: {int((~keep).sum())} test rows lack {table.features[nc]}; metrics use the other {int(keep.sum())}")
        Xs, ys, ps, naive = Xs[keep], ys[keep], ps[keep], naive[keep]
        dates = dates[keep] if dates is not None else None
    m = {"test_rows": int(len(ys)), "test_units": float(ys.sum()),
         "wape": round(metrics.wape(ys, ps), 6),
         "bias": round(bias(ys, ps), 6),
         "mae": round(float(np.abs(ys - ps).mean()), 6),
         "holiday_weeks": holiday_bias(ys, ps, dates),
         "seasonal_naive": {"column": table.features[nc], "wape": round(metrics.wape(ys, naive), 6),
                            "mae": round(float(np.abs(ys - naive).mean()), 6)}}
    if LEVEL in table.features:
        ma = Xs[:, table.features.index(LEVEL)].astype(np.float64)
        m["moving_average_7d"] = {"column": LEVEL, "wape": round(metrics.wape(ys, ma), 6),
                                  "mae": round(float(np.abs(ys - ma).mean()), 6),
                                  "bias": round(bias(ys, ma), 6),
                                  "holiday_weeks": holiday_bias(ys, ma, dates)}

    mav = Xv[:, table.features.index(LEVEL)].astype(np.float64) if LEVEL in table.features else None
    valid = {"wape": round(metrics.wape(yv, pv), 6), "bias": round(bias(yv, pv), 6)}
    if mav is not None:
        valid.update({"moving_average_wape": round(metrics.wape(yv, mav), 6),
                      "moving_average_bias": round(bias(yv, mav), 6)})

    idx = common.sample_indices(pv)
    Xr = Xv[idx]
    raw = booster.predict(Xr, raw_score=True)
    off = offset(Xr) if offset else np.zeros(len(idx))
    pred = predict(booster, Xr, offset)
    contrib = common.contributions(booster, Xr)
    (orow,) = sess.run(None, {onnx_export.INPUT: Xr})
    samples = [{"features": common.f32list(Xr[j]), "units": float(yv[idx[j]]),
                "lightgbm": {"raw": float(raw[j]), "offset": float(off[j]), "prediction": float(pred[j]),
                             **contrib[j]},
                "onnxruntime": {"variable": float(orow[j, 0])}} for j in range(len(idx))]
    raw_score = ("log of expected units; prediction = exp(raw)" if not offset else
                 f"log(expected units / ({LEVEL} + {LEVEL_EPS})), a missing {LEVEL} counting as 0; "
                 f"prediction = exp(raw + offset), offset = log({LEVEL} + {LEVEL_EPS}) (in the ONNX graph)")
    card = {
        "name": "demand", "version": version, "kind": "poisson_regressor",
        "onnx": info, "input": inputs[0], "outputs": outputs,
        "output_semantics": {"variable": "expected units (exp of the raw score plus the offset)"},
        "unit": "units per SKU x region x day",
        "features": common.feature_schema(table, docs),
        "training_data": common.training_data(table, world),
        "lightgbm": {"params": PARAMS, "max_trees": MAX_TREES, "num_trees": booster.num_trees(),
                     "best_iteration": best, "raw_score": raw_score,
                     **({"offset": {"feature": LEVEL, "index": level_column(table.features), "eps": LEVEL_EPS,
                                    "missing_as": 0.0}} if offset else {})},
        "pinned": common.PINNED,
        "metrics": {"test": m, "valid": valid, "parity_valid_max_abs_diff": parity},
        "previous": PREVIOUS,
        "reference_histograms": common.histograms(table),
        "reference_output_histograms": common.output_histograms(
            [("units", sess.run(None, {onnx_export.INPUT: table.part("train")[0]})[0][:, 0])]),
        "holdout": holdout(table, sess),
        "samples": samples,
        "samples_note": "validation rows spread over the prediction range; contributions are "
                        "pred_contrib (TreeSHAP) in raw log space, bias last: sum + bias == raw; "
                        "prediction = exp(raw + offset)",
    }
    common.write_card(out_dir, "demand", card)
    return card
