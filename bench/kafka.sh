#!/usr/bin/env bash
# The Kafka benchmarks of BENCHMARKS.md, on a real Apache Kafka broker
# (tests/kafka/broker.sh; started here when KAFKA_BOOTSTRAP is not set):
#
#  1. ingest: a topic pre-filled with N orders (default 3,000,000 over 8
#     partitions, N/4 customers) is read to its end by rfmd (new group, empty
#     state) and by kcat to /dev/null, interleaved, RUNS times each. rfmd's
#     rate counts from its first message (group join excluded); kcat's from
#     process start to exit (its connection setup included). Medians, ratio.
#  2. latency: the last rfmd keeps running on the scored backlog while
#     rfm-bench-latency produces orders of new customers at RATE/s for SECS
#     seconds and times each one to its segment-change event: p50, p99.
#
# RFM_BENCH_CHANGELOG=on runs rfmd with changelog.enabled; =alternate turns
# it on for the even-numbered rfmd runs only (off, on, off, ...) and reports
# the medians of both and their ratio as well.
#
# usage: bench/kafka.sh [ORDERS [RUNS [RATE [SECS]]]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/scripts/lib/kafka.sh"
kafka_reexec 8 "$@"
n=${1:-3000000}
runs=${2:-3}
rate=${3:-10000}
secs=${4:-30}
boot=$KAFKA_BOOTSTRAP
kafka_build rfmd rfm-replay rfm-bench-latency
kafka_tmp

kafka_bench_header Kafka

kafka_orders 0 "$n" $((n / 4)) >"$tmp/orders.jsonl"
t0=$(date +%s.%N)
"$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders "$tmp/orders.jsonl" 2>/dev/null
t1=$(date +%s.%N)
echo
echo "## pre-fill: $n orders ($((n / 4)) customers) by rfm-replay in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

start_rfmd() { # run-number
    mkdir -p "$tmp/state$1"
    kafka_rfmd_config "$tmp/rfmd$1.yaml" "rfmd-bench-$1" 10m "$tmp/state$1" 10m
    case ${RFM_BENCH_CHANGELOG:-off}:$(($1 % 2)) in
    on:* | alternate:0) printf 'changelog:\n  enabled: true\n' >>"$tmp/rfmd$1.yaml" ;;
    esac
    kafka_rfmd_start "$build/rfmd" "$tmp/rfmd$1.yaml" "$tmp/rfmd$1.log"
}

echo
echo "## ingest of the pre-filled topic, $runs interleaved runs"
: >"$tmp/rfmd.rates"
: >"$tmp/kcat.rates"
for i in $(seq 1 "$runs"); do
    s=$(date +%s.%N)
    kafka_consume orders >/dev/null
    e=$(date +%s.%N)
    kr=$(awk -v n="$n" -v a="$s" -v b="$e" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "$kr" >>"$tmp/kcat.rates"

    start_rfmd "$i"
    kafka_wait_log "$tmp/rfmd$i.log" "backlog consumed" 600
    rr=$(sed -n 's/.*backlog consumed: \([0-9]*\) messages.* s and \([0-9.]*\)\/s from the first message.*/\2/p' "$tmp/rfmd$i.log")
    got=$(sed -n 's/.*backlog consumed: \([0-9]*\) messages.*/\1/p' "$tmp/rfmd$i.log")
    [ "$got" = "$n" ] || { echo "rfmd consumed $got of $n" >&2; exit 1; }
    echo "$rr" >>"$tmp/rfmd.rates"
    if grep -q '^changelog:' "$tmp/rfmd$i.yaml"; then echo "$rr" >>"$tmp/cl-on.rates"; else echo "$rr" >>"$tmp/cl-off.rates"; fi
    printf 'run %d: kcat %.0f orders/s, rfmd %.0f orders/s\n' "$i" "$kr" "$rr"
    if [ "$i" -lt "$runs" ]; then
        kafka_rfmd_stop
    fi
done
km=$(kafka_median <"$tmp/kcat.rates")
rm=$(kafka_median <"$tmp/rfmd.rates")
printf 'ingest_kcat_orders_per_s_median %.0f\n' "$km"
printf 'ingest_rfmd_orders_per_s_median %.0f\n' "$rm"
awk -v r="$rm" -v k="$km" 'BEGIN { printf "ingest_ratio_rfmd_to_kcat %.2f\n", r / k }'
if [ "${RFM_BENCH_CHANGELOG:-off}" = alternate ] && [ -s "$tmp/cl-on.rates" ]; then
    off=$(kafka_median <"$tmp/cl-off.rates")
    on=$(kafka_median <"$tmp/cl-on.rates")
    printf 'ingest_rfmd_changelog_off_orders_per_s_median %.0f\n' "$off"
    printf 'ingest_rfmd_changelog_on_orders_per_s_median %.0f\n' "$on"
    awk -v a="$on" -v b="$off" 'BEGIN { printf "ingest_ratio_changelog_on_to_off %.2f\n", a / b }'
fi

echo
echo "## latency: new customers' orders at $rate/s for $secs s into the running rfmd"
# The first rescore publishes an event per customer: measure after they are
# delivered.
kafka_wait_drained "$tmp/rfmd$runs.log" 300
"$build/rfm-bench-latency" "$boot" orders rfm.segments "$rate" "$secs"
kafka_rfmd_stop
