"""`train.py --check`: reload the shipped ONNX files with onnxruntime and hold
them to their cards (hash, input/output names and shapes, sample rows)."""

import hashlib
import json
import os

import numpy as np

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
    # each sample's contributions must add up to its raw score
    for s in card["samples"]:
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
            print(f"ok   {name} {card['version']}: {len(card['samples'])} samples, max diff {worst:.3g}")
    print(f"check: {passed} passed, {failed} failed")
    return failed == 0
