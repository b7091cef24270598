"""Makes the tiny ONNX fixtures (and their model cards, in the shape
models/training writes) for allot-models' scoring tests.

    /path/to/venv/bin/python make_fixtures.py OUT_DIR

Needs lightgbm, onnxmltools, onnx, onnxruntime (models/training/requirements.txt)
and imports models/training/onnx_export.py, so the fixtures go through the same
conversion as the shipped models."""
import hashlib, json, os, sys
import numpy as np
import lightgbm as lgb

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "training"))
import onnx_export  # noqa: E402

out = sys.argv[1]
rng = np.random.default_rng(11)
n, f = 3000, 5
names = [f"f{i}" for i in range(f)]
X = rng.normal(size=(n, f)).astype(np.float32)
X[:, 4] = rng.integers(0, 4, size=n)
logit = 1.2 * X[:, 0] - X[:, 1] * X[:, 4] + 0.5 * X[:, 2] - 1.0
y_bin = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
y_reg = 2.0 + 3 * np.abs(X[:, 0]) + X[:, 4] + rng.gamma(2.0, 0.5, size=n)
y_cnt = rng.poisson(np.exp(0.3 * X[:, 0] + 0.2 * X[:, 4]))
rows = X[:8]


def fit(params, y):
    ds = lgb.Dataset(X, label=y, feature_name=names, params={"verbose": -1})
    return lgb.train({**params, "verbose": -1, "num_leaves": 8, "learning_rate": 0.2, "min_data_in_leaf": 20,
                      "seed": 1, "deterministic": True, "num_threads": 1}, ds, num_boost_round=10)


def export(model, name):
    data, version = onnx_export.finalize(model, name, "fixture", f"allot-models test fixture: {name}")
    with open(os.path.join(out, f"{name}.onnx"), "wb") as fh:
        fh.write(data)
    sess = onnx_export.session(data)
    inputs, outputs = onnx_export.describe(sess)
    return sess, version, inputs, outputs, hashlib.sha256(data).hexdigest()


def card(name, kind, version, inputs, outputs, samples, **extra):
    c = {"name": name, "version": version, "kind": kind, "input": inputs[0], "outputs": outputs,
         "features": [{"index": i, "name": n_, "type": "f32"} for i, n_ in enumerate(names)],
         **extra, "samples": samples}
    os.makedirs(os.path.join(out, "cards"), exist_ok=True)
    with open(os.path.join(out, "cards", f"{name}.json"), "w") as fh:
        json.dump(c, fh, indent=1)
        fh.write("\n")


def contrib(b, r):
    c = b.predict(r, pred_contrib=True)
    return [{"contributions": [float(v) for v in x[:-1]], "bias": float(x[-1])} for x in c]


f32 = lambda r: [float(np.float32(v)) for v in r]

# fraud: binary classifier
b = fit({"objective": "binary"}, y_bin)
sess, version, i, o, _ = export(onnx_export.convert(b, f), "fraud")
_, probs = sess.run(None, {onnx_export.INPUT: rows})
raw, prob, cs = b.predict(rows, raw_score=True), b.predict(rows), contrib(b, rows)
card("fraud", "binary_classifier", version, i, o,
     [{"features": f32(rows[j]), "lightgbm": {"raw": float(raw[j]), "probability": float(prob[j]), **cs[j]},
       "onnxruntime": {"probability": float(probs[j, 1])}} for j in range(len(rows))],
     thresholds={"review": {"score_at_least": 0.5}, "reject": {"score_at_least": 0.9}})
b.save_model(os.path.join(out, "fraud.lgb.txt"))

# eta: three quantile regressors merged into one graph
qs = (0.1, 0.5, 0.9)
bs = [fit({"objective": "quantile", "alpha": a}, y_reg) for a in qs]
merged = onnx_export.merge_regressors([onnx_export.convert(x, f) for x in bs], "quantiles")
sess, version, i, o, _ = export(merged, "eta")
(orow,) = sess.run(None, {onnx_export.INPUT: rows})
samples = []
for j in range(len(rows)):
    lg = {f"q{int(a * 100)}": {"raw": float(x.predict(rows[j:j + 1], raw_score=True)[0]),
                               "prediction": float(x.predict(rows[j:j + 1])[0]), **contrib(x, rows[j:j + 1])[0]}
          for a, x in zip(qs, bs)}
    samples.append({"features": f32(rows[j]), "lightgbm": lg, "onnxruntime": {"quantiles": [float(v) for v in orow[j]]}})
card("eta", "quantile_regressor", version, i, o, samples, quantiles=list(qs), unit="days")

# demand: Poisson regressor
b = fit({"objective": "poisson"}, y_cnt)
sess, version, i, o, _ = export(onnx_export.convert(b, f), "demand")
(orow,) = sess.run(None, {onnx_export.INPUT: rows})
raw, pred, cs = b.predict(rows, raw_score=True), b.predict(rows), contrib(b, rows)
card("demand", "poisson_regressor", version, i, o,
     [{"features": f32(rows[j]), "lightgbm": {"raw": float(raw[j]), "prediction": float(pred[j]), **cs[j]},
       "onnxruntime": {"variable": float(orow[j, 0])}} for j in range(len(rows))])
print("fixtures written to", out)
