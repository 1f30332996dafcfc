#!/usr/bin/env bash
# The engine and batch-scorer benchmarks of BENCHMARKS.md. Builds a release
# tree, then reports (medians over REPEATS runs):
#   - engine apply rate, RSS per customer, recompute+rescore, at 1M and 10M
#     customers (bench/bench_engine.c, synthetic Zipf-like orders, 36-char ids)
#   - `rfmctl score` beside pandas running the seed method on the same file, in
#     the same run, interleaved (bench/timeit.py), as a ratio
#
#   bench/run.sh [--quick]     --quick: 1M customers only, 3 timing runs
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
shared=${RFM_SHARED:-$here/../shared}
build=${RFM_BENCH_BUILD:-$here/build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target rfm-bench-engine rfmctl >"$build.log" || { cat "$build.log" >&2; exit 1; }
py="$here/scripts/python.sh"

echo "# rfmd engine benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
sizes="1000000 10000000"
[ $quick -eq 1 ] && sizes="1000000"
for n in $sizes; do
    echo
    echo "## engine, $n customers, $((n * 2)) orders per pass"
    "$build/rfm-bench-engine" "$n" $((n * 2)) 3 "$build"
done

runs=7
[ $quick -eq 1 ] && runs=3
for spec in "flo:$shared/data/flo_data_20k.csv" "retail:$shared/data/online_retail_2010_2011.csv.gz"; do
    fmt=${spec%%:*}
    file=${spec#*:}
    echo
    echo "## rfmctl score vs pandas seed method, $(basename "$file"), $runs interleaved runs"
    "$py" bench/timeit.py "$runs" \
        rfmctl -- "$build/rfmctl" score --format "$fmt" "$file" ::: \
        pandas -- "$py" tests/ref/seed_rfm.py --format "$fmt" "$file" |
        awk '{print; m[$1]=$2} END {printf "ratio pandas/rfmctl %.1fx\n", m["pandas"]/m["rfmctl"]}'
done
