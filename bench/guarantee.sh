#!/usr/bin/env bash
# Exactly-once vs at-least-once (BENCHMARKS.md, issue 12 step 4), on a real
# Apache Kafka broker (tests/kafka/broker.sh; started here when
# KAFKA_BOOTSTRAP is not set), both with changelog.enabled: true:
#
#  1. ingest: a topic pre-filled with N orders (default 3,000,000 over 8
#     partitions, N/4 customers) is read to its end by rfmd with
#     processing.guarantee: at_least_once (ALOS), by rfmd with exactly_once
#     (EOS), each with a new group (so a new changelog topic) and empty state,
#     one at a time, and by kcat to /dev/null: ALOS, EOS, kcat, ALOS, EOS,
#     kcat, ... RUNS times each. rfmd's rate counts from its first message
#     (group join, changelog topic creation and init_transactions excluded);
#     kcat's from process start to exit. Medians, ratios EOS/ALOS and each to
#     kcat; for EOS the transactions committed up to the backlog's end and
#     the time the loop spent in their commits.
#  2. latency: LATRUNS times, ALOS then EOS, a fresh rfmd reads the same
#     topic, scores it, delivers its first rescore's events, and then
#     rfm-bench-latency produces orders of new customers at RATE/s for SECS
#     seconds and times each to its segment-change event, read
#     read_committed: p50, p90, p99, max; medians over the runs. Pairs
#     alternate which goes first (ALOS, EOS, EOS, ALOS, ...). One ALOS run
#     before them (run 0) is a warm-up, printed but not counted: on the busy
#     machine of 2026-12-02 the first latency run after the ingest runs came
#     out 10-100x slower than the same guarantee later in the run (p50 0.25-1 s
#     against 11-59 ms), four invocations out of five. The orders of each
#     latency run stay in the topic: every later rfmd reads a longer backlog. For EOS the
#     commits made during the latency run (from /metrics, before and after).
#
# RFM_BENCH_TXN_MS=N builds rfmd with DAEMON_TXN_MS=N (the exactly-once
# commit period; default 100) into its own tree (build-bench-txnN unless
# RFM_BENCH_BUILD is given), for trying other periods.
#
# usage: bench/guarantee.sh [ORDERS [RUNS [RATE [SECS [LATRUNS]]]]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/scripts/lib/kafka.sh"
kafka_reexec 8 "$@"
n=${1:-3000000}
runs=${2:-3}
rate=${3:-10000}
secs=${4:-30}
latruns=${5:-1}
boot=$KAFKA_BOOTSTRAP
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
txn_ms=${RFM_BENCH_TXN_MS:-}
if [ -n "$txn_ms" ]; then
    export RFM_BENCH_BUILD=${RFM_BENCH_BUILD:-$here/build-bench-txn$txn_ms}
    cmake -S "$here" -B "$RFM_BENCH_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS="-DRFM_TXN_MS_OVERRIDE=$txn_ms" >/dev/null
fi
kafka_build rfmd rfm-replay rfm-bench-latency
kafka_tmp

kafka_bench_header "exactly-once vs at-least-once"
echo "# DAEMON_TXN_MS ${txn_ms:-100 (default)}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

kafka_orders 0 "$n" $((n / 4)) >"$tmp/orders.jsonl"
t0=$(date +%s.%N)
"$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders "$tmp/orders.jsonl" 2>/dev/null
t1=$(date +%s.%N)
rm -f "$tmp/orders.jsonl"
echo
echo "## pre-fill: $n orders ($((n / 4)) customers) by rfm-replay in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

start_rfmd() { # name guarantee http-listen
    mkdir -p "$tmp/state-$1"
    kafka_rfmd_config "$tmp/$1.yaml" "gbench-$1" 10m "$tmp/state-$1" 10m
    sed -i "s|^  listen: \"\"|  listen: \"$3\"|" "$tmp/$1.yaml"
    printf 'changelog:\n  enabled: true\nprocessing:\n  guarantee: %s\n' "$2" >>"$tmp/$1.yaml"
    : >"$tmp/$1.log" # there before the waits read it
    kafka_rfmd_start "$build/rfmd" "$tmp/$1.yaml" "$tmp/$1.log"
}

