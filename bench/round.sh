#!/usr/bin/env bash
# The group-round figures of BENCHMARKS.md ("A group round on a real broker
# (issue 13, daemon part)"), on a real Apache Kafka broker
# (tests/kafka/broker.sh; started here when KAFKA_BOOTSTRAP is not set), for
# each size N in SIZES (default 1M and 10M customers):
#
#  1. fill: N customers (36-character UUID-like ids), 1 order each and a
#     second for 40 % of them (dates spread over 2023-2024, amounts
#     log-normal around 37 units), keyed by customer id by rfm-replay
#     (murmur2_random) into topic rN of 6 partitions.
#  2. start: three rfmd A, B, C of group round-N (changelog on, breakpoints
#     scope group, input.partitioner murmur2_random, at_least_once) and one
#     rfmd S of group single-N (changelog off, scope local) over the same
#     topic, all with rescore.interval 1h: the first scoring comes from the
#     caught-up trigger. Wait until the group's record covers N customers
#     with every summary caught up, S has scored its N, and every event of
#     those first scorings is delivered (nothing pending or queued, nothing
#     delivered for 3 s).
#  3. ROUNDS interleaved pairs (S first in odd pairs, the group first in
#     even ones; never both at once). A trigger: the instance's config is
#     rewritten with rescore.interval 3s and SIGHUPed (a live key: the next
#     rescore one interval after the reload); once its interval has fired
#     the config goes back to 1h and is SIGHUPed again.
#       S: its "rescore (interval): ... X ms" line: breakpoints over N
#          customers and the rescore of all of them, one process.
#       group: the coordinator's interval (the member that owns input
#          partition 0, found by /partitions; a member's interval only
#          asks for a round when it coordinates) begins a round. From the coordinator's "round vV attempt A
#          done: ..., T ms" line (BEGIN to record), the members' "rescore
#          (group breakpoints vV): ... X ms" lines (each applies the record
#          to its own customers), the wall time from the coordinator's
#          "begins" line to the last member's rescore line (the same clock:
#          one machine), and each member's GET /breakpoints this_member
#          counters before and after (bytes_sent, bytes_received, hold_ms).
#     The data do not change between rounds, so no round changes a segment:
#     what is timed is the computation, not publishing.
#
# usage: bench/round.sh [SIZES [ROUNDS]]
#   SIZES: comma-separated customer counts (default 1000000,10000000);
#   ROUNDS: pairs per size (default 3). RFM_BENCH_PREBUILT=DIR: use the rfmd
#   and rfm-replay built in DIR instead of kafka_build's Release tree.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/scripts/lib/kafka.sh"
parts=6
kafka_reexec "$parts" "$@"
sizes=${1:-1000000,10000000}
rounds=${2:-3}
boot=$KAFKA_BOOTSTRAP
if [ -n "${RFM_BENCH_PREBUILT:-}" ]; then
    build=$RFM_BENCH_PREBUILT
else
    kafka_build rfmd rfm-replay
fi
rfmd=$build/rfmd
kafka_tmp
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka_group.sh
. "$here/scripts/lib/kafka_group.sh"
fail() {
    echo "FAIL: $*" >&2
    group_dump 'round|rescore|error|warning'
    exit 1
}

kafka_bench_header "group round"
echo "# $parts partitions; sizes $sizes; $rounds interleaved pairs (single rescore, group round) per size"

# orders N SEED: JSONL orders of N customers, 1 or 2 each.
orders() {
    awk -v n="$1" -v seed="$2" 'function h4() { return int(rand() * 65536) }
    BEGIN {
        srand(seed)
        t0 = 1672531200; span = 2 * 365 * 86400; o = 0
        for (i = 0; i < n; i++) {
            id = sprintf("%04x%04x-%04x-4%03x-%04x-%04x%08x", h4(), h4(), h4(), h4() % 4096, h4(), h4(), i)
            k = rand() < 0.4 ? 2 : 1
            t = t0 + int(rand() * span)
            for (j = 0; j < k; j++) {
                # log-normal amounts: exp(3.6 + 0.9 z), z by Box-Muller
                z = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
                printf "{\"order_id\":\"o%d\",\"customer_id\":\"%s\",\"ts\":%.0f000,\"amount\":%.2f}\n", o++, id, t, exp(3.6 + 0.9 * z)
                t += int(rand() * (t0 + span - t))
            }
        }
    }'
}

