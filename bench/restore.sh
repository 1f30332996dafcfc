#!/usr/bin/env bash
# The restore figures of BENCHMARKS.md ("Restoring a partition"), on a real
# Apache Kafka broker (tests/kafka/broker.sh; started here when
# KAFKA_BOOTSTRAP is not set), for each size N in SIZES (default 1M and 10M
# customers), PARTS partitions (default 4):
#
#  1. fill: N orders of N customers (one each) into topic oN by rfm-replay;
#     rfmd A (group restore-N, changelog on, snapshot dir stA) reads them,
#     scores them, its events are delivered; SIGUSR1 takes a checkpoint,
#     copied to ckpt/ once written; A stops (SIGTERM: its shutdown snapshot
#     in stA). The changelog restore-N-changelog now holds about 2 N records:
#     one per applied order and one per segment the first scoring changed.
#  2. changelog only, RUNS_N interleaved pairs: kcat reads the changelog
#     from its beginning to its end (to /dev/null, process start to exit);
#     rfmd B (same group, EMPTY snapshot dir) starts, restores every
#     partition from the changelog alone, and stops once all are running.
#     B's figure is from its log: the first "restoring from" line (its
#     assignment) to the last "partition N restored" line; the per-partition
#     records/s are its "restored" lines'. This changelog keeps every
#     record (changelog.topic_config segment.bytes 1 GiB: the cleaner never
#     touches an active segment).
#  2b. compacted: rfmd A2 of another group reads the same n + MORE_PCT %
#     orders into a changelog with 4 MiB segments and
#     min.cleanable.dirty.ratio 0.01, and stops; once the broker's cleaner
#     has compacted it (a full read gives the same count twice, 20 s apart),
#     the same RUNS_N pairs on it.
#  3. checkpoint + tail: A restarts on stA (no new orders: its shutdown
#     snapshot, empty tail) and reads MORE_PCT % more orders of the same
#     customers, writing as many changelog records; it stops. rfmd C starts
#     on a copy of ckpt/ (the SIGUSR1 checkpoint of step 1, taken before
#     those orders: as if A had died without its shutdown snapshot): it
#     loads the checkpoint and reads the tail from the changelog. Time from
#     C's start (its first log line) and from its assignment to all running.
#
# rfmd stops with SIGTERM each time (no one is left in the group, so the
# next one's join waits for nobody). Its restored customers are published
# again after the restore (segment events): not inside the timed part, but
# that is why a B's stop takes a while at 10M.
#
# usage: bench/restore.sh [SIZES [RUNS_SMALL [RUNS_BIG [MORE_PCT]]]]
#   SIZES: comma-separated customer counts, default 1000000,10000000; the
#   first gets RUNS_SMALL (default 3) pairs in step 2, the others RUNS_BIG
#   (default 1). RFM_BENCH_PARTITIONS: partitions (default 4).
#   RFM_BENCH_PREBUILT=DIR: use the rfmd and rfm-replay built in DIR instead
#   of kafka_build's Release tree.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/scripts/lib/kafka.sh"
parts=${RFM_BENCH_PARTITIONS:-4}
kafka_reexec "$parts" "$@"
sizes=${1:-1000000,10000000}
runs_small=${2:-3}
runs_big=${3:-1}
more_pct=${4:-5}
boot=$KAFKA_BOOTSTRAP
if [ -n "${RFM_BENCH_PREBUILT:-}" ]; then
    build=$RFM_BENCH_PREBUILT # a tree with rfmd and rfm-replay built already
else
    kafka_build rfmd rfm-replay
fi
kafka_tmp

kafka_bench_header restore
echo "# $parts partitions; sizes $sizes; changelog-only pairs: $runs_small (first size), $runs_big (others); tail $more_pct %"

