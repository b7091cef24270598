"""models/REPORT.md from the three cards (held-out test split)."""


import re

def written_sections(text):
    """The marked sections other steps write into REPORT.md (ETA
    calibration, unseen worlds), from the first to the end, to keep when
    train.py writes the report again."""
    m = re.search(r"^<!-- (eta-calibration|unseen-worlds): begin", text, re.M)
    return "\n" + text[m.start():] if m else ""


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
    ]
    if "moving_average_7d" in dm:
        ma = dm["moving_average_7d"]
        lines.append(f"| demand | WAPE | {pct(dm['wape'])} | {pct(ma['wape'])} | 7-day moving average (`{ma['column']}`) |")
        if "bias" in ma:
            lines.append(f"| demand | bias (sum predicted / sum actual - 1) | {signed(dm['bias'])} | {signed(ma['bias'])} | "
                         f"7-day moving average |")
    lines += [
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
    lines += ["", f"Model bias (sum predicted / sum actual - 1): {signed(dm['bias'])}."]
    lines += demand_holidays(dm)
    lines += demand_changes(d)
    lines += [
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


def signed(x):
    return f"{100 * x:+.1f}%"


HOLIDAYS = {"black_friday_cyber_week": "Black Friday to Cyber Monday (Monday before Black Friday to Cyber Monday)",
            "christmas_weeks": "Christmas weeks (Monday of Christmas week to the Sunday after next)"}


def demand_holidays(dm):
    """Bias on the holiday weeks of the test split, model and moving average."""
    hw = dm.get("holiday_weeks") or {}
    if not hw:
        return []
    ma = (dm.get("moving_average_7d") or {}).get("holiday_weeks") or {}
    lines = ["", "Holiday weeks of the test split (the test days from December 20 hold the Christmas weeks; Black "
             "Friday falls in `train`):", "",
             "| holiday weeks | rows | units | model bias | model WAPE | 7-day moving average bias | its WAPE |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for k, v in hw.items():
        m = ma.get(k, {})
        lines.append(f"| {HOLIDAYS.get(k, k)} | {v['rows']:,} | {v['units']:,.0f} | {signed(v['bias'])} | {pct(v['wape'])} | "
                     f"{signed(m['bias']) if m else '-'} | {pct(m['wape']) if m else '-'} |")
    return lines


def demand_changes(card):
    """What changed since the previous release, and why, with the numbers
    before and after (the unseen worlds' rows are written by evaluate.py
    into the marked block)."""
    prev = card.get("previous")
    if not prev:
        return []
    dm = card["metrics"]["test"]
    va = card["metrics"].get("valid", {})
    off = card["lightgbm"].get("offset")
    pt = prev["test"]
    hw = dm.get("holiday_weeks", {})
    lines = [
        "",
        f"### What changed since `{prev['version']}`",
        "",
        f"The previous release (features: {prev['features']}) lost to the 7-day moving average on every unseen "
        "world and under-forecast: its trees split on `week_of_year` and `region`, which memorise the training "
        "world's weeks and regions. The validation days (ISO weeks 50 and 51; week 50 holds one training day) "
        "lie at or past the end of the training weeks, and the test days (December 20 on) past all of them, "
        "so splits on the week put them in the leaves of the last training weeks. Measured on the validation "
        "split (nothing here was chosen on test or on the unseen worlds): with both features the previous "
        "model's WAPE was 52.2% at a bias of -31.0%, against the moving average's 43.9%; without `week_of_year` "
        "45.8%, without both 46.6%. With the offset below, the two features no longer hurt on validation "
        "(43.2% with both, 43.5% without, same tree settings; with the final settings `region` moves WAPE by "
        "0.1 point): they are dropped on principle, not on that difference. A week of the year seen once "
        "cannot carry to another year or another world, and a region's level is in its own sales, which the "
        "offset reads.",
        "",
        "This release:",
        "",
        "- drops `week_of_year` and `region` (now not inputs at all);",
    ]
    if off:
        lines.append(f"- predicts the ratio to the 7-day moving average: `log({off['feature']} + {off['eps']})` is an "
                     "offset (LightGBM's init_score in training, an `Add` before the `Exp` in the ONNX graph, a "
                     "missing mean counting as 0), so a series' level comes from its own last week and the trees "
                     "learn only what moves a day away from it (validation WAPE 43.5% against 46.6% without the "
                     "offset, both with the previous release's tree settings; 0.5 was chosen from 0.1, 0.25 and "
                     "0.5 as the one with the smallest validation bias, 41.7% at -3.3% and 42.1% at -2.0% "
                     "against 42.4% at -0.8%: the smaller ones buy WAPE with under-forecasting, and the "
                     "server needs a mean for its quantiles);")
    lines += [
        "- adds `lag_1d`, the units of the day before (the latent level persists from day to day; it is the last "
        "of the 7 lag days the server already reads);",
        f"- grows smaller trees more slowly (learning rate {card['lightgbm']['params']['learning_rate']}, "
        f"{card['lightgbm']['params']['num_leaves']} leaves, at least "
        f"{card['lightgbm']['params']['min_data_in_leaf']} rows per leaf; "
        f"{card['lightgbm']['num_trees']} trees by early stopping on validation).",
    ]
    if va:
        lines += ["", f"Validation split: WAPE {pct(va['wape'])} (moving average {pct(va['moving_average_wape'])}), "
                      f"bias {signed(va['bias'])} (moving average {signed(va['moving_average_bias'])})."]
    cell = lambda d, k: signed(d[k]) if k in d else "-"  # noqa: E731
    lines += [
        "",
        "Before and after, beside the 7-day moving average (bias = sum predicted / sum actual - 1; the unseen "
        "worlds score their `valid` and `test` days, and their own Black Friday to Cyber Monday week, which "
        "falls on `train` days):",
        "",
        "| scored on | WAPE before | WAPE now | moving average | bias before | bias now | moving average "
        "| Christmas weeks bias before | now | moving average | Black Friday to Cyber Monday bias before | now "
        "| moving average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    ma = dm.get("moving_average_7d", {})
    mh = ma.get("holiday_weeks", {})
    ph = pt.get("holiday_bias", {})
    lines.append(
        f"| training world, test split | {pct(pt['wape'])} | {pct(dm['wape'])} | {pct(ma['wape'])} | "
        f"{signed(pt['bias'])} | {signed(dm['bias'])} | {signed(ma['bias'])} | "
        f"{cell(ph, 'christmas_weeks')} | {signed(hw['christmas_weeks']['bias']) if 'christmas_weeks' in hw else '-'} | "
        f"{signed(mh['christmas_weeks']['bias']) if 'christmas_weeks' in mh else '-'} | - | - | - |")
    lines += [UNSEEN_BEGIN, "| unseen worlds | run `models/training/evaluate` | | | | | | | | | | | |", UNSEEN_END]
    xmas = hw.get("christmas_weeks")
    lines += [
        "",
        "What it still does not do: no training day holds the fall from the peak (December 21 to 24, Christmas "
        "Day, the January lull; the training days end on December 7), so the model follows the moving average "
        "into it"
        + (f" ({signed(xmas['bias'])} on the test split's Christmas weeks, moving average "
           f"{signed(mh['christmas_weeks']['bias'])})" if xmas and "christmas_weeks" in mh else "")
        + ". The previous release's under-forecast there was not knowledge of Christmas: it under-forecast every "
        "held-out day (-31.0% on validation), and on the falling test days that error happened to offset part of "
        "the fall; WAPE also rewards forecasting below the mean of small, skewed counts, most likely why its test "
        "WAPE is the lower one. Black Friday to Cyber Monday is in the training "
        "days once: on the unseen worlds the model under-forecasts it by less than the moving average but by "
        "more than the previous release, whose `week_of_year` recalled the training world's Black Friday week "
        "(the same calendar in every synthetic world). A calendar feature for it (days from Black Friday, from "
        "`allot_models::features::black_friday`) is the way to learn that lift; it is not added, because no "
        "validation day can measure it.",
    ]
    return lines


UNSEEN_BEGIN = "<!-- demand-unseen: begin (written by models/training/evaluate.py) -->"
UNSEEN_END = "<!-- demand-unseen: end -->"


def carry_demand_unseen(new, old):
    """The unseen-worlds rows of the demand table, from the report before
    (evaluate.py writes them), into the report train.py writes again."""
    if UNSEEN_BEGIN not in old or UNSEEN_END not in old or UNSEEN_BEGIN not in new:
        return new
    block = old.split(UNSEEN_BEGIN, 1)[1].split(UNSEEN_END, 1)[0]
    head, rest = new.split(UNSEEN_BEGIN, 1)
    return head + UNSEEN_BEGIN + block + UNSEEN_END + rest.split(UNSEEN_END, 1)[1]
