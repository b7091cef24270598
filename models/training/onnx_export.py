"""LightGBM -> ONNX: conversion, shape patches, the merged ETA graph, parity.

onnxmltools emits TreeEnsembleClassifier / TreeEnsembleRegressor (ai.onnx.ml
v1). We patch every input/output's batch dimension to the symbolic `N` (it
declares the classifier's `label` as [1], and ORT then warns on every batch).
"""

import hashlib

import numpy as np
import onnx
import onnxmltools
import onnxruntime as ort
from onnx import helper
from onnxmltools.convert.common.data_types import FloatTensorType

INPUT = "features"
TARGET_OPSET = 15


def convert(booster, n_features):
    model = onnxmltools.convert_lightgbm(
        booster, initial_types=[(INPUT, FloatTensorType([None, n_features]))],
        zipmap=False, target_opset=TARGET_OPSET)
    patch_batch_dim(model)
    fix_thresholds(model, booster)
    return model


def _floor32(t):
    """The largest float32 v with v <= t: for every float32 x, x <= v iff x <= t."""
    v = np.float32(t)
    if float(v) > t:
        v = np.nextafter(v, np.float32(-np.inf), dtype=np.float32)
    return float(v)


def fix_thresholds(model, booster):
    """LightGBM compares double(x) <= t with a double threshold t; ONNX stores t
    as float32 rounded to nearest. LightGBM often puts t halfway between two
    adjacent float32 values, which then rounds *up* onto a data value, and rows
    with exactly that value go left in ONNX but right in LightGBM (measured:
    0.2 days off on 5 of 18,000 ETA rows). Store floor32(t) instead: exact.
    Each ONNX split is matched to its LightGBM threshold within the same tree
    by (feature, float32(t)); an ambiguous match fails loudly."""
    dump = booster.dump_model()
    per_tree = []
    for tree in dump["tree_info"]:
        table = {}
        stack = [tree["tree_structure"]]
        while stack:
            n = stack.pop()
            if "split_feature" not in n:
                continue
            if n.get("decision_type", "<=") != "<=":
                raise RuntimeError(f"unsupported split {n.get('decision_type')} (categorical?)")
            t = float(n["threshold"])
            key = (int(n["split_feature"]), float(np.float32(t)))
            fixed = _floor32(t)
            if table.get(key, fixed) != fixed:
                raise RuntimeError(f"ambiguous thresholds for feature {key[0]} near {key[1]}")
            table[key] = fixed
            stack += [n["left_child"], n["right_child"]]
        per_tree.append(table)
    for node in model.graph.node:
        if not node.op_type.startswith("TreeEnsemble"):
            continue
        a = {x.name: x for x in node.attribute}
        modes = a["nodes_modes"].strings
        trees = a["nodes_treeids"].ints
        feats = a["nodes_featureids"].ints
        vals = a["nodes_values"].floats
        changed = 0
        for i in range(len(vals)):
            if modes[i] == b"LEAF":
                continue
            if modes[i] != b"BRANCH_LEQ":
                raise RuntimeError(f"unexpected node mode {modes[i]!r}")
            new = per_tree[trees[i]][(feats[i], float(np.float32(vals[i])))]
            if new != vals[i]:
                vals[i] = new
                changed += 1
        print(f"  thresholds: {changed} of {sum(m != b'LEAF' for m in modes)} moved down to floor32")


def patch_batch_dim(model):
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_param = "N"


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def merge_regressors(models, output):
    """One TreeEnsembleRegressor with n_targets=len(models): target k holds the
    trees of models[k]; output `output` is f32 [N, len(models)]. One ORT run
    scores every quantile."""
    merged = {}
    tree_offset = 0
    base_values = []
    for k, m in enumerate(models):
        nodes = [n for n in m.graph.node if n.op_type == "TreeEnsembleRegressor"]
        others = [n.op_type for n in m.graph.node if n.op_type not in ("TreeEnsembleRegressor", "Identity")]
        if len(nodes) != 1 or others:
            raise RuntimeError(f"unexpected regressor graph: {[n.op_type for n in m.graph.node]}")
        a = _attrs(nodes[0])
        if a.get("n_targets", 1) != 1 or a.get("post_transform", b"NONE") not in (b"NONE", "NONE"):
            raise RuntimeError("expected a single-target regressor without post transform")
        if a.get("aggregate_function", b"SUM") not in (b"SUM", "SUM"):
            raise RuntimeError("expected SUM aggregation")
        base_values.append(float(a.get("base_values", [0.0])[0]) if a.get("base_values") else 0.0)
        n_trees = max(a["nodes_treeids"]) + 1
        for key, vals in a.items():
            if not key.startswith(("nodes_", "target_")):
                continue
            vals = list(vals)
            if key in ("nodes_treeids", "target_treeids"):
                vals = [v + tree_offset for v in vals]
            elif key == "target_ids":
                vals = [k] * len(vals)
            merged.setdefault(key, []).extend(vals)
        tree_offset += n_trees
    node = helper.make_node(
        "TreeEnsembleRegressor", [INPUT], [output], domain="ai.onnx.ml",
        n_targets=len(models), post_transform="NONE", aggregate_function="SUM",
        base_values=base_values, **merged)
    src = models[0]
    graph = helper.make_graph(
        [node], "allot_eta_quantiles", [src.graph.input[0]],
        [helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, ["N", len(models)])])
    out = helper.make_model(graph, opset_imports=list(src.opset_import),
                            producer_name=src.producer_name, producer_version=src.producer_version)
    out.ir_version = src.ir_version
    return out


