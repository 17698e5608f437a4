#!/usr/bin/env python3
"""The performance targets of the load benchmark, as ratios to the peers of the same run.

Reads the kit's results.csv (written by its run.sh, driven by bench/load.sh) and prints, for
each build of resizer measured, its throughput against the best peer on each workload and its
peak memory against the libvips service's, beside the target, and whether the target is met.
Figures from different runs are not comparable on this machine, so only rows at or after
--since count (bench/load.sh passes the time it started); of several rows for one server and
workload the least disturbed one is kept (lowest foreign CPU, then the latest).

A row is marked disturbed when more than 0.1 core of foreign CPU ran beside it (the kit's
CONTENDED mark): run that server and workload again, the least disturbed row is kept.

Throughput is answers served per second, 2xx only: under `srcset` resizer answers part of a
deep queue `503 overloaded` quickly, and those must not count as work done.

    bench/targets.py [--since 2026-12-01T18:00:00+00:00] [results.csv]
"""
import argparse
import csv
import sys

# (workload, target for the turbo build, for the default build): served/s against the best peer
THROUGHPUT = [("sources", 1.3, 1.0), ("srcset", 1.3, 1.0), ("distinct", 4.0, 3.0)]
# (workload, target for both builds): peak RSS against the libvips service's
MEMORY = [("sources", 0.5), ("srcset", 0.5)]
BUILDS = [("resizer-turbo", "`turbo` build (shipped)"), ("resizer", "default build")]
# Peers whose answers are the same work: oximg is left out of srcset, where it fits inside
# WxH and caches results (six distinct outputs), which bench/load.sh does not run.
PEERS = {"sources": ["vips", "oximg"], "distinct": ["vips", "oximg"], "srcset": ["vips"]}


def disturbed(r):
    """More than 0.1 core of foreign CPU beside the row (the kit's CONTENDED mark)."""
    return float(r.get("foreign_cpu") or 0) > 0.1


def least_disturbed(rows, since):
    best = {}
    for r in rows:
        if since and r["date"] < since:
            continue
        key = (r["peer"], r["workload"])
        if key not in best or float(r.get("foreign_cpu") or 0) <= float(best[key].get("foreign_cpu") or 0):
            best[key] = r
    return best


def served_per_second(r):
    seconds = float(r["seconds"])
    return (int(r["requests"]) - int(r["errors"])) / seconds if seconds > 0 else 0.0


def row(runs, title, workload, cell):
    """One line of the table: `cell(own_row, column)` for each build, "not run" where absent."""
    cells = []
    for column, (name, _) in enumerate(BUILDS):
        own = runs.get((name, workload))
        if own is None:
            cells.append("not run")
        else:
            cells.append(cell(own, column) + (" (disturbed)" if disturbed(own) else ""))
    print(f"| {title} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="?", default="results.csv")
    ap.add_argument("--since", default="", help="ISO time: ignore rows before it")
    args = ap.parse_args()
    with open(args.csv) as f:
        runs = least_disturbed(list(csv.DictReader(f)), args.since)

    print("| target | " + " | ".join(label for _, label in BUILDS) + " |")
    print("| --- |" + " --- |" * len(BUILDS))
    missing = False
    for workload, *targets in THROUGHPUT:
        peers = [runs[(p, workload)] for p in PEERS[workload] if (p, workload) in runs]
        if not peers:
            missing = True
            continue
        best = max(peers, key=served_per_second)
        peer_rate = served_per_second(best)
        peer = best["peer"] + (" disturbed" if disturbed(best) else "")

        def cell(own, column):
            rate = served_per_second(own)
            ratio = rate / peer_rate if peer_rate else float("inf")
            verdict = "met" if ratio >= targets[column] else "missed"
            return f"{rate:.1f} / {peer_rate:.1f} ({peer}) = **{ratio:.2f}x**: {verdict}"

        against = "libvips" if PEERS[workload] == ["vips"] else "the best peer"
        row(runs, f"{workload} served/s, against {against} (>= {targets[0]}x / {targets[1]}x)", workload, cell)
    for workload, target in MEMORY:
        vips = runs.get(("vips", workload))
        if vips is None:
            missing = True
            continue

        def cell(own, _column):
            ratio = float(own["peak_rss_mb"]) / float(vips["peak_rss_mb"])
            verdict = "met" if ratio <= target else "missed"
            return f"{own['peak_rss_mb']} / {vips['peak_rss_mb']} MB = **{ratio:.2f}x**: {verdict}"

        row(runs, f"peak RSS on {workload}, against libvips (<= {target}x)", workload, cell)
    if missing:
        print("\n(some targets have no peer figure in this run: run bench/load.sh with `vips oximg`)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