# ingest_rfmd NAME GUARANTEE: one rfmd alone reads the topic; its rate to
# $tmp/GUARANTEE.rates and in ingest_rate; rfmd stopped afterwards. (Not
# called in $(...): rfmd_pid must stay this shell's, for the EXIT trap.)
ingest_rfmd() {
    start_rfmd "$1" "$2" ""
    kafka_wait_log "$tmp/$1.log" "backlog consumed: [0-9]* messages" 900
    local rr got
    rr=$(sed -n 's/.*backlog consumed: \([0-9]*\) messages.* s and \([0-9.]*\)\/s from the first message.*/\2/p' "$tmp/$1.log")
    got=$(sed -n 's/.*backlog consumed: \([0-9]*\) messages.*/\1/p' "$tmp/$1.log")
    [ "$got" = "$n" ] || { echo "rfmd ($2) consumed $got of $n" >&2; exit 1; }
    echo "$rr" >>"$tmp/$2.rates"
    if [ "$2" = exactly_once ]; then
        kafka_wait_log "$tmp/$1.log" "backlog end: transactions" 10
        # commits up to the backlog's end, seconds in commits, share of the
        # ingest time (from the first message) the loop spent committing
        local secs_first
        secs_first=$(sed -n 's/.*backlog consumed: [0-9]* messages in [0-9.]* s (\([0-9.]*\) s and.*/\1/p' "$tmp/$1.log")
        sed -n 's/.*backlog end: transactions \([0-9]*\) committed in \([0-9.]*\) s (\([0-9.]*\) ms each on average, \([0-9.]*\) ms at most), \([0-9]*\) aborted.*/\1 \2 \3 \4 \5/p' "$tmp/$1.log" |
            awk -v t="$secs_first" '{ printf "%s %s %s %s %s %.3f\n", $1, $2, $3, $4, $5, $2 / t }' >>"$tmp/txn.ingest"
    fi
    kafka_rfmd_stop
    ingest_rate=$(printf '%.0f' "$rr")
}

echo
echo "## ingest of the pre-filled topic, changelog on, $runs interleaved runs (ALOS, EOS, kcat)"
: >"$tmp/at_least_once.rates"
: >"$tmp/exactly_once.rates"
: >"$tmp/kcat.rates"
: >"$tmp/txn.ingest"
for i in $(seq 1 "$runs"); do
    ingest_rfmd "alos$i" at_least_once
    a=$ingest_rate
    ingest_rfmd "eos$i" exactly_once
    e=$ingest_rate
    s=$(date +%s.%N)
    kafka_consume orders >/dev/null
    t=$(date +%s.%N)
    k=$(awk -v n="$n" -v a="$s" -v b="$t" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "$k" >>"$tmp/kcat.rates"
    read -r tc ts ta tm tab tf < <(tail -1 "$tmp/txn.ingest")
    printf 'run %d: rfmd at_least_once %s, exactly_once %s, kcat %s orders/s; EOS: %s commits, %s s in them (%s of the ingest), %s ms avg, %s ms max, %s aborted\n' \
        "$i" "$a" "$e" "$k" "$tc" "$ts" "$tf" "$ta" "$tm" "$tab"
done
am=$(kafka_median <"$tmp/at_least_once.rates")
em=$(kafka_median <"$tmp/exactly_once.rates")
km=$(kafka_median <"$tmp/kcat.rates")
printf 'ingest_alos_orders_per_s_median %.0f\n' "$am"
printf 'ingest_eos_orders_per_s_median %.0f\n' "$em"
printf 'ingest_kcat_orders_per_s_median %.0f\n' "$km"
awk -v e="$em" -v a="$am" -v k="$km" 'BEGIN {
    printf "ingest_ratio_eos_to_alos %.2f\n", e / a
    printf "ingest_ratio_alos_to_kcat %.2f\ningest_ratio_eos_to_kcat %.2f\n", a / k, e / k }'