# config FILE GROUP TOPIC STATE_DIR [TOPIC_CONFIG...]: rfmd with the
# changelog on, long rescore and snapshot intervals (SIGUSR1 and shutdown
# only), no HTTP; TOPIC_CONFIGs ("name: value") go to changelog.topic_config.
config() {
    local f=$1 g=$2 t=$3 st=$4 c
    shift 4
    {
        printf 'kafka:\n  brokers: "%s"\n  group_id: %s\n' "$boot" "$g"
        printf 'topics:\n  orders: %s\n  segments: %s-segments\n' "$t" "$t"
        printf 'changelog:\n  enabled: true\n'
        [ $# -eq 0 ] || printf '  topic_config:\n'
        for c in "$@"; do printf '    %s\n' "$c"; done
        printf 'rescore:\n  interval: 1h\n'
        printf 'snapshot:\n  dir: "%s"\n  interval: 1h\n  keep: 2\n' "$st"
        printf 'http:\n  listen: ""\n'
    } >"$f"
}

# The changelog of step 1 keeps every record (1 GiB segments, the broker's
# default: the cleaner never cleans an active segment); the one of step 2b
# is compacted as soon as the broker's cleaner wakes (log.cleaner.backoff.ms,
# 15 s by default): small segments, any dirty ratio.
uncompacted=('segment.bytes: "1073741824"')
compacted=('segment.bytes: "4194304"' 'min.cleanable.dirty.ratio: "0.01"' 'min.compaction.lag.ms: "0"')

# record_bytes TOPIC: "K V": the mean key and value sizes of TOPIC's records.
record_bytes() {
    kafka_consume "$1" -f '%K %S\n' | awk '{ k += $1; v += $2 } END { printf "%.0f %.0f\n", k / NR, v / NR }'
}

# wait_compacted TOPIC SECONDS: until a full read of TOPIC returns the same
# count twice 20 s apart (longer than the cleaner's backoff) and fewer than
# its end offsets; prints that count.
wait_compacted() {
    local end=$((SECONDS + $2)) last=-1 got
    while :; do
        got=$(kafka_consume "$1" -f 'x\n' | wc -l)
        if [ "$got" = "$last" ] && [ "$got" -lt "$(changelog_end "$1")" ]; then
            echo "$got"
            return
        fi
        [ $SECONDS -lt $end ] || { echo "changelog $1: $got records, not compacted after $2 s" >&2; return 1; }
        last=$got
        sleep 20
    done
}

# secs LOG PATTERN [first|last]: the log time (s since midnight, UTC) of the
# first (default) or last line matching PATTERN.
secs() {
    local line
    if [ "${3:-first}" = last ]; then line=$(grep "$2" "$1" | tail -1); else line=$(grep -m1 "$2" "$1"); fi
    [ -n "$line" ] || { echo "no '$2' in $1" >&2; return 1; }
    awk -v l="$line" 'BEGIN { split(substr(l, 1, 12), t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'
}

# span A B: B - A in seconds (across midnight too).
span() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < -43200) d += 86400; printf "%.3f\n", d }'
}

# changelog_end TOPIC: the sum of the end offsets of its partitions.
changelog_end() {
    local args=() p
    for p in $(seq 0 $((parts - 1))); do args+=(-t "$1:$p:-1"); done
    kcat -Q -b "$boot" "${args[@]}" | awk '{ s += $NF } END { print s + 0 }'
}

# wait_changelog TOPIC COUNT SECONDS: until its partitions hold COUNT records.
wait_changelog() {
    local end=$((SECONDS + $3)) got
    until got=$(changelog_end "$1") && [ "$got" -ge "$2" ]; do
        [ $SECONDS -lt $end ] || { echo "changelog $1: $got of $2 records after $3 s" >&2; return 1; }
        if [ -n "$rfmd_pid" ] && ! kill -0 "$rfmd_pid" 2>/dev/null; then echo "rfmd exited" >&2; return 1; fi
        sleep 0.5
    done
}

# restored LOG: wait for PARTS "restored" lines; print "first_restoring last_restored".
restored_window() {
    kafka_wait_log "$1" "partition [0-9]* restored:" 900 "$parts" || return
    echo "$(secs "$1" "partition [0-9]*: restoring from") $(secs "$1" "partition [0-9]* restored:" last)"
}

# restored_customers LOG: the customers of its "partition N restored" lines, summed.
restored_customers() {
    sed -n 's/.*partition [0-9]* restored: \([0-9]*\) customers.*/\1/p' "$1" | awk '{ s += $1 } END { print s }'
}

# rss_mb PID: resident set size in MB.
rss_mb() {
    awk '/^VmRSS/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"
}

start() { # CONFIG LOG
    : >"$2"
    kafka_rfmd_start "$build/rfmd" "$1" "$2"
}

stop() { # LOG
    local t0=$SECONDS
    kafka_rfmd_stop
    echo "   (stopped in $((SECONDS - t0)) s, exit status $rfmd_status; $(sed -n 's/.*final: \(consumed [0-9]*\).*/\1/p' "$1"), $(sed -n 's/.*changelog: \([0-9]*\) records written.*/\1/p' "$1") changelog records written)"
}

