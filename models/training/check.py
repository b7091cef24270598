"""`train.py --check`: reload the shipped ONNX files with onnxruntime and hold
them to their cards (hash, input/output names and shapes, sample rows)."""

import hashlib
import json
import os

import numpy as np

import metrics
import onnx_export


def _expected(card):
    """(onnx output index, expected values, kind) per sample, from LightGBM's outputs."""
    rows = np.array([s["features"] for s in card["samples"]], dtype=np.float32)
    if card["kind"] == "binary_classifier":
        return rows, 1, lambda o: o[:, 1], [s["lightgbm"]["probability"] for s in card["samples"]], "probability"
    if card["kind"] == "quantile_regressor":
        keys = [f"q{int(a * 100)}" for a in card["quantiles"]]
        exp = [[s["lightgbm"][k]["prediction"] for k in keys] for s in card["samples"]]
        return rows, 0, lambda o: o, exp, "regression"
    return rows, 0, lambda o: o[:, 0], [s["lightgbm"]["prediction"] for s in card["samples"]], "regression"


# Outputs each card's reference_output_histograms names, in order.
OUTPUT_NAMES = {"binary_classifier": ["probability"], "quantile_regressor": ["q10", "q50", "q90"],
                "poisson_regressor": ["units"]}
HISTOGRAM_KEYS = {"feature", "cuts", "shares", "min", "max", "mean", "missing_share"}


def _histogram_problems(what, hists, names):
    """Each entry has the reference histogram's keys, len(shares) ==
    len(cuts) + 1, increasing cuts and shares summing to 1 (rounded to 6
    digits each)."""
    problems = []
    if [h.get("feature") for h in hists] != names:
        problems.append(f"{what} names {[h.get('feature') for h in hists]} != {names}")
    for h in hists:
        if set(h) != HISTOGRAM_KEYS:
            problems.append(f"{what} {h.get('feature')}: keys {sorted(h)} != {sorted(HISTOGRAM_KEYS)}")
            continue
        if len(h["shares"]) != len(h["cuts"]) + 1:
            problems.append(f"{what} {h['feature']}: {len(h['shares'])} shares for {len(h['cuts'])} cuts")
        if any(b <= a for a, b in zip(h["cuts"], h["cuts"][1:])):
            problems.append(f"{what} {h['feature']}: cuts not increasing")
        if abs(sum(h["shares"]) - 1) > 1e-5 or min(h["shares"]) < 0:
            problems.append(f"{what} {h['feature']}: shares sum to {sum(h['shares'])}")
    return problems


def _holdout_problems(card):
    """Rows as wide as the features (numbers or null), one label per row;
    fraud labels 0/1 with both classes present."""
    h = card.get("holdout")
    if not isinstance(h, dict) or not h.get("rows"):
        return ["no holdout rows"]
    problems = []
    width = len(card["features"])
    bad = [i for i, r in enumerate(h["rows"]) if len(r) != width]
    if bad:
        problems.append(f"holdout: {len(bad)} rows not {width} wide (first {bad[0]})")
    if any(v is not None and not isinstance(v, (int, float)) for r in h["rows"] for v in r):
        problems.append("holdout: a value is neither a number nor null")
    labels = h.get("labels", [])
    if len(labels) != len(h["rows"]):
        problems.append(f"holdout: {len(labels)} labels for {len(h['rows'])} rows")
    if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in labels):
        problems.append("holdout: a label is not a finite number")
    elif card["kind"] == "binary_classifier" and sorted(set(labels)) != [0, 1]:
        problems.append(f"holdout: binary labels are {sorted(set(labels))}, want both 0 and 1")
    return problems


