#!/bin/bash
# Interleaved A/B of two mixq binaries on the same model files (bench/RESULTS.md "Before and after"):
#   OLD=/path/to/old/mixq NEW=build/tools/mixq bash bench/ab_binaries.sh resnet50_i8.mixq modes/ppocr_rec_qint16_mixed_float32.mixq ...
# Files are relative to build/bench_models. ROUNDS (3), THREADS (1), ITERATIONS (10). For each round and file the old
# binary runs, then the new; the last lines give, per file, each binary's fastest inference over all its runs (the
# "min" of mixq bench, minimum over rounds): on a shared machine the least disturbed figure.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OLD=${OLD:?set OLD to the other binary}
NEW=${NEW:-build/tools/mixq}
for round in $(seq "${ROUNDS:-3}"); do
  for f in "$@"; do
    o=$("$OLD" bench "build/bench_models/$f" --threads "${THREADS:-1}" --iterations "${ITERATIONS:-10}" 2>&1 | awk '/latency/ {print $4}')
    n=$("$NEW" bench "build/bench_models/$f" --threads "${THREADS:-1}" --iterations "${ITERATIONS:-10}" 2>&1 | awk '/latency/ {print $4}')
    echo "round $round $f old $o new $n"
  done
done | tee /dev/stderr | awk '{f = $3; if (!(f in o) || $5 < o[f]) o[f] = $5; if (!(f in n) || $7 < n[f]) n[f] = $7}
  END {for (f in o) printf "%-45s old %8.2f new %8.2f new/old %.2f\n", f, o[f], n[f], n[f] / o[f]}' | sort