# restore_pairs STEP LABEL GROUP CHANGELOG RECORDS [TOPIC_CONFIG...]: RUNS
# interleaved pairs of a kcat read of CHANGELOG (RECORDS records) and an rfmd
# B of GROUP restoring it all on an empty snapshot dir; a summary line
# "changelog_LABEL ...". Uses n, runs, d, topic, parts and summary.
restore_pairs() {
    local step=$1 label=$2 g=$3 cl=$4 recs=$5 i s got kt w0 w1 rss bt cust rates km bm
    shift 5
    : >"$d/pairs-$label"
    echo "$step. changelog only, $label ($recs records), $runs interleaved pairs (kcat, rfmd B)"
    for i in $(seq 1 "$runs"); do
        s=$(date +%s.%N)
        got=$(kafka_consume "$cl" -f 'x\n' | wc -l)
        [ "$got" = "$recs" ] || { echo "kcat read $got of $recs records" >&2; exit 1; }
        kt=$(span "$s" "$(date +%s.%N)")
        rm -rf "$d/stB"
        mkdir -p "$d/stB"
        config "$d/b-$label$i.yaml" "$g" "$topic" "$d/stB" "$@"
        start "$d/b-$label$i.yaml" "$d/b-$label$i.log"
        read -r w0 w1 < <(restored_window "$d/b-$label$i.log")
        rss=$(rss_mb "$rfmd_pid")
        bt=$(span "$w0" "$w1")
        cust=$(restored_customers "$d/b-$label$i.log")
        [ "$cust" = "$n" ] || { echo "B restored $cust of $n customers" >&2; exit 1; }
        rates=$(sed -n 's/.*partition \([0-9]*\) restored: .* in \([0-9.]*\) s (\([0-9]*\) records\/s).*/p\1 \2 s \3\/s/p' "$d/b-$label$i.log" | paste -sd, | sed 's/,/, /g')
        printf '   run %d: kcat %s s (%.0f records/s); B %s s (%.0f customers/s), RSS %s MB; per partition: %s\n' \
            "$i" "$kt" "$(awk -v n="$got" -v t="$kt" 'BEGIN { print n / t }')" "$bt" \
            "$(awk -v n="$n" -v t="$bt" 'BEGIN { print n / t }')" "$rss" "$rates"
        echo "$n $kt $bt" >>"$d/pairs-$label"
        stop "$d/b-$label$i.log"
        # The restored state ends where the input was committed: nothing to
        # read again (a compacted changelog that lost that position once
        # made B re-read 12,568 orders here).
        grep -q "final: consumed 0 " "$d/b-$label$i.log" ||
            { echo "B read input after its restore: $(grep -o 'final: consumed [0-9]*' "$d/b-$label$i.log")" >&2; exit 1; }
    done
    km=$(cut -d' ' -f2 "$d/pairs-$label" | kafka_median)
    bm=$(cut -d' ' -f3 "$d/pairs-$label" | kafka_median)
    {
        printf 'changelog_%s customers=%d records=%d partitions=%d runs=%d restore_s_median=%s customers_per_s=%.0f records_per_s=%.0f kcat_s_median=%s ratio_restore_to_kcat=%.2f\n' \
            "$label" "$n" "$recs" "$parts" "$runs" "$bm" "$(awk -v n="$n" -v t="$bm" 'BEGIN { print n / t }')" \
            "$(awk -v n="$recs" -v t="$bm" 'BEGIN { print n / t }')" "$km" \
            "$(awk -v a="$bm" -v b="$km" 'BEGIN { print a / b }')"
    } | tee -a "$summary"
}

