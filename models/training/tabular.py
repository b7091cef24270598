"""Reading the world's training tables: CSV in, float32 feature matrix out.

A table's feature columns are every column that is not a label or meta column,
in file order; that order is the ONNX input order and the card's schema order.
"""

import csv
import hashlib
import os
from dataclasses import dataclass, field

import numpy as np

# label column, then meta columns (never features) per table
TABLES = {
    "fraud": ("is_fraud", ("order_time", "split")),
    "eta": ("transit_days", ("service", "split")),
    "demand": ("units", ("split",)),
}
# meta columns a table may have (never features): the demand day
OPTIONAL_META = {"demand": ("date",)}
SPLITS = ("train", "valid", "test")


@dataclass
class Table:
    name: str
    path: str
    sha256: str
    features: list
    X: np.ndarray  # float32 [rows, features]
    y: np.ndarray  # float64 [rows]
    meta: dict = field(default_factory=dict)  # column -> np.ndarray of str

    def mask(self, split):
        return self.meta["split"] == split

    def part(self, split):
        m = self.mask(split)
        return self.X[m], self.y[m]

    def counts(self):
        return {s: int(self.mask(s).sum()) for s in SPLITS}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _numeric(values, column, path):
    arr = np.asarray(values)
    arr = np.where(arr == "", "nan", arr)
    try:
        return arr.astype(np.float64)
    except ValueError as e:
        raise SystemExit(f"{path}: column {column!r} is not numeric ({e}); "
                         f"if it is meta, add it to TABLES in tabular.py") from None


def load(data_dir, name):
    label, meta_cols = TABLES[name]
    path = os.path.join(data_dir, f"{name}.csv")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        columns = list(zip(*reader))
    if not columns:
        raise SystemExit(f"{path}: no rows")
    meta_cols = (*meta_cols, *(c for c in OPTIONAL_META.get(name, ()) if c in header))
    missing = [c for c in (label, *meta_cols) if c not in header]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    features = [c for c in header if c != label and c not in meta_cols]
    idx = {c: i for i, c in enumerate(header)}
    X = np.column_stack([_numeric(columns[idx[c]], c, path) for c in features]).astype(np.float32)
    y = _numeric(columns[idx[label]], label, path)
    meta = {c: np.asarray(columns[idx[c]]) for c in meta_cols}
    bad = set(np.unique(meta["split"])) - set(SPLITS)
    if bad:
        raise SystemExit(f"{path}: unknown split values {sorted(bad)}")
    return Table(name, path, sha256_file(path), features, X, y, meta)
