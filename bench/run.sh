#!/usr/bin/env bash
# Benchmarks cellkg against its limits on scaled corpora (see BENCHMARKS.md).
#
# usage: bench/run.sh [SIZE_MB...]        default sizes: 10 50
#   e.g. bench/run.sh 10 50 200
#
# For each size: builds a corpus of the seed articles copied with a unique line each
# (bench/make_corpus.py), then measures, in the same run and on the same bytes:
#   - cellkg build (fresh store, --full): per-stage seconds and MB/s (CELLKG_TIMINGS=1),
#     wall time and peak RSS (/usr/bin/time -v);
#   - raw scan: ripgrep fixed-string count of the lexicon labels (rg -F -c -f labels.txt);
#   - oxigraph's own bulk load of the store's N-Quads (examples/bulk_load.rs), beside cellkg's load
#     of the same store (`cellkg query`, which loads it on start);
#   - the Python peer (../shared/peers/pypeer.py, given exports/nodes.csv as its lexicon);
#   - an incremental rebuild after adding one article;
# and, on the smallest size, that --threads 1 and --threads 2 write identical exports.
#
# The cellkg build, the peer and the incremental rebuild run BENCH_REPEAT times (default 3) on
# sizes up to BENCH_REPEAT_UP_TO MB (default 50), once above; the summary gives the median of
# each figure (on a shared machine two runs minutes apart differ by up to ±20 %).
#
# Environment: BENCH_DIR (work directory, default /tmp/cellkg-bench), BENCH_TIMEOUT (seconds
# allowed per run, default 1200), PEER_PYTHON (default /tmp/peer/bin/python), PEER
# (default ../shared/peers/pypeer.py), BENCH_REPEAT, BENCH_REPEAT_UP_TO.
# Results: $BENCH_DIR/results.tsv (one row per run) and a summary on stdout.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cellkg-bench}
TIMEOUT=${BENCH_TIMEOUT:-1200}
REPEAT=${BENCH_REPEAT:-3}
REPEAT_UP_TO=${BENCH_REPEAT_UP_TO:-50}
PEER_PYTHON=${PEER_PYTHON:-/tmp/peer/bin/python}
PEER=${PEER:-$ROOT/../shared/peers/pypeer.py}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10 50)

mkdir -p "$BENCH_DIR"
RESULTS=$BENCH_DIR/results.tsv
: >"$RESULTS"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

# Runs a command under /usr/bin/time -v and a timeout; records wall seconds and peak RSS (MB)
# under the given name. The command's stderr goes to $BENCH_DIR/<name>.err.
measure() {
  local size=$1 name=$2; shift 2
  local err=$BENCH_DIR/$name-$size.err
  # Wall time from bash's microsecond clock: /usr/bin/time gives it in steps of 0.01 s, a
  # tenth of the raw scan's time at 50 MB.
  local t0=$EPOCHREALTIME t1
  if ! /usr/bin/time -v -o "$BENCH_DIR/$name-$size.time" timeout "$TIMEOUT" "$@" \
      >"$BENCH_DIR/$name-$size.out" 2>"$err"; then
    echo "bench: $name on $size MB failed or timed out (see $err)" >&2
    record "$size" "$name.failed" 1
    return 0
  fi
  t1=$EPOCHREALTIME
  local wall rss
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$BENCH_DIR/$name-$size.time")
  record "$size" "$name.wall" "$wall"
  record "$size" "$name.rss_mb" "$rss"
}

echo "bench: building cellkg (release) and the bulk-load anchor" >&2
cargo build --release --quiet --bin cellkg --example bulk_load
# Snapshots of the binaries and the ontology: a rebuild or an ontology edit during the run must
# not change what is measured (an ontology edit would also, rightly, void the cache).
mkdir -p "$BENCH_DIR/bin"
cp target/release/cellkg target/release/examples/bulk_load "$BENCH_DIR/bin/"
rm -rf "$BENCH_DIR/ontology"
cp -r ontology "$BENCH_DIR/ontology"
CELLKG=$BENCH_DIR/bin/cellkg
BULK=$BENCH_DIR/bin/bulk_load

{
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml || echo ' + uncommitted changes')"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "runs per figure: $REPEAT up to $REPEAT_UP_TO MB, 1 above (medians)"
  echo "rustc: $(rustc --version)"
  echo "ripgrep: $({ rg --version 2>/dev/null || echo missing; } | head -1)"
  echo "python peer: $("$PEER_PYTHON" --version 2>&1 || echo missing)"
} >"$BENCH_DIR/machine.txt"
cat "$BENCH_DIR/machine.txt" >&2

# The lexicon the peer and the raw scan use: every label and alias of exports/nodes.csv.
python3 - "$ROOT/exports/nodes.csv" "$BENCH_DIR/labels.txt" <<'EOF'
import csv, sys
labels = set()
for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")):
    for v in [r["label"]] + (r.get("aliases") or "").split("|"):
        v = v.strip()
        if len(v) >= 2:
            labels.add(v)
open(sys.argv[2], "w", encoding="utf-8").write("".join(l + "\n" for l in sorted(labels)))
print("bench: %d lexicon labels" % len(labels), file=sys.stderr)
EOF