summary=$tmp/summary
: >"$summary"
idx=0
IFS=, read -r -a size_list <<<"$sizes"
for n in "${size_list[@]}"; do
    idx=$((idx + 1))
    runs=$runs_big
    [ "$idx" -gt 1 ] || runs=$runs_small
    topic=o$n
    group=restore-$n
    cl=$group-changelog
    more=$((n * more_pct / 100))
    d=$tmp/$n
    mkdir -p "$d/stA"
    config "$d/a.yaml" "$group" "$topic" "$d/stA" "${uncompacted[@]}"

    echo
    echo "## $n customers, $parts partitions"
    t0=$(date +%s.%N)
    kafka_orders 0 "$n" "$n" | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic "$topic" - 2>/dev/null
    echo "1. fill: $n orders by rfm-replay in $(span "$t0" "$(date +%s.%N)") s"
    start "$d/a.yaml" "$d/a1.log"
    kafka_wait_log "$d/a1.log" "backlog consumed" 1200
    kafka_wait_drained "$d/a1.log" 1200
    wait_changelog "$cl" "$n" 300
    kill -USR1 "$rfmd_pid"
    kafka_wait_log "$d/a1.log" "snapshot (SIGUSR1) written\|snapshot (SIGUSR1) failed" 300
    grep -q "snapshot (SIGUSR1) written" "$d/a1.log"
    cp -a "$d/stA" "$d/ckpt"
    at_ckpt=$(changelog_end "$cl") # the orders' records and the first scoring's
    echo "   A: $(sed -n 's/.*\(backlog consumed: .*\)/\1/p' "$d/a1.log"); RSS $(rss_mb "$rfmd_pid") MB; checkpoint taken"
    kafka_orders "$n" "$more" "$n" | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic "$topic" - 2>/dev/null
    # A record per order read: A has read them all (the count is not n +
    # more: the first scoring's records are in at_ckpt, and the stop's
    # rescore adds some).
    wait_changelog "$cl" $((at_ckpt + more)) 600
    stop "$d/a1.log"
    recs=$(changelog_end "$cl")
    read -r kb vb < <(record_bytes "$cl")
    echo "   $more more orders ($more_pct %) read by A after the checkpoint; changelog $cl: $recs records, key $kb + value $vb bytes a record on average"

    restore_pairs 2 uncompacted "$group" "$cl" "$recs" "${uncompacted[@]}"

    # 2b: the same orders (all n + more) read by A2 of another group into a
    # changelog the broker compacts; once compacted, the same pairs on it.
    cgroup=$group-c
    ccl=$cgroup-changelog
    mkdir -p "$d/stA2"
    config "$d/a2.yaml" "$cgroup" "$topic" "$d/stA2" "${compacted[@]}"
    start "$d/a2.yaml" "$d/a2.log"
    kafka_wait_log "$d/a2.log" "backlog consumed" 1200
    kafka_wait_drained "$d/a2.log" 1200
    wait_changelog "$ccl" $((n + more)) 600
    stop "$d/a2.log"
    written=$(changelog_end "$ccl")
    t0=$SECONDS
    crecs=$(wait_compacted "$ccl" 600)
    echo "2b. compacted changelog $ccl (${compacted[*]}): $crecs of $written records left, $((SECONDS - t0)) s after A2 stopped"
    restore_pairs 2b compacted "$cgroup" "$ccl" "$crecs" "${compacted[@]}"

    echo "3. checkpoint + tail: C on the checkpoint taken before the last $more orders"
    mkdir -p "$d/stC"
    cp -a "$d/ckpt/." "$d/stC/"
    config "$d/c.yaml" "$group" "$topic" "$d/stC" "${uncompacted[@]}"
    start "$d/c.yaml" "$d/c.log"
    read -r w0 w1 < <(restored_window "$d/c.log")
    rss=$(rss_mb "$rfmd_pid")
    st=$(secs "$d/c.log" ".")
    tail_recs=$(sed -n 's/.*partition [0-9]* restored: [0-9]* customers from \([0-9]*\) changelog records.*/\1/p' "$d/c.log" | awk '{ s += $1 } END { print s }')
    cust=$(restored_customers "$d/c.log")
    onto=$(grep -c "restored: .*onto its checkpoint" "$d/c.log" || true)
    grep "partition [0-9]* restored:\|restored partition" "$d/c.log" | sed -e 's/^/   /' -e 's/ from [^ ]*\/partition-[0-9]*\// from partition-N\//'
    {
        printf 'checkpoint_tail customers=%s partitions=%d tail_records=%s onto_checkpoint=%s/%d start_to_running_s=%s assignment_to_running_s=%s rss_mb=%s\n' \
            "$cust" "$parts" "$tail_recs" "$onto" "$parts" "$(span "$st" "$w1")" "$(span "$w0" "$w1")" "$rss"
    } | tee -a "$summary"
    stop "$d/c.log"
done

echo
echo "## summary"
cat "$summary"