def _holdout_metric_problems(card, sess):
    """The card's holdout metric, recomputed from this ONNX file's outputs."""
    h = card["holdout"]
    X = np.array([[np.nan if v is None else v for v in r] for r in h["rows"]], dtype=np.float32)
    y = np.array(h["labels"], dtype=np.float64)
    out = sess.run(None, {card["input"]["name"]: X})
    if card["kind"] == "binary_classifier":
        key, got = "auc", metrics.auc(y, out[1][:, 1].astype(np.float64))
    elif card["kind"] == "quantile_regressor":
        key, got = "mae_q50", float(np.abs(y - out[0][:, 1].astype(np.float64)).mean())
    else:
        key, got = "wape", metrics.wape(y, out[0][:, 0].astype(np.float64))
    want = h.get("metrics", {}).get(key)
    if want is None or abs(got - want) > 1e-5:
        return [f"holdout {key}: recomputed {got:.6f}, card says {want}"]
    return []


def check_one(root, name):
    problems = []
    card = json.load(open(os.path.join(root, "cards", f"{name}.json")))
    path = os.path.join(root, f"{name}.onnx")
    data = open(path, "rb").read()
    if hashlib.sha256(data).hexdigest() != card["onnx"]["sha256"]:
        problems.append("sha256 differs from the card")
    sess = onnx_export.session(data)
    inputs, outputs = onnx_export.describe(sess)
    if inputs != [card["input"]]:
        problems.append(f"inputs {inputs} != card {card['input']}")
    if outputs != card["outputs"]:
        problems.append(f"outputs {outputs} != card {card['outputs']}")
    if card["input"]["shape"][1] != len(card["features"]):
        problems.append("input width != number of features in the card")
    meta = sess.get_modelmeta().custom_metadata_map
    if meta.get("allot.version") != card["version"]:
        problems.append(f"ONNX metadata version {meta.get('allot.version')} != card {card['version']}")
    rows, out_idx, pick, expected, kind = _expected(card)
    got = pick(sess.run(None, {card["input"]["name"]: rows})[out_idx])
    ok, worst, bad = onnx_export.within(got, expected, kind)
    if not ok:
        problems.append(f"{bad} sample outputs out of tolerance (max diff {worst:.3g})")
    problems += _histogram_problems("reference_histograms", card.get("reference_histograms", []),
                                    [f["name"] for f in card["features"]])
    problems += _histogram_problems("reference_output_histograms", card.get("reference_output_histograms", []),
                                    OUTPUT_NAMES[card["kind"]])
    holdout = _holdout_problems(card)
    problems += holdout
    if not holdout:
        problems += _holdout_metric_problems(card, sess)
    missing = card.get("samples_missing", [])
    if missing:
        # rows with NaN (null) features: ONNX Runtime must take LightGBM's
        # missing-value directions
        rows = np.array([[np.nan if v is None else v for v in s["features"]] for s in missing], dtype=np.float32)
        got = sess.run(None, {card["input"]["name"]: rows})[1][:, 1]
        ok, w, bad = onnx_export.within(got, [s["lightgbm"]["probability"] for s in missing], "probability")
        worst = max(worst, w)
        if not ok:
            problems.append(f"{bad} samples_missing outputs out of tolerance (max diff {w:.3g})")
    # each sample's contributions must add up to its raw score
    for s in card["samples"] + missing:
        parts = s["lightgbm"].values() if card["kind"] == "quantile_regressor" else [s["lightgbm"]]
        for p in parts:
            total = sum(p["contributions"]) + p["bias"]
            if abs(total - p["raw"]) > 1e-6 * max(1.0, abs(p["raw"])):
                problems.append(f"contributions sum {total} != raw {p['raw']}")
    return card, worst, problems


def run(root):
    passed = failed = 0
    for name in ("fraud", "eta", "demand"):
        try:
            card, worst, problems = check_one(root, name)
        except Exception as e:  # a missing or unreadable file is a failure, not a crash
            card, worst, problems = {"version": "?"}, float("nan"), [repr(e)]
        if problems:
            failed += 1
            print(f"FAIL {name} {card['version']}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"ok   {name} {card['version']}: {len(card['samples'])} samples, max diff {worst:.3g}, "
                  f"{len(card['holdout']['rows'])} holdout rows")
    print(f"check: {passed} passed, {failed} failed")
    return failed == 0