# config NAME GROUP TOPIC INTERVAL SCOPE: $tmp/NAME.yaml.
config() {
    local f=$tmp/$1.yaml
    {
        printf 'kafka:\n  brokers: "%s"\n  group_id: %s\n' "$boot" "$2"
        printf 'topics:\n  orders: %s\n  segments: %s-segments\n' "$3" "$2"
        printf 'input:\n  partitioner: murmur2_random\n'
        printf 'processing:\n  guarantee: at_least_once\n'
        if [ "$5" = group ]; then
            printf 'changelog:\n  enabled: true\nbreakpoints:\n  scope: group\n'
        else
            printf 'breakpoints:\n  scope: local\n'
        fi
        printf 'rescore:\n  interval: %s\n' "$4"
        printf 'snapshot:\n  dir: "%s"\n  interval: 1h\n  keep: 1\n' "$tmp/st-$1"
        printf 'http:\n  listen: "127.0.0.1:0"\n'
    } >"$f.new"
    mv "$f.new" "$f"
    mkdir -p "$tmp/st-$1"
}

# secs LOG_LINE: its time of day in seconds (log lines begin HH:MM:SS.mmm).
secs() {
    awk -v l="$1" 'BEGIN { split(substr(l, 1, 12), t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'
}

# count LOG PATTERN: lines of LOG matching PATTERN.
count() { grep -c "$2" "$1" || true; }

# wait_count LOG PATTERN COUNT SECONDS: until COUNT lines match.
wait_count() {
    local end=$((SECONDS + $4))
    until [ "$(count "$1" "$2")" -ge "$3" ]; do
        [ $SECONDS -lt $end ] || fail "timeout waiting for $3 x '$2' in $1"
        sleep 0.05
    done
}

# metric NAME METRIC: the sum of METRIC's samples on NAME's /metrics.
metric() {
    curl -s --max-time 10 "http://${addr[$1]}/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}

# drained NAME...: until each has nothing pending or queued and its
# delivered count has not moved for 3 s.
drained() {
    local n end=$((SECONDS + 1800)) last cur
    for n in "$@"; do
        last=-1
        while :; do
            cur="$(metric "$n" rfmd_pending_deliveries) $(metric "$n" rfmd_producer_queue_messages) $(metric "$n" rfmd_producer_delivered_total)"
            case $cur in "0 0 "*) [ "$cur" = "$last" ] && break ;; esac
            [ $SECONDS -lt $end ] || fail "$n did not drain: $cur"
            last=$cur
            sleep 3
        done
    done
}

# this_member NAME: "bytes_sent bytes_received hold_ms summaries" of NAME.
this_member() {
    curl -s --max-time 10 "http://${addr[$1]}/breakpoints" |
        jq -r '.round.this_member | "\(.bytes_sent) \(.bytes_received) \(.hold_ms) \(.summaries)"'
}

