"""Makes the tiny LightGBM fixtures for allot-models' TreeSHAP tests:
model text (`save_model`), a few rows (NaN as null) and LightGBM's own
raw scores and pred_contrib for them.

    /path/to/venv/bin/python make_fixtures.py OUT_DIR   # lightgbm 4.7.0, numpy
"""
import json, sys
import numpy as np
import lightgbm as lgb

out = sys.argv[1]
rng = np.random.default_rng(7)
n, f = 2000, 6
X = rng.normal(size=(n, f)).astype(np.float32)
X[:, 3] = rng.integers(0, 4, size=n)          # small integer feature, many zeros
X[rng.random(n) < 0.15, 2] = np.nan           # NaN-missing feature
logit = 1.5 * X[:, 0] - X[:, 1] * X[:, 3] + np.where(np.isnan(X[:, 2]), 1.0, 0.5 * np.nan_to_num(X[:, 2])) - 0.5
y_bin = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
y_reg = 3 * X[:, 0] + np.where(X[:, 3] == 0, 2.0, X[:, 3]) + rng.normal(size=n)

rows = X[:12].copy()
rows[0, 2] = np.nan
rows[1, 3] = 0.0
rows[2, 2] = np.nan
rows[2, 3] = 0.0
rows[3, 0] = np.nan   # NaN in a feature without NaN-missing splits: LightGBM treats it as 0

def dump(name, params, y):
    ds = lgb.Dataset(X, label=y, params={"verbose": -1})
    b = lgb.train({**params, "verbose": -1, "num_leaves": 8, "learning_rate": 0.2,
                   "min_data_in_leaf": 20, "seed": 1, "deterministic": True,
                   "num_threads": 1}, ds, num_boost_round=12)
    b.save_model(f"{out}/{name}.lgb.txt")
    raw = b.predict(rows, raw_score=True)
    contrib = b.predict(rows, pred_contrib=True)
    assert np.allclose(contrib.sum(axis=1), raw, atol=1e-9)
    enc = lambda r: [None if np.isnan(v) else float(v) for v in r]
    with open(f"{out}/{name}.rows.json", "w") as fh:
        json.dump({"lightgbm_version": lgb.__version__,
                   "rows": [enc(r) for r in rows],
                   "raw_score": [float(v) for v in raw],
                   "pred_contrib": [[float(v) for v in c] for c in contrib]}, fh, indent=1)
        fh.write("\n")

dump("tiny_binary", {"objective": "binary"}, y_bin)
dump("tiny_regression_zero_missing", {"objective": "regression", "zero_as_missing": True}, y_reg)
