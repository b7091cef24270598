"""What the three trainers share: LightGBM settings, the export-and-parity
step, and the model card's common parts."""

import json
import os
import re

import lightgbm as lgb
import numpy as np
import onnx
import onnxmltools
import onnxruntime

import metrics
import onnx_export

# Bump when features, params or the world change in a way worth a new name;
# the version's hash suffix changes whenever the trees change anyway.
RELEASE = "2026.11.1"
SEED = 7
THREADS = 1  # with deterministic=True the trees depend on the thread count: keep it fixed

PINNED = {
    "lightgbm": lgb.__version__,
    "onnxmltools": onnxmltools.__version__,
    "onnx": onnx.__version__,
    "onnxruntime": onnxruntime.__version__,
    "numpy": np.__version__,
}


def base_params(**kw):
    p = dict(seed=SEED, deterministic=True, force_col_wise=True, num_threads=THREADS,
             verbose=-1, max_bin=255, feature_fraction_seed=SEED, bagging_seed=SEED,
             data_random_seed=SEED)
    p.update(kw)
    return p


def fit(params, table, max_trees, early_stop=30, offset=None):
    """`offset(X)`, when given, is each row's init_score (a fixed part of
    the raw score the trees add to; LightGBM's own predictions leave it
    out)."""
    Xt, yt = table.part("train")
    Xv, yv = table.part("valid")
    init = (lambda X: offset(X)) if offset else (lambda X: None)
    dtrain = lgb.Dataset(Xt, yt, feature_name=table.features, free_raw_data=False, init_score=init(Xt))
    dvalid = lgb.Dataset(Xv, yv, reference=dtrain, init_score=init(Xv))
    callbacks = [lgb.early_stopping(early_stop, verbose=False)] if early_stop else []
    booster = lgb.train(params, dtrain, num_boost_round=max_trees, valid_sets=[dvalid],
                        callbacks=callbacks)
    # keep only the best iteration so ONNX, pred_contrib and predict agree on the trees
    best = (booster.best_iteration if early_stop else 0) or booster.current_iteration()
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return booster, best


def export(model, name, out_dir, doc, release=RELEASE):
    data, version = onnx_export.finalize(model, name, release, doc)
    path = os.path.join(out_dir, f"{name}.onnx")
    with open(path, "wb") as f:
        f.write(data)
    sess = onnx_export.session(data)
    inputs, outputs = onnx_export.describe(sess)
    info = {
        "file": f"models/{name}.onnx",
        "sha256": __import__("hashlib").sha256(data).hexdigest(),
        "bytes": len(data),
        "ir_version": int(model.ir_version),
        "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
    }
    return sess, version, inputs, outputs, info


def assert_parity(what, onnx_vals, lgb_vals, kind):
    ok, worst, bad = onnx_export.within(onnx_vals, lgb_vals, kind)
    print(f"  parity {what}: max |onnx - lightgbm| = {worst:.3g} over {np.size(lgb_vals)} values")
    if not ok:
        raise SystemExit(f"parity failed for {what}: {bad} values out of tolerance (max {worst:.3g})")
    return worst


def parse_schema(path):
    """Column docs from SCHEMA.md: every markdown table row whose first cell
    is a column name; the header names the other cells (unit, description...)."""
    docs = {}
    if not os.path.exists(path):
        return docs
    header = None
    table = None
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        m = re.match(r"^#+\s*(.*)", s)
        if m:
            h = m.group(1).lower()
            table = next((t for t in ("fraud", "eta", "demand") if t in h), table)
            header = None
            continue
        if not s.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if header is None:
            header = [c.lower().strip("` *") for c in cells]
            header = ["description" if h in ("unit / meaning", "meaning") else h for h in header]
            continue
        if set(cells[0]) <= set("-: "):
            continue
        ci = header.index("column") if "column" in header else 0
        col = cells[ci].strip("` *")
        row = {h: c.replace("`", "") for i, (h, c) in enumerate(zip(header, cells))
               if c and i != ci and h not in ("#", "column")}
        docs.setdefault((table, col), row)
        docs.setdefault((None, col), row)
    return docs


def feature_schema(table, docs):
    out = []
    for i, name in enumerate(table.features):
        d = docs.get((table.name, name)) or docs.get((None, name)) or {}
        entry = {"index": i, "name": name, "type": "f32"}
        for key in ("unit", "description", "source"):
            if key in d and d[key] not in ("", "-"):
                entry[key] = d[key]
        out.append(entry)
    return out


def histograms(table):
    Xt, _ = table.part("train")
    return [{"feature": f, **metrics.reference_histogram(Xt[:, i])} for i, f in enumerate(table.features)]


