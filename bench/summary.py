#!/usr/bin/env python3
"""Summarises bench/run.sh results as Markdown tables (stdout).

usage: summary.py RESULTS.tsv MACHINE.txt
RESULTS.tsv rows: size_mb, key, value (see bench/run.sh); a key repeated over runs gives the
median of its values; a table gives the spread of the repeated ones.
"""
import sys
from collections import defaultdict

runs = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1], encoding="utf-8"):
    size, key, value = line.rstrip("\n").split("\t")
    runs[int(size)][key].append(value)


def median(values):
    """The median of repeated runs (the lower middle one of an even count); the last value
    when they are not numbers."""
    try:
        xs = sorted(float(v) for v in values)
    except ValueError:
        return values[-1]
    x = xs[(len(xs) - 1) // 2]
    return "%d" % x if all(v.isdigit() for v in values) else repr(x)


rows = {s: {k: median(v) for k, v in keys.items()} for s, keys in runs.items()}
sizes = sorted(rows)


def num(size, key):
    try:
        return float(rows[size][key])
    except (KeyError, ValueError):
        return None


def fmt(x, digits=2):
    return "–" if x is None else ("%.*f" % (digits, x))


def ratio(a, b, digits=1):
    return "–" if a is None or b is None or b == 0 else "%.*f×" % (digits, a / b)


print("## Machine\n")
for line in open(sys.argv[2], encoding="utf-8"):
    print("- " + line.strip())
print()

# "exports" includes the RDF mapping and serialization (N-Quads, Turtle), written beside the
# other files on a second worker; older builds printed a separate "rdf" stage (a store load),
# shown when present.
STAGES = ["ontology", "read", "extract", "cache", "resolve", "rdf", "exports", "store", "total"]
STAGES = [st for st in STAGES if st != "rdf" or any("stage.rdf" in rows[s] for s in sizes)]
print("## cellkg build, per stage (seconds, MB/s of documents)\n")
print("| corpus | files | quads | " + " | ".join(STAGES) + " | wall | peak RSS |")
print("|---" * (len(STAGES) + 5) + "|")
for s in sizes:
    mb = (num(s, "bytes") or 0) / 1e6
    cells = []
    for st in STAGES:
        secs = num(s, "stage." + st)
        rate = mb / secs if secs else None
        cells.append("%s s (%s)" % (fmt(secs), fmt(rate, 1)) if secs is not None else "–")
    quads = num(s, "quads")
    print("| %.1f MB | %s | %s | %s | %s s | %s MB |" % (
        mb, rows[s].get("files", "–"), "–" if quads is None else "{:,}".format(int(quads)),
        " | ".join(cells), fmt(num(s, "cellkg.wall")), rows[s].get("cellkg.rss_mb", "–")))
print()

print("## Anchors and ratios\n")
print("| corpus | raw scan (rg -F) | text stages (read+extract) | ratio | oxigraph bulk load | "
      "cellkg store load | ratio | Python peer | cellkg wall | peer ÷ cellkg | peer RSS |")
print("|---" * 11 + "|")
for s in sizes:
    rg = num(s, "rg.wall")
    text = sum(num(s, "stage." + k) or 0 for k in ("read", "normalize", "extract"))
    # Both as whole processes: bulk_load FILE.nq, and `cellkg query` loading the built store.
    bulk = num(s, "bulk_load.wall")
    rdf = num(s, "storeload.wall")
    peer = num(s, "peer.wall")
    wall = num(s, "cellkg.wall")
    print("| %.1f MB | %s s | %s s | %s | %s s | %s s | %s | %s s | %s s | %s | %s MB |" % (
        (num(s, "bytes") or 0) / 1e6, fmt(rg, 3), fmt(text), ratio(text, rg), fmt(bulk), fmt(rdf),
        ratio(rdf, bulk, 2), fmt(peer), fmt(wall), ratio(peer, wall, 2),
        rows[s].get("peer.rss_mb", "–")))
print()

print("## Spread of the repeated runs (seconds)\n")
print("| corpus | figure | runs | min | median | max |")
print("|---|---|---|---|---|---|")
for s in sizes:
    for key in ("cellkg.wall", "stage.extract", "stage.exports", "peer.wall", "incremental.wall"):
        try:
            xs = sorted(float(v) for v in runs[s].get(key, []))
        except ValueError:
            continue
        if xs:
            print("| %d MB | %s | %d | %s | %s | %s |" % (
                s, key, len(xs), fmt(xs[0]), fmt(num(s, key)), fmt(xs[-1])))
print()

if len(sizes) > 1:
    print("## Growth (seconds per MB, relative to the previous size)\n")
    print("| from → to | bytes × | cellkg wall × | text stages × | exports × | peer × |")
    print("|---|---|---|---|---|---|")
    for a, b in zip(sizes, sizes[1:]):
        def grow(key):
            x, y = num(a, key), num(b, key)
            return ratio(y, x, 2)
        ta = sum(num(a, "stage." + k) or 0 for k in ("read", "extract"))
        tb = sum(num(b, "stage." + k) or 0 for k in ("read", "extract"))
        print("| %d → %d MB | %s | %s | %s | %s | %s |" % (
            a, b, grow("bytes"), grow("cellkg.wall"), ratio(tb, ta, 2),
            grow("stage.exports"), grow("peer.wall")))
    print()

print("## Incremental rebuild (one article added)\n")
print("| corpus | full build | incremental | fraction | extract | exports | store |")
print("|---|---|---|---|---|---|---|")
for s in sizes:
    full, inc = num(s, "cellkg.wall"), num(s, "incremental.wall")
    frac = "–" if not full or inc is None else "%.2f" % (inc / full)
    print("| %d MB | %s s | %s s | %s | %s s | %s s | %s s |" % (
        s, fmt(full), fmt(inc), frac, fmt(num(s, "incremental.extract")),
        fmt(num(s, "incremental.exports")), fmt(num(s, "incremental.store"))))
print()

for s in sizes:
    if "threads_identical" in rows[s]:
        print("Thread count: --threads 1 (%s s) and --threads 2 (%s s) on %d MB: exports identical: %s\n"
              % (fmt(num(s, "threads1.wall")), fmt(num(s, "threads2.wall")), s,
                 rows[s]["threads_identical"]))
failed = [(s, k) for s in sizes for k in rows[s] if k.endswith(".failed")]
for s, k in failed:
    print("FAILED or timed out: %s on %d MB" % (k[:-len(".failed")], s))