printf 'ingest_eos_commit_ms_avg_median %s\n' "$(awk '{ print $3 }' "$tmp/txn.ingest" | kafka_median)"
printf 'ingest_eos_commit_share_median %s\n' "$(awk '{ print $6 }' "$tmp/txn.ingest" | kafka_median)"

metric() { # address name
    curl -s "http://$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

echo
echo "## latency: new customers' orders at $rate/s for $secs s, $latruns run(s) each (ALOS, EOS, EOS, ALOS, ...)"
: >"$tmp/lat.at_least_once"
: >"$tmp/lat.exactly_once"
for j in $(seq 0 "$latruns"); do
    order="at_least_once exactly_once"
    [ $((j % 2)) = 1 ] || order="exactly_once at_least_once" # first place swapped
    [ "$j" != 0 ] || order=at_least_once                     # the warm-up, not counted
    for g in $order; do
        name=lat-$g-$j
        start_rfmd "$name" "$g" "127.0.0.1:0"
        kafka_wait_log "$tmp/$name.log" "http: listening on" 60
        addr=$(sed -n 's/.*http: listening on \([^ ]*\).*/\1/p' "$tmp/$name.log" | head -1)
        kafka_wait_log "$tmp/$name.log" "backlog consumed: [0-9]* messages" 900
        # The first rescore publishes an event per customer: measure after
        # they are delivered.
        kafka_wait_drained "$tmp/$name.log" 300
        c0=$(metric "$addr" rfmd_txn_commits_total)
        s0=$(metric "$addr" rfmd_txn_commit_seconds_total)
        rc=0
        "$build/rfm-bench-latency" "$boot" orders rfm.segments "$rate" "$secs" >"$tmp/$name.out" || rc=$?
        c1=$(metric "$addr" rfmd_txn_commits_total)
        s1=$(metric "$addr" rfmd_txn_commit_seconds_total)
        mx=$(metric "$addr" rfmd_txn_commit_max_seconds)
        kafka_rfmd_stop
        sent=$(awk '$1 == "latency_sent" { print $2 }' "$tmp/$name.out")
        recv=$(awk '$1 == "latency_received" { print $2 }' "$tmp/$name.out")
        read -r p50 p90 p99 pmax < <(awk '{ v[$1] = $2 } END { print v["latency_p50_ms"], v["latency_p90_ms"], v["latency_p99_ms"], v["latency_max_ms"] }' "$tmp/$name.out")
        [ "$j" = 0 ] || echo "$p50 $p90 $p99 $pmax $recv $sent" >>"$tmp/lat.$g"
        extra=""
        if [ "$g" = exactly_once ]; then
            extra=$(awk -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" -v m="$mx" 'BEGIN {
                d = c1 - c0; printf "; %d commits during it, %.1f ms each on average (max so far %.1f ms)", d, d ? (s1 - s0) * 1000 / d : 0, m * 1000 }')
        fi
        [ "$j" != 0 ] || printf 'warm-up, not counted: '
        printf 'latency run %d %s: p50 %s ms, p90 %s, p99 %s, max %s; %s of %s events%s%s\n' \
            "$j" "$g" "$p50" "$p90" "$p99" "$pmax" "$recv" "$sent" "$extra" "$([ "$rc" = 0 ] || echo " (rfm-bench-latency exit $rc)")"
    done
done
for g in at_least_once exactly_once; do
    short=$([ "$g" = exactly_once ] && echo eos || echo alos)
    printf 'latency_%s_p50_ms_median %s\n' "$short" "$(awk '{ print $1 }' "$tmp/lat.$g" | kafka_median)"
    printf 'latency_%s_p90_ms_median %s\n' "$short" "$(awk '{ print $2 }' "$tmp/lat.$g" | kafka_median)"
    printf 'latency_%s_p99_ms_median %s\n' "$short" "$(awk '{ print $3 }' "$tmp/lat.$g" | kafka_median)"
    printf 'latency_%s_max_ms_median %s\n' "$short" "$(awk '{ print $4 }' "$tmp/lat.$g" | kafka_median)"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
