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
# usage: bench/kafka.sh [ORDERS [RUNS [RATE [SECS]]]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
    exec "$here/tests/kafka/broker.sh" run --partitions 8 -- "$0" "$@"
fi
n=${1:-3000000}
runs=${2:-3}
rate=${3:-10000}
secs=${4:-30}
boot=$KAFKA_BOOTSTRAP
build=${RFM_BENCH_BUILD:-$here/build-bench}
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target rfmd rfm-replay rfm-bench-latency >"$build.log" ||
    { cat "$build.log" >&2; exit 1; }

tmp=$(mktemp -d)
rfmd_pid=""
cleanup() {
    [ -n "$rfmd_pid" ] && kill -KILL "$rfmd_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "# rfmd Kafka benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, Kafka broker on 127.0.0.1"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

awk -v n="$n" 'BEGIN {
    nc = int(n / 4)
    for (i = 0; i < n; i++) {
        c = (i * 7919) % nc
        printf "{\"order_id\":\"o%d\",\"customer_id\":\"c%09d\",\"ts\":\"2021-%02d-%02dT10:00:00Z\",\"amount\":%d.%02d}\n",
            i, c, 1 + i % 12, 1 + i % 28, 5 + i % 300, i % 100
    }
}' >"$tmp/orders.jsonl"
t0=$(date +%s.%N)
"$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders "$tmp/orders.jsonl" 2>/dev/null
t1=$(date +%s.%N)
echo
echo "## pre-fill: $n orders ($((n / 4)) customers) by rfm-replay in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

start_rfmd() { # run-number
    mkdir -p "$tmp/state$1"
    cat >"$tmp/rfmd$1.yaml" <<YAML
kafka:
  brokers: "$boot"
  group_id: rfmd-bench-$1
rescore:
  interval: 10m
snapshot:
  dir: "$tmp/state$1"
  interval: 10m
http:
  listen: ""
YAML
    "$build/rfmd" -c "$tmp/rfmd$1.yaml" >"$tmp/rfmd$1.log" 2>&1 &
    rfmd_pid=$!
}

wait_log() { # file pattern seconds
    local end=$((SECONDS + $3))
    until grep -q "$2" "$1"; do
        [ $SECONDS -lt $end ] || { echo "timeout waiting for '$2' in $1" >&2; tail "$1" >&2; exit 1; }
        sleep 0.1
    done
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
echo "## ingest of the pre-filled topic, $runs interleaved runs"
: >"$tmp/rfmd.rates"
: >"$tmp/kcat.rates"
for i in $(seq 1 "$runs"); do
    s=$(date +%s.%N)
    kcat -C -b "$boot" -t orders -o beginning -e -q >/dev/null
    e=$(date +%s.%N)
    kr=$(awk -v n="$n" -v a="$s" -v b="$e" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "$kr" >>"$tmp/kcat.rates"

    start_rfmd "$i"
    wait_log "$tmp/rfmd$i.log" "backlog consumed" 600
    rr=$(sed -n 's/.*backlog consumed: \([0-9]*\) messages.* s and \([0-9.]*\)\/s from the first message.*/\2/p' "$tmp/rfmd$i.log")
    got=$(sed -n 's/.*backlog consumed: \([0-9]*\) messages.*/\1/p' "$tmp/rfmd$i.log")
    [ "$got" = "$n" ] || { echo "rfmd consumed $got of $n" >&2; exit 1; }
    echo "$rr" >>"$tmp/rfmd.rates"
    printf 'run %d: kcat %.0f orders/s, rfmd %.0f orders/s\n' "$i" "$kr" "$rr"
    if [ "$i" -lt "$runs" ]; then
        kill -TERM "$rfmd_pid"
        wait "$rfmd_pid" || true
        rfmd_pid=""
    fi
done
km=$(median <"$tmp/kcat.rates")
rm=$(median <"$tmp/rfmd.rates")
printf 'ingest_kcat_orders_per_s_median %.0f\n' "$km"
printf 'ingest_rfmd_orders_per_s_median %.0f\n' "$rm"
awk -v r="$rm" -v k="$km" 'BEGIN { printf "ingest_ratio_rfmd_to_kcat %.2f\n", r / k }'

echo
echo "## latency: new customers' orders at $rate/s for $secs s into the running rfmd"
wait_log "$tmp/rfmd$runs.log" "rescore (caught up)" 300
# The first rescore publishes an event per customer: measure after they are
# delivered (a progress line after the rescore with nothing pending).
end=$((SECONDS + 300))
until sed -n '/rescore (caught up)/,$p' "$tmp/rfmd$runs.log" | grep -q 'pending 0;'; do
    [ $SECONDS -lt $end ] || { echo "rfmd's events did not drain" >&2; exit 1; }
    sleep 0.5
done
"$build/rfm-bench-latency" "$boot" orders rfm.segments "$rate" "$secs"
kill -TERM "$rfmd_pid"
wait "$rfmd_pid" || true
rfmd_pid=""