def output_histograms(named_outputs):
    """Reference histograms of the model's outputs, in the same shape as
    `reference_histograms` (one entry per output, `feature` = the output's
    name): `named_outputs` is a list of (name, values over the training split
    as ONNX Runtime returns them)."""
    return [{"feature": n, **metrics.reference_histogram(v)} for n, v in named_outputs]


# Labelled held-out rows in the card, for the server's quality gate: drawn
# from the test split with this seed, so a retrain on the same data draws the
# same rows.
HOLDOUT_SEED = 20261206


def holdout(table, n, label=float):
    """`n` test rows drawn without replacement (fixed seed), kept in test
    order: `rows` are the exact f32 feature values (NaN as null), `labels`
    the target of each row, converted with `label`."""
    X, y = table.part("test")
    rng = np.random.default_rng(HOLDOUT_SEED)
    pick = np.sort(rng.choice(len(y), size=min(n, len(y)), replace=False))
    rows = [[None if not np.isfinite(v) else float(v) for v in X[i].astype(np.float32)] for i in pick]
    return {"split": "test", "seed": HOLDOUT_SEED,
            "rows": rows, "labels": [label(v) for v in y[pick]]}


# Unlabelled rows of the training split in the card: the population the
# reference histograms describe, for checking that the server's drift
# monitor reads it as stable. Same draw on the same data.
REFERENCE_SAMPLE_SEED = 20261207


def reference_sample(table, n):
    """`n` train rows drawn without replacement (fixed seed), in train order,
    exact f32 feature values (NaN as null)."""
    X, _ = table.part("train")
    rng = np.random.default_rng(REFERENCE_SAMPLE_SEED)
    pick = np.sort(rng.choice(len(X), size=min(n, len(X)), replace=False))
    rows = [[None if not np.isfinite(v) else float(v) for v in X[i].astype(np.float32)] for i in pick]
    return {"split": "train", "seed": REFERENCE_SAMPLE_SEED, "rows": rows}


def sample_indices(score, n=8):
    """n rows spread over the score distribution (including both tails)."""
    order = np.argsort(np.asarray(score), kind="mergesort")
    spots = [0.0, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99, 1.0]
    if n < len(spots):
        spots = spots[:n - 1] + [1.0]
    pos = np.round(np.array(spots) * (len(order) - 1)).astype(int)
    return order[pos]


def f32list(row):
    return [float(np.float32(v)) for v in row]


def contributions(booster, X):
    """pred_contrib: per-feature TreeSHAP values, then the bias (expected raw score)."""
    c = booster.predict(X, pred_contrib=True)
    return [{"contributions": [float(v) for v in r[:-1]], "bias": float(r[-1])} for r in c]


def training_data(table, world):
    td = {"file": f"models/data/{table.name}.csv", "sha256": table.sha256,
          "rows": table.counts(), "world_seed": world.get("seed", SEED)}
    for k in ("version", "generator", "days", "start_date"):
        if k in world:
            td[f"world_{k}"] = world[k]
    reported = _find_sha(world, table.name)
    if reported is not None:
        td["world_json_sha256"] = reported
        if reported != table.sha256:
            print(f"  WARNING: world.json says {table.name}.csv has sha256 {reported}, the file hashes to {table.sha256}")
    return td


def _find_sha(obj, name):
    """world.json's sha256 for <name>.csv, wherever the generator put it."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in (name, f"{name}.csv") and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v):
                return v
            if k in (name, f"{name}.csv") and isinstance(v, dict):
                for kk in ("sha256", "hash"):
                    if isinstance(v.get(kk), str):
                        return v[kk]
            found = _find_sha(v, name)
            if found:
                return found
    return None


def write_card(out_dir, name, card):
    """The card as indented JSON (one value per line), except the rows and
    labels of the holdout and the reference sample: one row per line and the
    labels on one line, so thousands of rows stay readable and small."""
    os.makedirs(os.path.join(out_dir, "cards"), exist_ok=True)
    card = dict(card)
    compact = {}
    for key in ("holdout", "reference_sample"):
        if key not in card:
            continue
        h = card[key]
        tag = key.replace("_", "-")
        compact.update({f"@@{tag}-row-{i}@@": r for i, r in enumerate(h["rows"])})
        card[key] = {**h, "rows": [f"@@{tag}-row-{i}@@" for i in range(len(h["rows"]))]}
        if "labels" in h:
            compact[f"@@{tag}-labels@@"] = h["labels"]
            card[key]["labels"] = f"@@{tag}-labels@@"
    text = json.dumps(card, indent=1, allow_nan=False)
    if compact:
        text = re.sub(r'"(@@(?:holdout|reference-sample)-[a-z]+(?:-\d+)?@@)"',
                      lambda m: json.dumps(compact[m.group(1)], separators=(",", ":"), allow_nan=False), text)
    with open(os.path.join(out_dir, "cards", f"{name}.json"), "w") as f:
        f.write(text)
        f.write("\n")
