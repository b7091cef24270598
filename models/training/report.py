"""models/REPORT.md from the three cards (held-out test split)."""


def pct(x):
    return f"{100 * x:.1f}%"


def render(cards):
    f, e, d = cards["fraud"], cards["eta"], cards["demand"]
    fm, em, dm = f["metrics"]["test"], e["metrics"]["test"], d["metrics"]["test"]
    rb = fm["rule_baseline"]
    td = f["training_data"]
    lines = [
        "# Model quality report",
        "",
        "Written by `models/training/retrain` (train.py) on the held-out **test** split of the",
        f"synthetic world (seed {td['world_seed']}); do not edit by hand. Thresholds were chosen on the",
        "validation split; nothing here was tuned on test.",
        "",
        "| model | version | ONNX bytes | trees |",
        "| --- | --- | --- | --- |",
    ]
    for c in (f, e, d):
        nt = c["lightgbm"]["num_trees"]
        nt = " + ".join(map(str, nt)) if isinstance(nt, list) else nt
        lines.append(f"| {c['name']} | `{c['version']}` | {c['onnx']['bytes']:,} | {nt} |")
    lines += [
        "",
        "## Summary: model vs baseline",
        "",
        "| task | metric | model | baseline | baseline is |",
        "| --- | --- | --- | --- | --- |",
        f"| fraud | AUC | {fm['auc']:.4f} | {rb['auc']:.4f} | rule (below) |",
        f"| fraud | precision at 2% review rate | {pct(fm['precision_at_2pct'])} | {pct(rb['precision_at_2pct'])} | rule |",
        f"| fraud | recall at 2% review rate | {pct(fm['recall_at_2pct'])} | {pct(rb['recall_at_2pct'])} | rule |",
        f"| ETA | MAE of q50 (days) | {em['all']['mae_q50']:.3f} | {em['all']['baseline_service_quantiles']['mae_q50']:.3f} | per-service training median |",
        f"| ETA | share in [q10, q90] (target 80%) | {pct(em['all']['coverage_q10_q90'])} | {pct(em['all']['baseline_service_quantiles']['coverage_q10_q90'])} | per-service training q10/q90 |",
        f"| ETA | mean width q90 - q10 (days) | {em['all']['mean_width_q10_q90']:.3f} | {em['all']['baseline_service_quantiles']['mean_width_q10_q90']:.3f} | per-service training q10/q90 |",
        f"| demand | WAPE | {pct(dm['wape'])} | {pct(dm['seasonal_naive']['wape'])} | seasonal naive (`{dm['seasonal_naive']['column']}`) |",
        "",
        "## Fraud",
        "",
        f"Test rows {fm['test_rows']:,}, fraud rate {pct(fm['test_fraud_rate'])}. Both the model and the rule",
        "flag exactly the top 2% of test orders by their score.",
        "",
        f"Rule baseline: `{rb['rule']}`.",
        f"At its natural cut (>= 2 points) the rule flags {pct(rb['at_2_points']['rate'])} of orders with precision "
        f"{pct(rb['at_2_points']['precision'])} and recall {pct(rb['at_2_points']['recall'])}.",
        "",
        "| operating point | threshold (P fraud >=) | chosen by | test rate | test precision | test recall |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for k in ("review", "reject"):
        t, mt = f["thresholds"][k], fm[f"at_{k}_threshold"]
        lines.append(f"| {k} | {t['score_at_least']:.5f} | {t['method']} | {pct(mt['rate'])} | {pct(mt['precision'])} | {pct(mt['recall'])} |")
    ve = fm.get("velocity_effect")
    if ve:
        lines += [
            "",
            "### Velocity effect",
            "",
            f"Partial dependence: {ve['rows']:,} legitimate test orders as placed, with card velocity",
            "(`card_orders_24h`), device velocity (`device_orders_24h`) or both set to each count. Mean",
            "P(fraud), and in brackets the share of those orders at or above the review threshold.",
            "Velocity features are monotone increasing in training: a busier card never lowers the score.",
            "",
            "| set to | " + " | ".join(str(k) for k in ve["counts"]) + " |",
            "| --- |" + " --- |" * len(ve["counts"]),
        ]
        for c in ve["curves"]:
            cells = " | ".join(f"{p:.3f} ({pct(r)})" for p, r in zip(c["mean_probability"], c["review_share"]))
            lines.append(f"| {' + '.join('`' + n + '`' for n in c['features'])} | {cells} |")
    lines += [
        "",
        "## ETA (transit days)",
        "",
        "q10/q50/q90 come from three quantile ensembles in one ONNX graph. Baseline: the training",
        "split's quantiles per service (a static service-level table).",
        "",
        "| service | rows | MAE q50 | baseline MAE | in [q10, q90] | baseline in | below q10 | below q50 | at or below q50 | above q90 | width | crossing |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s, b in [("all", em["all"])] + list(em["per_service"].items()):
        bb = b["baseline_service_quantiles"]
        lines.append(f"| {s} | {b['rows']:,} | {b['mae_q50']:.3f} | {bb['mae_q50']:.3f} | {pct(b['coverage_q10_q90'])} | "
                     f"{pct(bb['coverage_q10_q90'])} | {pct(b['below_q10'])} | {pct(b['below_q50'])} | {pct(b['at_or_below_q50'])} | "
                     f"{pct(b['above_q90'])} | {b['mean_width_q10_q90']:.3f} | {pct(b['crossing_share'])} |")
    if em.get("target_is_integer"):
        lines += ["", "Transit days are whole numbers, so ties with a quantile are common: 'below q50' and",
                  "'at or below q50' bracket the 50% target, and coverage counts both ends as inside."]
    lines += [
        "",
        "## Demand (units per SKU x region x day)",
        "",
        f"Test rows {dm['test_rows']:,}, {dm['test_units']:,.0f} units. WAPE = sum |y - yhat| / sum y.",
        "",
        "| forecast | WAPE | MAE |",
        "| --- | --- | --- |",
        f"| LightGBM Poisson | {pct(dm['wape'])} | {dm['mae']:.4f} |",
        f"| seasonal naive: `{dm['seasonal_naive']['column']}` | {pct(dm['seasonal_naive']['wape'])} | {dm['seasonal_naive']['mae']:.4f} |",
    ]
    if "moving_average_7d" in dm:
        ma = dm["moving_average_7d"]
        lines.append(f"| 7-day moving average: `{ma['column']}` (a second, stronger baseline) | {pct(ma['wape'])} | {ma['mae']:.4f} |")
    lines += [
        "",
        f"Model bias (sum predicted / sum actual - 1): {pct(dm['bias'])}.",
        "",
        "## Parity",
        "",
        "ONNX Runtime vs LightGBM on every validation row (max absolute difference):",
        "",
    ]
    for c in (f, e, d):
        lines.append(f"- {c['name']}: {c['metrics']['parity_valid_max_abs_diff']:.3g}")
    lines.append("")
    return "\n".join(lines)