def finalize(model, name, release, doc):
    """Checks the graph, sorts the opset imports by domain, stamps name/version
    metadata; returns (bytes, version).
    The version's suffix hashes the graph before the stamp, so it changes
    exactly when the trees change."""
    onnx.checker.check_model(model, full_check=True)
    model.graph.name = f"allot_{name}"
    # onnxmltools collects the opset domains in a Python set, whose order
    # follows the per-process string hash (PYTHONHASHSEED): without sorting,
    # two runs on the same data could write different bytes.
    opsets = sorted(((o.domain, o.version) for o in model.opset_import))
    del model.opset_import[:]
    for domain, version in opsets:
        model.opset_import.add(domain=domain, version=version)
    digest = hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()[:8]
    version = f"{name}-{release}-{digest}"
    model.doc_string = doc
    del model.metadata_props[:]
    for k, v in (("allot.model", name), ("allot.version", version)):
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True), version


def session(model_bytes):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 2
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def describe(sess):
    def one(v):
        return {"name": v.name, "type": {"tensor(float)": "f32", "tensor(int64)": "i64"}.get(v.type, v.type),
                "shape": [d if isinstance(d, str) else int(d) for d in v.shape]}
    return [one(v) for v in sess.get_inputs()], [one(v) for v in sess.get_outputs()]


def within(onnx_vals, lgb_vals, kind):
    """Parity rule: probabilities |d| <= 1e-5; regressions |d| <= 1e-5 * max(|ref|, 1e-2)."""
    a = np.asarray(onnx_vals, dtype=np.float64)
    b = np.asarray(lgb_vals, dtype=np.float64)
    d = np.abs(a - b)
    if kind == "probability":
        tol = np.full_like(b, 1e-5)
    else:
        tol = 1e-5 * np.maximum(np.abs(b), 1e-2)
    worst = float(d.max()) if d.size else 0.0
    return bool(np.all(d <= tol)), worst, int((d > tol).sum())


def add_log_offset(model, column, eps):
    """Adds log(x[:, column] + eps) to the regressor's raw score before its
    Exp: the trees then model log(units / (x[:, column] + eps)), the offset
    LightGBM was trained with as init_score (`log_offset`). A missing value
    (NaN) in the column counts as 0, as the trees read it."""
    nodes = list(model.graph.node)
    trees = [n for n in nodes if n.op_type == "TreeEnsembleRegressor"]
    exps = [n for n in nodes if n.op_type == "Exp"]
    if len(trees) != 1 or len(exps) != 1 or exps[0].input[0] != trees[0].output[0] or len(nodes) != 2:
        raise RuntimeError(f"unexpected Poisson graph: {[n.op_type for n in nodes]}")
    raw = trees[0].output[0]
    init = [
        helper.make_tensor("offset_column", onnx.TensorProto.INT64, [1], [column]),
        helper.make_tensor("offset_zero", onnx.TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("offset_eps", onnx.TensorProto.FLOAT, [], [eps]),
    ]
    added = [
        helper.make_node("Gather", [INPUT, "offset_column"], ["offset_x"], axis=1),
        helper.make_node("IsNaN", ["offset_x"], ["offset_missing"]),
        helper.make_node("Where", ["offset_missing", "offset_zero", "offset_x"], ["offset_known"]),
        helper.make_node("Add", ["offset_known", "offset_eps"], ["offset_level"]),
        helper.make_node("Log", ["offset_level"], ["offset"]),
        helper.make_node("Add", [raw, "offset"], ["raw_with_offset"]),
    ]
    exps[0].input[0] = "raw_with_offset"
    del model.graph.node[:]
    model.graph.node.extend([trees[0]] + added + [exps[0]])
    model.graph.initializer.extend(init)
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = max(o.version, TARGET_OPSET)


def log_offset(X, column, eps):
    """The init_score `add_log_offset` puts in the graph, in float32 as ONNX
    Runtime computes it."""
    x = np.asarray(X, dtype=np.float32)[:, column]
    x = np.where(np.isnan(x), np.float32(0.0), x)
    return np.log(x + np.float32(eps)).astype(np.float64)
