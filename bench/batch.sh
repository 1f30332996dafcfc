#!/usr/bin/env bash
# rfmctl score beside what analysts would use instead (issue 16): the seed
# method on one Online Retail II-like file in rfmctl, Polars, DuckDB and pandas,
# run interleaved (bench/timeit.py) so that all see the same noisy machine.
#
#   bench/batch.sh [RUNS]      RUNS interleaved rounds (default 7)
#
# Steps: a release build of rfmctl; Polars and DuckDB (bench/requirements.txt,
# pinned) installed into the interpreter scripts/python.sh picks (the project's
# venv beside the pinned pandas); the file made by bench/gen_retail.py (1.8M
# lines, cached in the build dir by the generator's hash); each tool run once
# to check that the four tables are equal (a difference is printed, never
# hidden, and makes the script exit 1 after timing) and to read its peak RSS;
# then the timed rounds. Prints medians, min, max and the ratios of each peer
# to rfmctl. Polars and DuckDB use all cores, rfmctl and pandas one (today).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
runs=${1:-7}
build=${RFM_BENCH_BUILD:-$here/build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target rfmctl >"$build.log" || { cat "$build.log" >&2; exit 1; }
py="$here/scripts/python.sh"

# Polars and DuckDB at the pinned versions, next to pandas.
want=$(tr '\n' ' ' <bench/requirements.txt)
check='import sys, importlib.metadata as m
want = dict(l.split("==") for l in sys.argv[1].split())
sys.exit(any(m.version(k) != v for k, v in want.items()))'
if ! "$py" -c "$check" "$want" 2>/dev/null; then
    "$py" -m pip install -q -r bench/requirements.txt >&2
fi

tag=$(sha256sum bench/gen_retail.py | cut -c1-12)
data="$build/retail-1.8M-$tag.csv"
if [ ! -s "$data" ]; then
    python3 bench/gen_retail.py >"$data.tmp"
    mv "$data.tmp" "$data"
fi

rfmctl=("$build/rfmctl" score --format retail "$data")
polars=("$py" bench/seed_rfm_df.py --engine polars "$data")
duckdb=("$py" bench/seed_rfm_df.py --engine duckdb "$data")
pandas=("$py" tests/ref/seed_rfm.py --format retail "$data")

echo "# rfmctl vs Polars, DuckDB, pandas — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# file: $(basename "$data"), $(($(wc -l <"$data") - 1)) lines, $(($(stat -c %s "$data") / 1000000)) MB"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# One untimed run each: the tables, and peak RSS of the process tree.
rss='import resource, subprocess, sys
with open(sys.argv[1], "wb") as f:
    subprocess.run(sys.argv[2:], stdout=f, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)'
for t in rfmctl polars duckdb pandas; do
    declare -n cmd=$t
    printf 'rss %s %s MB\n' "$t" "$(python3 -c "$rss" "$out/$t.csv" "${cmd[@]}" 2>/dev/null)"
done
same=0
for t in polars duckdb pandas; do
    if cmp -s "$out/rfmctl.csv" "$out/$t.csv"; then
        echo "equal rfmctl $t ($(($(wc -l <"$out/rfmctl.csv") - 1)) customers)"
    else
        same=1
        echo "DIFFERENT rfmctl $t: $(diff "$out/rfmctl.csv" "$out/$t.csv" | grep -c '^>') rows differ:"
        diff "$out/rfmctl.csv" "$out/$t.csv" | head -20
    fi
done

echo
echo "## $runs interleaved runs: name median_s min_s max_s"
"$py" bench/timeit.py "$runs" rfmctl -- "${rfmctl[@]}" ::: polars -- "${polars[@]}" ::: \
    duckdb -- "${duckdb[@]}" ::: pandas -- "${pandas[@]}" |
    awk '{print; m[$1]=$2}
         END {
           fast = m["polars"] < m["duckdb"] ? m["polars"] : m["duckdb"]
           printf "ratio rfmctl/polars %.3f  rfmctl/duckdb %.3f  rfmctl/faster %.3f (goal <= 0.2)\n",
                  m["rfmctl"]/m["polars"], m["rfmctl"]/m["duckdb"], m["rfmctl"]/fast
           printf "ratio pandas/rfmctl %.1fx\n", m["pandas"]/m["rfmctl"]
         }'
exit $same