for size in "${SIZES[@]}"; do
  corpus=$BENCH_DIR/corpus-$size
  work=$BENCH_DIR/build-$size
  echo "bench: === $size MB ===" >&2
  python3 bench/make_corpus.py seeds "$corpus" "$size" >&2
  bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  record "$size" bytes "$bytes"
  record "$size" files "$(find "$corpus" -type f | wc -l)"
  cat "$corpus"/* >/dev/null # same page cache for every contender
  runs=1
  [ "$size" -le "$REPEAT_UP_TO" ] && runs=$REPEAT

  # Raw scan: the limit for the text stages (after a warm-up run).
  if command -v rg >/dev/null; then
    rg -F -c -f "$BENCH_DIR/labels.txt" "$corpus" >/dev/null || true
    for run in $(seq "$runs"); do
      measure "$size" rg rg -F -c -f "$BENCH_DIR/labels.txt" "$corpus"
    done
  fi

  # cellkg, full build from an empty store.
  for run in $(seq "$runs"); do
    rm -rf "$work"
    echo "bench: cellkg build ($run of $runs)" >&2
    CELLKG_TIMINGS=1 measure "$size" cellkg "$CELLKG" --store "$work/store" build "$corpus" \
      --out "$work/exports" --ontology "$BENCH_DIR/ontology" --full
    grep '^cellkg: timing' "$BENCH_DIR/cellkg-$size.err" | while read -r _ _ stage secs _ rate _; do
      record "$size" "stage.$stage" "$secs"
    done
    grep '^cellkg: built' "$BENCH_DIR/cellkg-$size.err" >&2 || true
  done

  # oxigraph's bulk load of the same quads: the limit for the store.
  if [ -f "$work/store/store.nq" ]; then
    record "$size" nquads_bytes "$(stat -c %s "$work/store/store.nq")"
    "$BULK" "$work/store/store.nq" >/dev/null # warm
    measure "$size" bulk_load "$BULK" "$work/store/store.nq"
    sed -n 's/.*quads=\([0-9]*\) seconds=\([0-9.]*\).*/\1 \2/p' "$BENCH_DIR/bulk_load-$size.out" |
      while read -r quads secs; do record "$size" quads "$quads"; record "$size" bulk_load.load "$secs"; done
    # cellkg's own load of the store it built (what `query`, `serve` and `export` do on start).
    measure "$size" storeload "$CELLKG" --store "$work/store" query 'ASK { ?s ?p ?o }'
  fi

  # The Python peer.
  if [ -x "$PEER_PYTHON" ] && [ -f "$PEER" ]; then
    for run in $(seq "$runs"); do
      echo "bench: python peer ($run of $runs)" >&2
      rm -rf "$BENCH_DIR/peer-$size"
      measure "$size" peer "$PEER_PYTHON" "$PEER" "$ROOT/exports/nodes.csv" "$corpus" "$BENCH_DIR/peer-$size"
      cat "$BENCH_DIR/peer-$size.out" >&2 || true
    done
  fi

  # Incremental: one more article, rebuild with the cache of the full build. Between runs the
  # article is taken out again and the store brought back to the corpus (not measured).
  if [ -d "$work/store/cache" ]; then
    for run in $(seq "$runs"); do
      echo "bench: incremental rebuild, one article added ($run of $runs)" >&2
      { cat seeds/000_623db6f989ca1197.txt; printf '\n(benchmark: one added article)\n'; } \
        >"$corpus/zz_added_article.txt"
      CELLKG_TIMINGS=1 measure "$size" incremental "$CELLKG" --store "$work/store" build "$corpus" \
        --out "$work/exports" --ontology "$BENCH_DIR/ontology"
      grep '^cellkg: built' "$BENCH_DIR/incremental-$size.err" >&2 || true
      grep '^cellkg: timing' "$BENCH_DIR/incremental-$size.err" | while read -r _ _ stage secs _; do
        record "$size" "incremental.$stage" "$secs"
      done
      rm -f "$corpus/zz_added_article.txt"
      if [ "$run" -lt "$runs" ]; then
        "$CELLKG" --store "$work/store" build "$corpus" --out "$work/exports" \
          --ontology "$BENCH_DIR/ontology" 2>/dev/null
      fi
    done
  fi
done

# Thread-count determinism on the smallest size.
small=${SIZES[0]}
echo "bench: --threads 1 vs --threads 2 on $small MB" >&2
for t in 1 2; do
  rm -rf "$BENCH_DIR/threads-$t"
  measure "$small" "threads$t" "$CELLKG" --store "$BENCH_DIR/threads-$t/store" build \
    "$BENCH_DIR/corpus-$small" --out "$BENCH_DIR/threads-$t/exports" --ontology "$BENCH_DIR/ontology" --full --threads "$t"
done
if diff -r "$BENCH_DIR/threads-1/exports" "$BENCH_DIR/threads-2/exports" >/dev/null; then
  record "$small" threads_identical yes
else
  record "$small" threads_identical NO
fi

python3 bench/summary.py "$RESULTS" "$BENCH_DIR/machine.txt" | tee "$BENCH_DIR/summary.md"
