"""Held-out metrics and the drift reference histograms (numpy only)."""

import numpy as np


def auc(y, score):
    y = np.asarray(y) > 0.5
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties
    i = 0
    r = np.arange(1, len(s) + 1, dtype=np.float64)
    _, starts, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    for st, c in zip(starts, counts):
        r[st:st + c] = r[st:st + c].mean()
    ranks[order] = r
    npos, nneg = y.sum(), (~y).sum()
    if npos == 0 or nneg == 0:
        return float("nan")
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def top_k_flags(score, rate, tiebreak=None):
    """Flags the top `rate` share of rows by score (ties broken by `tiebreak`,
    then by row order), exactly round(rate * n) rows."""
    n = len(score)
    k = max(1, int(round(rate * n)))
    keys = [np.arange(n)[::-1]]
    if tiebreak is not None:
        keys.insert(0, tiebreak)
    keys.insert(0, score)
    order = np.lexsort(keys[::-1])[::-1]  # primary key first in lexsort is last
    flags = np.zeros(n, dtype=bool)
    flags[order[:k]] = True
    return flags


def precision_recall(y, flags):
    y = np.asarray(y) > 0.5
    tp = int((y & flags).sum())
    return (tp / max(1, int(flags.sum())), tp / max(1, int(y.sum())))


def threshold_at_rate(score, rate):
    """Smallest threshold t such that share(score >= t) <= rate."""
    s = np.sort(np.asarray(score, dtype=np.float64))[::-1]
    k = max(1, int(np.floor(rate * len(s))))
    t = s[k - 1]
    # ties at t could push the rate above `rate`: move up to the next distinct score
    if (s >= t).sum() > k:
        above = s[s > t]
        t = above.min() if above.size else t
    return float(t)


def wape(y, pred):
    y = np.asarray(y, dtype=np.float64)
    return float(np.abs(y - pred).sum() / max(1e-12, np.abs(y).sum()))


def pinball(y, pred, alpha):
    d = np.asarray(y) - np.asarray(pred)
    return float(np.mean(np.maximum(alpha * d, (alpha - 1) * d)))


def reference_histogram(values):
    """Ten quantile bins from the training split. `cuts` are the distinct
    interior decile edges (fewer than 9 when the feature is discrete); a value
    x falls in bin i = number of cuts c with c <= x, so len(shares) ==
    len(cuts) + 1. Non-finite values are counted apart in `missing_share`."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return {"cuts": [], "shares": [1.0], "missing_share": 1.0}
    qs = np.quantile(finite, np.linspace(0.1, 0.9, 9), method="lower")
    cuts = np.unique(qs.astype(np.float32)).astype(np.float64)
    # a cut equal to the minimum would leave an empty first bin: drop it
    cuts = cuts[cuts > finite.min()]
    bins = np.searchsorted(cuts, finite, side="right")
    shares = np.bincount(bins, minlength=len(cuts) + 1) / finite.size
    return {
        "cuts": [float(c) for c in cuts],
        "shares": [round(float(s), 6) for s in shares],
        "min": float(np.float32(finite.min())),
        "max": float(np.float32(finite.max())),
        "mean": round(float(finite.mean()), 6),
        "missing_share": round(1 - finite.size / v.size, 6),
    }
