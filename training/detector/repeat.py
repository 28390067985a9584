#!/usr/bin/env python3
"""repeat.py: how far two hand annotations of the same plot disagree on its count.

Some NEON plots in ../shared/data/train were flown and annotated in two
years (neon_ttv's ABBY, DEJU and DELA 2018 and 2019 plots; neon_hist's SJER
2017 and 2018). Taking one year's count as a "prediction" of the other's
gives the per-image count error, |found - true| / true, of one human
annotation against another: a floor under what any counter can be shown to
reach against these labels.

    training/detector/repeat.py [DATA]      (DATA: default ../shared/data)

Pairs with identical boxes in both years are one annotation copied to the
other flight, not a second opinion, and are left out.
"""
import csv
import os
import re
import statistics
import sys
from collections import defaultdict

PLOT = re.compile(r"([A-Z]{4}_\d{3})_(\d{4})[_.]")


def load(data):
    """Returns {(folder, plot): {year: sorted boxes}}."""
    plots = defaultdict(dict)
    for folder in ("neon_hist", "neon_ttv"):
        d = os.path.join(data, "train", folder)
        boxes = defaultdict(list)
        with open(os.path.join(d, "annotations.csv")) as f:
            for r in csv.DictReader(f):
                boxes[r["image"]].append(tuple(int(float(r[k])) for k in ("xmin", "ymin", "xmax", "ymax")))
        with open(os.path.join(d, "images.csv")) as f:
            for r in csv.DictReader(f):
                m = PLOT.match(r["image"])
                if m:
                    plots[folder, m.group(1)][m.group(2)] = sorted(boxes[r["image"]])
    return plots


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    errs, copies = defaultdict(list), defaultdict(int)
    print("| folder | plot | years | counts | count error, each year as truth |")
    print("| --- | --- | --- | --- | --- |")
    for (folder, plot), years in sorted(load(data).items()):
        if len(years) != 2:
            continue
        (ya, a), (yb, b) = sorted(years.items())
        if a == b:
            copies[folder] += 1
            continue
        na, nb = len(a), len(b)
        e = [abs(na - nb) / nb, abs(na - nb) / na]
        errs[folder] += e
        print(f"| {folder} | {plot} | {ya}, {yb} | {na}, {nb} | {100 * e[0]:.0f}%, {100 * e[1]:.0f}% |")
    print()
    for folder, e in sorted(errs.items()):
        print(f"- {folder}: {len(e) // 2} plots annotated twice ({copies[folder]} more carry one annotation"
              f" copied to both years): median count error {100 * statistics.median(e):.0f}%,"
              f" mean {100 * statistics.mean(e):.0f}%")


if __name__ == "__main__":
    main()
