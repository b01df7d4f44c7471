#!/usr/bin/env python3
"""Builds the input of summary.gp from the benchmark JSONs.

Usage: summary.py RESULTS_DIR

Reads RESULTS_DIR/<name>.json and writes RESULTS_DIR/summary.dat (one data
block per panel: label, value, min, max, colour, value text) and
RESULTS_DIR/summary_panels.gp (panel count, titles, y labels, goals, log
scales) for summary.gp. Also prints the table of medians and ratios.
Plain python3 standard library only.
"""

import json
import os
import sys

OURS, BASE, BASE2 = 1, 2, 3


def short(x):
    """A number in at most 4 significant characters: 764k, 1.2M, 2467."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= limit * 10 or (abs(x) >= limit and suffix != "k"):
            v = x / limit
            return ("%.1f%s" if v < 10 else "%.0f%s") % (v, suffix)
    if abs(x) >= 100:
        return "%.0f" % x
    return "%.3g" % x


def load(results, name):
    path = os.path.join(results, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def bar(label, value, lo=None, hi=None, colour=OURS):
    lo = value if lo is None else lo
    hi = value if hi is None else hi
    return (label, value, lo, hi, colour)


def ours(r, label):
    return bar(label, r["median"], r["min"], r["max"], OURS)


def baseline(r, label):
    b = r["baseline"]
    return bar(label, b["median"], b.get("min"), b.get("max"), BASE)


def panels(results):
    """Yields (title, ylabel, goal or None, bars)."""
    r = load(results, "stub_request")
    if r:
        yield ("stub\\_request: ratio %.2f (goal >= 0.7)" % r["ratio"],
               "requests/s", None,
               [ours(r, "stubs"), baseline(r, "raw CAF")])
    r = load(results, "hot_object")
    if r:
        f = r["figures"]
        yield ("hot\\_object: %s/s (goal 100k/s)" % short(r["median"]),
               "increments/s", f.get("goal"),
               [ours(r, "one object"), baseline(r, "LMDB x1"),
                bar("LMDB x100",
                    f.get("raw_lmdb_batched_100_median", 0), colour=BASE2)])
    for name, what in (("spread_uniform", "uniform"), ("spread_zipf", "Zipf 1.1")):
        r = load(results, name)
        if r:
            f = r["figures"]
            small = [(k, v) for k, v in f.items() if k.startswith("in_flight_")]
            bars = [ours(r, "10k objects"), baseline(r, "LMDB same batch"),
                    bar("LMDB x100", f.get("raw_lmdb_batched_100_median", 0),
                        colour=BASE2)]
            for k, v in small:
                bars.append(bar(k.replace("in_flight_", "") + " in flight", v))
            yield ("spread, %s: %s/s, ratio %.2f (goal 150k/s)"
                   % (what, short(r["median"]), r["ratio"]),
                   "increments/s", f.get("goal"), bars)
    r = load(results, "activation")
    if r:
        yield ("activation: %s/s, ratio %.2f (goal 200k/s)"
               % (short(r["median"]), r["ratio"]),
               "activations/s", r["figures"].get("goal"),
               [ours(r, "objects"), baseline(r, "raw CAF spawn")])
    r = load(results, "activation_rss")
    if r:
        yield ("idle object: %s B, ratio %.2f (goal 2 KiB)"
               % (short(r["median"]), r["ratio"]),
               "bytes of RSS per live object", r["figures"].get("goal"),
               [ours(r, "object"), baseline(r, "plain CAF actor")])
    r = load(results, "million")
    if r:
        f = r["figures"]
        yield ("million (%s objects): peak %s MiB (goal 2 GiB)"
               % (short(float(r["params"].get("objects", 0))),
                  short(r["median"])),
               "MiB RSS", f.get("goal_peak_mib"),
               [ours(r, "peak"),
                bar("after eviction", f.get("rss_after_eviction_mib", 0),
                    colour=BASE),
                bar("+malloc\\_trim", f.get("rss_after_eviction_trimmed_mib", 0),
                    colour=BASE2)])
    r = load(results, "latency")
    if r:
        f = r["figures"]
        yield ("latency at %s/s (half the peak)"
               % short(f.get("offered_per_second", 0)),
               "microseconds", None,
               [bar("p50", f["p50_us"]),
                bar("LMDB p50", f["raw_p50_us"], colour=BASE),
                bar("p99", f["p99_us"], r["min"], r["max"]),
                bar("LMDB p99", f["raw_p99_us"], r["baseline"].get("min"),
                    r["baseline"].get("max"), colour=BASE),
                bar("p99.9", f["p999_us"]),
                bar("LMDB p99.9", f["raw_p999_us"], colour=BASE)])


    r = load(results, "http_vs_workerd")
    if r:
        f = r["figures"]
        yield ("HTTP vs workerd: %.0fx (1 object), %.0fx (1000) (goal 20x)"
               % (f["single_rps_ratio"], f["spread_rps_ratio"]),
               "requests/s", None,
               [ours(r, "1 object"), baseline(r, "workerd"),
                bar("1000 objects", f["spread_ours_rps"]),
                bar("workerd 1000", f["spread_workerd_rps"], colour=BASE)])
    r = load(results, "cluster_request")
    if r:
        f = r["figures"]
        yield ("cluster\\_request A->B: ratio %.2f (goal >= 0.7)" % r["ratio"],
               "requests/s", None,
               [ours(r, "stubs"), baseline(r, "raw CAF"),
                bar("relay floor", f.get("relay_floor_per_second_median", 0),
                    colour=BASE2)])
    r = load(results, "cluster_first_access")
    if r:
        f = r["figures"]
        yield ("first access from another node",
               "microseconds", None,
               [bar("named p50", f["named_p50_us"]),
                bar("unique p50", f["unique_p50_us"]),
                bar("raw p50", f["raw_p50_us"], colour=BASE),
                bar("named p99", f["named_p99_us"], r["min"], r["max"]),
                bar("unique p99", f["unique_p99_us"]),
                bar("raw p99", f["raw_p99_us"], r["baseline"].get("min"),
                    r["baseline"].get("max"), colour=BASE)])


def table(results):
    names = ["stub_request", "hot_object", "spread_uniform", "spread_zipf",
             "activation", "activation_rss", "million", "latency",
             "http_vs_workerd", "cluster_request", "cluster_local_overhead",
             "cluster_hot_object", "cluster_first_access"]
    rows = []
    for name in names:
        r = load(results, name)
        if not r:
            rows.append("| %s | (missing) | | | | |" % name)
            continue
        b = r["baseline"]
        rows.append("| %s | %s | %s | %s | %s | %.2f |" % (
            name, short(r["median"]), r["unit"], b["name"],
            short(b["median"]), r["ratio"]))
    head = ("| benchmark | median | unit | baseline | baseline median | ratio |\n"
            "|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else "bench-results"
    ps = list(panels(results))
    with open(os.path.join(results, "summary.dat"), "w") as dat:
        for i, (_, _, _, bars) in enumerate(ps):
            if i:
                dat.write("\n\n")
            dat.write("# label value min max colour text\n")
            for label, value, lo, hi, colour in bars:
                dat.write("%s %g %g %g %d %s\n" % (
                    quote(label), value, lo, hi, colour, quote(short(value))))
    with open(os.path.join(results, "summary_panels.gp"), "w") as gp:
        n = max(len(ps), 1)
        gp.write("panels = %d\n" % len(ps))
        for arr in ("titles", "ylabels", "goals", "logscale", "ymin", "ymax",
                    "xrotate"):
            gp.write("array %s[%d]\n" % (arr, n))
        for i, (title, ylabel, goal, bars) in enumerate(ps, 1):
            values = [b[1] for b in bars if b[1] > 0]
            spread = max(values) / min(values) if values else 1
            gp.write("titles[%d] = %s\n" % (i, quote(title)))
            log = spread > 30
            if log:
                ylabel += " (log scale)"
            gp.write("ylabels[%d] = %s\n" % (i, quote(ylabel)))
            gp.write("goals[%d] = %g\n" % (i, goal if goal else 0))
            gp.write("logscale[%d] = %d\n" % (i, 1 if log else 0))
            gp.write("xrotate[%d] = %d\n" % (i, 25 if len(bars) > 3 else 0))
            # Room for the whiskers, the value labels and the goal line.
            top = max([b[3] for b in bars] + [b[1] for b in bars] + [goal or 0])
            low = min(values) if values else 1
            if log:
                gp.write("ymin[%d] = %g\nymax[%d] = %g\n" % (i, low / 3, i, top * 4))
            else:
                gp.write("ymin[%d] = 0\nymax[%d] = %g\n" % (i, i, top * 1.18 or 1))
    print(table(results))


if __name__ == "__main__":
    main()