# trigger NAME GROUP TOPIC SCOPE [LOG PATTERN]: make NAME's interval fire
# (3 s after a reload of its config with rescore.interval 3s), then back to
# 1h: once one more line of LOG matches PATTERN (S: its rescore line, after
# which the timer is rearmed), or 4 s after the reload (a group member: its
# interval only asks for a round, and the timer is rearmed at once).
trigger() {
    local log=$tmp/$1.log r0 before=0
    r0=$(count "$log" "reload: rescore.interval applied")
    [ $# -lt 6 ] || before=$(count "$5" "$6")
    config "$1" "$2" "$3" 3s "$4"
    kill -HUP "${pid[$1]}"
    wait_count "$log" "reload: rescore.interval applied" $((r0 + 1)) 60
    if [ $# -ge 6 ]; then wait_count "$5" "$6" $((before + 1)) 600; else sleep 4; fi
    config "$1" "$2" "$3" 1h "$4"
    kill -HUP "${pid[$1]}"
    wait_count "$log" "reload: rescore.interval applied" $((r0 + 2)) 60
}

# coordinator MEMBERS...: the one of MEMBERS that runs input partition 0.
coordinator() {
    local m
    for m in "$@"; do
        if curl -s --max-time 10 "http://${addr[$m]}/partitions" |
            jq -e '.assignment | any(.partition == 0 and .state == "running")' >/dev/null; then
            echo "$m"
            return
        fi
    done
    fail "no member runs partition 0"
}

# delete_topic TOPIC: with the broker's own TopicCommand (a no-op when it fails).
delete_topic() {
    [ -n "${kafka_jars:-}" ] || kafka_jars=$("$here/tests/kafka/broker.sh" fetch | tail -1)/lib
    "${JAVA_HOME:+$JAVA_HOME/bin/}java" -cp "$kafka_jars/*" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$boot" --delete --topic "$1" >/dev/null 2>&1 || true
}

summary=$tmp/summary
: >"$summary"
IFS=, read -r -a size_list <<<"$sizes"
for n in "${size_list[@]}"; do
    topic=r$n
    g=round-$n
    s1=single-$n
    members=(A B C)
    echo
    echo "## $n customers, $parts partitions, free memory $(free -g | awk '/^Mem/ { print $7 }') GB"
    t0=$(date +%s.%N)
    orders "$n" 13 | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic "$topic" -q -
    qa=()
    for p in $(seq 0 $((parts - 1))); do qa+=(-t "$topic:$p:-1"); done
    msgs=$(kcat -Q -b "$boot" "${qa[@]}" | awk '{ s += $NF } END { print s }')
    echo "1. fill: $msgs orders of $n customers by rfm-replay in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

    for m in "${members[@]}"; do config "$m-$n" "$g" "$topic" 1h group; done
    config "S-$n" "$s1" "$topic" 1h local
    t0=$SECONDS
    for m in "${members[@]}" S; do : >"$tmp/$m-$n.log"; done
    for m in "${members[@]}"; do group_start "$m-$n"; done
    group_start "S-$n"
    # Settled: the last record covers n customers, all caught up.
    end=$((SECONDS + 1800))
    until grep -h "round v[0-9]* attempt [0-9]* done: $n customers from 3 member(s)" "$tmp"/[ABC]-"$n".log | grep -qv "not all caught up"; do
        [ $SECONDS -lt $end ] || fail "no round over all $n customers"
        sleep 1
    done
    kafka_wait_log "$tmp/S-$n.log" "rescore (caught up): $n customers" 1800
    ms=(); for m in "${members[@]}"; do ms+=("$m-$n"); done
    drained "${ms[@]}" "S-$n"
    echo "2. started, caught up, scored, events delivered in $((SECONDS - t0)) s; RSS MB: $(for m in "${ms[@]}" "S-$n"; do printf '%s %s  ' "$m" "$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/${pid[$m]}/status")"; done)"
    grep -h "round v[0-9]* attempt [0-9]* \(begins\|done\)" "$tmp"/[ABC]-"$n".log | sort | sed 's/^/   /'

    : >"$tmp/single-$n"
    : >"$tmp/group-$n"
    for i in $(seq 1 "$rounds"); do
        order="S G"
        [ $((i % 2)) -eq 1 ] || order="G S"
        for side in $order; do
            if [ "$side" = S ]; then
                trigger "S-$n" "$s1" "$topic" local "$tmp/S-$n.log" "rescore (interval)"
                line=$(grep "rescore (interval)" "$tmp/S-$n.log" | tail -1)
                sms=$(echo "$line" | sed -n 's/.*over \([0-9]*\) customers, \([0-9]*\) ms$/\2/p')
                echo "$sms" >>"$tmp/single-$n"
                echo "   pair $i: single rescore $sms ms ($(echo "$line" | sed -n 's/.*rescore (interval): \([0-9]*\) customers.*/\1/p') customers)"
            else
                declare -A b0=() b1=()
                for m in "${ms[@]}"; do b0[$m]=$(this_member "$m"); done
                nd=$(cat "$tmp"/[ABC]-"$n".log | count - "round v[0-9]* attempt [0-9]* done:")
                co=$(coordinator "${ms[@]}") || exit 1
                trigger "$co" "$g" "$topic" group
                end=$((SECONDS + 600))
                until [ "$(cat "$tmp"/[ABC]-"$n".log | count - "round v[0-9]* attempt [0-9]* done:")" -gt "$nd" ]; do
                    [ $SECONDS -lt $end ] || fail "no round done after the trigger"
                    sleep 0.05
                done
                done_line=$(grep -h "round v[0-9]* attempt [0-9]* done:" "$tmp"/[ABC]-"$n".log | sort | tail -1)
                v=$(echo "$done_line" | sed -n 's/.*round v\([0-9]*\) attempt.*/\1/p')
                for m in "${ms[@]}"; do wait_count "$tmp/$m.log" "rescore (group breakpoints v$v)" 1 600; done
                for m in "${ms[@]}"; do b1[$m]=$(this_member "$m"); done
                begin_line=$(grep -h "round v$v attempt [0-9]* begins" "$tmp"/[ABC]-"$n".log | sort | head -1)
                read -r att cust mem req bytes dur < <(echo "$done_line" | sed -n 's/.*attempt \([0-9]*\) done: \([0-9]*\) customers from \([0-9]*\) member(s), \([0-9]*\) request(s), \([0-9]*\) bytes, \([0-9]*\) ms.*/\1 \2 \3 \4 \5 \6/p')
                [ "$cust" = "$n" ] || fail "round v$v covered $cust of $n customers"
                tb=$(secs "$begin_line")
                last=0 maxapply=0 maxsent=0 maxhold=0 per=""
                for m in "${ms[@]}"; do
                    l=$(grep "rescore (group breakpoints v$v)" "$tmp/$m.log" | tail -1)
                    a=$(echo "$l" | sed -n 's/.* \([0-9]*\) ms$/\1/p')
                    te=$(secs "$l")
                    last=$(awk -v a="$last" -v b="$te" 'BEGIN { print (b > a) ? b : a }')
                    maxapply=$((a > maxapply ? a : maxapply))
                    read -r s0 r0 h0 _ <<<"${b0[$m]}"
                    read -r s1_ r1 h1 _ <<<"${b1[$m]}"
                    sent=$((s1_ - s0)) hold=$((h1 - h0))
                    maxsent=$((sent > maxsent ? sent : maxsent))
                    maxhold=$((hold > maxhold ? hold : maxhold))
                    per="$per ${m%%-*}: apply $a ms, sent $sent B, received $((r1 - r0)) B, held $hold ms;"
                done
                wall=$(awk -v a="$tb" -v b="$last" 'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.0f", d * 1000 }')
                echo "$dur $wall $maxapply $maxsent $req $bytes $att $maxhold" >>"$tmp/group-$n"
                echo "   pair $i: group round v$v attempt $att: $mem members, $req requests, $bytes bytes, BEGIN to record $dur ms, BEGIN to last member rescored $wall ms;$per"
            fi
            sleep 2
        done
    done
    sm=$(kafka_median <"$tmp/single-$n")
    col() { cut -d' ' -f"$1" "$tmp/group-$n" | kafka_median; }
    gd=$(col 1)
    gw=$(col 2)
    {
        printf 'round customers=%d orders=%s pairs=%d single_rescore_ms=%s group_round_ms=%s group_round_to_rescored_ms=%s member_apply_ms_max=%s ratio_round_to_single=%.2f ratio_rescored_to_single=%.2f bytes_sent_per_member_max=%s requests=%s round_bytes=%s hold_ms_max=%s\n' \
            "$n" "$msgs" "$rounds" "$sm" "$gd" "$gw" "$(col 3)" \
            "$(awk -v a="$gd" -v b="$sm" 'BEGIN { print a / b }')" "$(awk -v a="$gw" -v b="$sm" 'BEGIN { print a / b }')" \
            "$(col 4)" "$(col 5)" "$(col 6)" "$(col 8)"
    } | tee -a "$summary"
    echo "   single: $(paste -sd' ' "$tmp/single-$n") ms; group (BEGIN→record, →rescored): $(cut -d' ' -f1,2 "$tmp/group-$n" | paste -sd,)"
    group_stop "${ms[@]}" "S-$n"
    for t in "$topic" "$g-segments" "$s1-segments" "$g-changelog" "$g-control" "$g-breakpoints"; do delete_topic "$t"; done
    rm -rf "$tmp"/st-*
done

echo
echo "## summary"
cat "$summary"
