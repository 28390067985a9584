"""Totals over the per-image results of `canopy-cloud eval --json`, for accuracy.sh and sweep.sh."""

import statistics


def summary(imgs):
    """Images, true and found trees, precision, recall and F1 over all boxes, the total count error
    (found - true over the set, relative to true), the median and mean per-image relative count error
    (images with trees only) and the mean absolute count error per image (every image, in trees)."""
    t = sum(i["true_count"] for i in imgs)
    p = sum(i["predicted_count"] for i in imgs)
    m = sum(i["matched"] for i in imgs)
    pr = m / p if p else 0.0
    rc = m / t if t else 0.0
    f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
    rel = [i["count_error_rel"] for i in imgs if i["true_count"] > 0]
    return dict(n=len(imgs), t=t, p=p, pr=pr, rc=rc, f1=f1, tot=(p - t) / t if t else 0.0,
                med=statistics.median(rel) if rel else 0.0, mean=statistics.mean(rel) if rel else 0.0,
                mae=statistics.mean(abs(i["predicted_count"] - i["true_count"]) for i in imgs) if imgs else 0.0)
