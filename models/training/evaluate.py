"""The shipped models on worlds they never saw: every metric of the report
measured on synthetic worlds generated with other seeds than the training
world, as the mean and spread over those worlds and over test windows, beside
the same baselines. Writes (or replaces) the "Beyond the training world"
section of models/REPORT.md.

    python models/training/evaluate.py --worlds DIR --seeds 11,23,31,47,59 \\
        --train-data models/data --models models [--promise promise.json] [--windows 3]

`DIR/seed-N/` holds the tables of world N (`allot-world --seed N --out
DIR/seed-N`). The scored rows of every world are those of its `valid` and
`test` days (the calendar the training world held out), cut into `--windows`
consecutive windows of equal row count. The models are the shipped ONNX files,
run with ONNX Runtime; the baselines are fitted on the training world's
`train` split, as in the main report. `--promise` is the JSON that
`allot-world evaluate` writes (promise ECE and calibrated window coverage per
world); without it that part is left out.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep models/training free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import demand  # noqa: E402
import eta  # noqa: E402
import fraud  # noqa: E402
import metrics  # noqa: E402
import onnx_export  # noqa: E402
import report as report_mod  # noqa: E402
import tabular  # noqa: E402

BEGIN = "<!-- unseen-worlds: begin (written by models/training/evaluate.py) -->"
END = "<!-- unseen-worlds: end -->"

# What the models are held to on unseen worlds.
FRAUD_LEAD_MEAN = 0.15   # precision at 2% review: model - rule, mean over worlds
PROMISE_ECE_MAX = 0.02   # promised-date ECE on every world
COVERAGE_NOMINAL = 0.80  # calibrated [q10, q90] window
COVERAGE_TOLERANCE = 0.02


def session(models, name):
    with open(os.path.join(models, f"{name}.onnx"), "rb") as f:
        return onnx_export.session(f.read())


def held_out(table):
    """The rows of the days the training world held out (valid and test)."""
    return table.mask("valid") | table.mask("test")


def windows(n, k):
    """k consecutive slices of equal size over n rows already in time order."""
    edges = np.linspace(0, n, k + 1).astype(int)
    return [slice(edges[i], edges[i + 1]) for i in range(k)]


def time_order(table, mask):
    """Row indices of `mask` in time order (fraud has order_time; the other
    tables are written day by day)."""
    idx = np.flatnonzero(mask)
    if "order_time" in table.meta:
        idx = idx[np.argsort(table.meta["order_time"][idx].astype(np.int64), kind="mergesort")]
    return idx


def fraud_world(table, sess, rule_score, review, n_windows):
    idx = time_order(table, held_out(table))
    X, y = table.X[idx], table.y[idx]
    p = sess.run(None, {onnx_export.INPUT: X})[1][:, 1].astype(np.float64)
    pts, tb = rule_score(X)

    def at_2pct(sl):
        mp, mr = metrics.precision_recall(y[sl], metrics.top_k_flags(p[sl], fraud.REVIEW_RATE))
        rp, rr = metrics.precision_recall(y[sl], metrics.top_k_flags(pts[sl], fraud.REVIEW_RATE, tb[sl]))
        # the best any score can do: every flagged order a fraud
        ceiling = min(1.0, float((y[sl] > 0.5).sum()) / max(1, int(round(fraud.REVIEW_RATE * len(y[sl])))))
        return {"precision": mp, "recall": mr, "rule_precision": rp, "rule_recall": rr, "ceiling": ceiling}

    flags = p >= review
    tp, tr = metrics.precision_recall(y, flags)
    out = {"rows": int(len(y)), "fraud_rate": float(y.mean()),
           "auc": metrics.auc(y, p), "rule_auc": metrics.auc(y, pts + 1e-9 * tb),
           **at_2pct(slice(None)),
           "review_rate": float(flags.mean()), "review_precision": tp, "review_recall": tr}
    out["windows"] = [at_2pct(sl) for sl in windows(len(y), n_windows)]
    return out


def eta_world(table, sess, train):
    mask = held_out(table)
    X, y = table.X[mask], table.y[mask]
    svc = table.meta["service"][mask]
    (q,) = sess.run(None, {onnx_export.INPUT: X})
    base = eta.service_baseline(svc, train)
    inside = lambda b: float(((y >= b[:, 0]) & (y <= b[:, 2])).mean())  # noqa: E731
    return {"rows": int(len(y)), "mae_q50": float(np.abs(y - q[:, 1]).mean()),
            "baseline_mae_q50": float(np.abs(y - base[:, 1]).mean()),
            "coverage_raw": inside(q), "baseline_coverage": inside(base)}


def demand_world(table, sess):
    """WAPE and bias of the model and the baselines on the held-out days;
    bias on the holiday weeks: the Christmas weeks among those days, and
    the world's own Black Friday to Cyber Monday week (on `train` days:
    the model never saw this world)."""
    (every,) = sess.run(None, {onnx_export.INPUT: table.X})
    every = every[:, 0].astype(np.float64)
    dates = table.meta.get("date")
    mask = held_out(table)
    X, y, p = table.X[mask], table.y[mask], every[mask]
    naive = X[:, demand.naive_column(table.features)].astype(np.float64)
    keep = np.isfinite(naive)
    out = {"rows": int(keep.sum()), "wape": metrics.wape(y[keep], p[keep]),
           "bias": demand.bias(y[keep], p[keep]),
           "naive_wape": metrics.wape(y[keep], naive[keep])}

    def holidays(pred_all, pred_held):
        if dates is None:
            return {}
        h = {k: v["bias"] for k, v in demand.holiday_bias(y[keep], pred_held[keep], dates[mask][keep]).items()}
        for k, v in demand.holiday_bias(table.y, pred_all, dates).items():
            h.setdefault(k, v["bias"])
        return h

    out["holiday_bias"] = holidays(every, p)
    col = demand.level_column(table.features)
    if col is not None:
        ma_all = table.X[:, col].astype(np.float64)
        ma = ma_all[mask]
        out["ma_wape"] = metrics.wape(y[keep], ma[keep])
        out["ma_bias"] = demand.bias(y[keep], ma[keep])
        out["ma_holiday_bias"] = holidays(ma_all, ma)
    return out


def pct(x):
    return f"{100 * x:.1f}%"


def spread(values, fmt=pct):
    v = np.asarray(values, dtype=np.float64)
    return f"{fmt(v.mean())} ({fmt(v.min())} to {fmt(v.max())})"


def points(x):
    return f"{100 * x:+.1f}"


def render(seeds, fr, et, de, promise, train_seed, review, n_windows):
    n = len(seeds)
    lead = [f["precision"] - f["rule_precision"] for f in fr]
    win_lead = [w["precision"] - w["rule_precision"] for f in fr for w in f["windows"]]
    lines = [
        BEGIN,
        "## Beyond the training world",
        "",
        f"Written by `models/training/evaluate` (run by `retrain`): the shipped models, trained on world seed "
        f"{train_seed}, on {n} worlds generated with other seeds ({', '.join(map(str, seeds))}), which differ in "
        "customers, fraud campaigns, carriers' lanes and disruptions. Scored rows: the `valid` and `test` days of "
        f"each world (the days the training world held out); windows: those rows cut into {n_windows} "
        "consecutive windows of equal size. Each cell: mean over worlds (min to max). Baselines are fitted on the "
        "training world, as in the tables above.",
        "",
        "### Against the targets",
        "",
        "| target | result | met |",
        "| --- | --- | --- |",
    ]
    ok_lead = np.mean(lead) >= FRAUD_LEAD_MEAN
    ok_every = min(lead) > 0
    lines.append(f"| fraud precision at 2% review: model - rule >= {100 * FRAUD_LEAD_MEAN:.0f} points on average | "
                 f"{spread(lead, points)} points | {'yes' if ok_lead else 'no'} |")
    lines.append(f"| ... and above the rule on every world | lowest {points(min(lead))} points; windows "
                 f"{points(min(win_lead))} to {points(max(win_lead))} | {'yes' if ok_every else 'no'} |")
    if promise:
        worlds = [r for r in promise if r.get("window") is None]
        eces = [r["ece"] for r in worlds]
        covs = [r["coverage"] for r in worlds]
        ok_ece = max(eces) <= PROMISE_ECE_MAX
        ok_cov = all(abs(c - COVERAGE_NOMINAL) <= COVERAGE_TOLERANCE for c in covs)
        lines.append(f"| promise ECE <= {PROMISE_ECE_MAX} on every world | {spread(eces, lambda v: f'{v:.4f}')} | "
                     f"{'yes' if ok_ece else 'no'} |")
        lines.append(f"| calibrated window covers {pct(COVERAGE_NOMINAL)} +- {100 * COVERAGE_TOLERANCE:.0f} points "
                     f"on every world | {spread(covs)} | {'yes' if ok_cov else 'no'} |")
    ceiling = [f["ceiling"] for f in fr]
    lines += [
        "",
        "Precision at a 2% review rate cannot exceed (fraud rate / 2%): when fewer than 2% of a window's orders "
        f"are fraud, even a perfect score flags legitimate ones. That ceiling is {spread(ceiling)} here, so the "
        "lead over the rule is bounded by the ceiling minus the rule's precision: a perfect score would lead by "
        f"{spread([c - f['rule_precision'] for c, f in zip(ceiling, fr)], points)} points.",
        "",
        "### Fraud",
        "",
        f"| world | rows | fraud rate | AUC | rule AUC | precision at 2% | rule | ceiling | recall at 2% | rule recall "
        f"| rate at review threshold ({review:.4f}) | its precision |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s, f in zip(seeds, fr):
        lines.append(f"| {s} | {f['rows']:,} | {pct(f['fraud_rate'])} | {f['auc']:.4f} | {f['rule_auc']:.4f} | "
                     f"{pct(f['precision'])} | {pct(f['rule_precision'])} | {pct(f['ceiling'])} | {pct(f['recall'])} | "
                     f"{pct(f['rule_recall'])} | {pct(f['review_rate'])} | {pct(f['review_precision'])} |")
    col = lambda k: [f[k] for f in fr]  # noqa: E731
    lines.append(f"| all | {sum(col('rows')):,} | {spread(col('fraud_rate'))} | {spread(col('auc'), lambda v: f'{v:.4f}')} | "
                 f"{spread(col('rule_auc'), lambda v: f'{v:.4f}')} | {spread(col('precision'))} | "
                 f"{spread(col('rule_precision'))} | {spread(col('ceiling'))} | {spread(col('recall'))} | "
                 f"{spread(col('rule_recall'))} | {spread(col('review_rate'))} | {spread(col('review_precision'))} |")
    wp = [w["precision"] for f in fr for w in f["windows"]]
    wr = [w["rule_precision"] for f in fr for w in f["windows"]]
    wc = [w["ceiling"] for f in fr for w in f["windows"]]
    lines += [
        "",
        f"Over all {len(wp)} windows: precision at 2% {spread(wp)}, rule {spread(wr)}, ceiling {spread(wc)}; "
        f"the model leads the rule in {sum(x > 0 for x in win_lead)} of {len(win_lead)} windows.",
        "",
        "The review threshold was chosen for a 2% rate on the training world's validation days; on other worlds "
        "the rate it flags moves with their fraud rate (frauds score above it), which is the spread shown.",
        "",
        "### ETA and promises",
        "",
        "| world | rows | MAE q50 | baseline MAE | raw [q10, q90] | baseline in | calibrated window | promise ECE | ECE uncalibrated | on time by the promised date |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    by_seed = {r["seed"]: r for r in (promise or []) if r.get("window") is None}
    for s, e in zip(seeds, et):
        pr = by_seed.get(s)
        tail = (f"{pct(pr['coverage'])} | {pr['ece']:.4f} | {pr['ece_raw']:.4f} | {pct(pr['on_time'])}"
                if pr else "- | - | - | -")
        lines.append(f"| {s} | {e['rows']:,} | {e['mae_q50']:.3f} | {e['baseline_mae_q50']:.3f} | "
                     f"{pct(e['coverage_raw'])} | {pct(e['baseline_coverage'])} | {tail} |")
    col = lambda k: [e[k] for e in et]  # noqa: E731
    three = lambda v: f"{v:.3f}"  # noqa: E731
    four = lambda v: f"{v:.4f}"  # noqa: E731
    tail = "- | - | - | -"
    if by_seed:
        pw = [by_seed[s] for s in seeds if s in by_seed]
        tail = (f"{spread([r['coverage'] for r in pw])} | {spread([r['ece'] for r in pw], four)} | "
                f"{spread([r['ece_raw'] for r in pw], four)} | {spread([r['on_time'] for r in pw])}")
    lines.append(f"| all | {sum(col('rows')):,} | {spread(col('mae_q50'), three)} | {spread(col('baseline_mae_q50'), three)} | "
                 f"{spread(col('coverage_raw'))} | {spread(col('baseline_coverage'))} | {tail} |")
    windows_rows = [r for r in (promise or []) if r.get("window") is not None]
    if windows_rows:
        lines += ["", f"Over all {len(windows_rows)} windows: promise ECE "
                  f"{spread([r['ece'] for r in windows_rows], four)}, calibrated window "
                  f"{spread([r['coverage'] for r in windows_rows])}."]
    lines += [
        "",
        "### Demand",
        "",
        "Bias = sum predicted / sum actual - 1. Christmas weeks: December 21 to January 3 (among the scored "
        "days); Black Friday to Cyber Monday: November 23 to 30, the world's own, on its `train` days.",
        "",
        "| world | rows | WAPE | seasonal naive | 7-day moving average | bias | moving average bias "
        "| Christmas weeks bias | moving average | Black Friday to Cyber Monday bias | moving average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    hb = lambda d, key, k: signed(d[key][k]) if k in d.get(key, {}) else "-"  # noqa: E731
    for s, d in zip(seeds, de):
        lines.append(f"| {s} | {d['rows']:,} | {pct(d['wape'])} | {pct(d['naive_wape'])} | "
                     f"{pct(d['ma_wape']) if 'ma_wape' in d else '-'} | {signed(d['bias'])} | "
                     f"{signed(d['ma_bias']) if 'ma_bias' in d else '-'} | "
                     f"{hb(d, 'holiday_bias', 'christmas_weeks')} | {hb(d, 'ma_holiday_bias', 'christmas_weeks')} | "
                     f"{hb(d, 'holiday_bias', 'black_friday_cyber_week')} | "
                     f"{hb(d, 'ma_holiday_bias', 'black_friday_cyber_week')} |")
    col = lambda k: [d[k] for d in de if k in d]  # noqa: E731
    hcol = lambda key, k: [d[key][k] for d in de if k in d.get(key, {})]  # noqa: E731
    sp = lambda v: spread(v, signed) if v else "-"  # noqa: E731
    lines.append(f"| all | {sum(col('rows')):,} | {spread(col('wape'))} | {spread(col('naive_wape'))} | "
                 f"{spread(col('ma_wape')) if col('ma_wape') else '-'} | {sp(col('bias'))} | {sp(col('ma_bias'))} | "
                 f"{sp(hcol('holiday_bias', 'christmas_weeks'))} | {sp(hcol('ma_holiday_bias', 'christmas_weeks'))} | "
                 f"{sp(hcol('holiday_bias', 'black_friday_cyber_week'))} | "
                 f"{sp(hcol('ma_holiday_bias', 'black_friday_cyber_week'))} |")
    wins = sum(1 for d in de if "ma_wape" in d and d["wape"] < d["ma_wape"])
    lines += ["", f"The model's WAPE is below the 7-day moving average's on {wins} of {len(de)} worlds.", "", END]
    return "\n".join(lines) + "\n"


def signed(x):
    return f"{100 * x:+.1f}%"


def demand_rows(seeds, de):
    """The unseen-worlds rows of the Demand section's before/after table
    (report.py's columns), the previous release's numbers from
    demand.PREVIOUS."""
    prev = demand.PREVIOUS.get("unseen", {})
    rows = []
    for s, d in zip(seeds, de):
        p = prev.get(s, {})
        ph = p.get("holiday_bias", {})
        h, mh = d.get("holiday_bias", {}), d.get("ma_holiday_bias", {})
        cell = lambda m, k: signed(m[k]) if k in m else "-"  # noqa: E731
        rows.append(f"| unseen world {s} | {pct(p['wape']) if 'wape' in p else '-'} | {pct(d['wape'])} | "
                    f"{pct(d['ma_wape']) if 'ma_wape' in d else '-'} | {cell(p, 'bias')} | {signed(d['bias'])} | "
                    f"{cell(d, 'ma_bias')} | {cell(ph, 'christmas_weeks')} | {cell(h, 'christmas_weeks')} | "
                    f"{cell(mh, 'christmas_weeks')} | {cell(ph, 'black_friday_cyber_week')} | "
                    f"{cell(h, 'black_friday_cyber_week')} | {cell(mh, 'black_friday_cyber_week')} |")
    return "\n".join(rows)


def write_demand_rows(report, rows):
    text = open(report).read()
    if report_mod.UNSEEN_BEGIN not in text or report_mod.UNSEEN_END not in text:
        return
    head, rest = text.split(report_mod.UNSEEN_BEGIN, 1)
    _, tail = rest.split(report_mod.UNSEEN_END, 1)
    with open(report, "w") as f:
        f.write(head + report_mod.UNSEEN_BEGIN + "\n" + rows + "\n" + report_mod.UNSEEN_END + tail)


def write_section(report, section):
    text = open(report).read() if os.path.exists(report) else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(report, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", required=True, help="directory of seed-N/ world tables")
    ap.add_argument("--seeds", required=True, help="comma-separated world seeds (never the training seed)")
    ap.add_argument("--train-data", required=True, help="the training world's tables (baselines)")
    ap.add_argument("--models", required=True, help="directory of the shipped ONNX files and cards")
    ap.add_argument("--promise", help="JSON written by `allot-world evaluate`")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--report", help="the report whose section is replaced (default: print)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    card = json.load(open(os.path.join(args.models, "cards", "fraud.json")))
    train_seed = card["training_data"].get("world_seed")
    if train_seed in seeds:
        print(f"evaluate: seed {train_seed} is the training world, left out")
        seeds = [s for s in seeds if s != train_seed]
    if not seeds:
        raise SystemExit("evaluate: no world to evaluate on")
    review = card["thresholds"]["review"]["score_at_least"]
    sessions = {name: session(args.models, name) for name in ("fraud", "eta", "demand")}
    train_fraud = tabular.load(args.train_data, "fraud")
    rule_score, _, _ = fraud.rule_baseline(train_fraud)
    train_eta = tabular.load(args.train_data, "eta")
    fr, et, de = [], [], []
    for s in seeds:
        d = os.path.join(args.worlds, f"seed-{s}")
        fr.append(fraud_world(tabular.load(d, "fraud"), sessions["fraud"], rule_score, review, args.windows))
        et.append(eta_world(tabular.load(d, "eta"), sessions["eta"], train_eta))
        de.append(demand_world(tabular.load(d, "demand"), sessions["demand"]))
        f = fr[-1]
        print(f"evaluate: seed {s}: fraud precision at 2% {pct(f['precision'])} (rule {pct(f['rule_precision'])}, "
              f"ceiling {pct(f['ceiling'])}), ETA raw coverage {pct(et[-1]['coverage_raw'])}, "
              f"demand WAPE {pct(de[-1]['wape'])}")
    promise = json.load(open(args.promise))["rows"] if args.promise else None
    section = render(seeds, fr, et, de, promise, train_seed, review, args.windows)
    if args.report:
        write_section(args.report, section)
        write_demand_rows(args.report, demand_rows(seeds, de))
        print(f"evaluate: wrote the unseen-worlds section of {args.report}")
    else:
        print(section)


if __name__ == "__main__":
    main()
