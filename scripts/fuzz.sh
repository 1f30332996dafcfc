#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz and runs
# each one for a while on a copy of its corpus, one at a time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]    default 60
#   FUZZ_TARGETS="csv snapshot" scripts/fuzz.sh 300
#
# Prints, per target, how many inputs it ran and what it found. Exits non-zero
# when any target crashed, leaked, hung or ran out of memory; the input that
# did it is kept under build-fuzz/fuzz-run/TARGET/ (reproduce with
# build-fuzz/fuzz_TARGET FILE). New inputs a run finds stay there too: copy
# the interesting ones into tests/fuzz/corpus/TARGET by hand.
#
# The targets run in-process, one after the other: the machines this runs on
# share their cores, so there is never more than one fuzzer process.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-60}
case $secs in '' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac
targets=${FUZZ_TARGETS:-event config snapshot csv changelog score_round}

# The engine's code only; none of the Kafka side is built here.
CC=clang cmake -S . -B build-fuzz -G Ninja -DRFM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz

# A leak or an abort must fail the run; symbolized stacks for the report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in $targets; do
    run=build-fuzz/fuzz-run/$t
    rm -rf "$run"
    mkdir -p "$run/artifacts"
    cp -r "tests/fuzz/corpus/$t" "$run/corpus"
    log=$run/fuzz.log
    rc=0
    # -timeout: no input of these targets needs more than a few seconds; one
    # that does is a hang. -rss_limit_mb: libFuzzer's default, said out loud.
    "build-fuzz/fuzz_$t" "$run/corpus" -max_total_time="$secs" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$run/artifacts/" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    mapfile -t found < <(find "$run/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    if [ "$rc" -eq 0 ] && [ ${#found[@]} -eq 0 ]; then
        printf 'fuzz_%-9s ok      %12s executions in %ss\n' "$t" "${execs:-?}" "$secs"
        continue
    fi
    failed=1
    printf 'fuzz_%-9s FAILED  %12s executions (exit %d), log %s\n' "$t" "${execs:-?}" "$rc" "$log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*check failed|.*runtime error)' "$log" | head -5 |
        sed 's/^/    /' || true
    for f in "${found[@]}"; do
        echo "    input: $f"
    done
done
exit $failed
