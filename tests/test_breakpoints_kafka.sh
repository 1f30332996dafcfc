#!/usr/bin/env bash
# One set of breakpoints for the whole group (issue 13), on a real Apache
# Kafka broker (run under tests/kafka/broker.sh run, which sets
# KAFKA_BOOTSTRAP): several rfmd in one consumer group, members killed,
# restarted and added mid-stream, must publish exactly the segments one
# instance gives — the last segment event of every customer is the segment
# the seed notebook's pandas method gives it (tests/ref/seed_rfm.py).
#
# Cases (dataset:tie order), RFM_BP_CASES to choose; the default is all four:
#   flo:customer_id flo:first_order       FLO, 19,945 customers, 100,219 orders
#   retail:customer_id retail:first_order Online Retail 2010-2011, 4,338 customers
# The datasets run one after the other, each on a topic of its own; the tie
# orders of one dataset side by side, as groups of their own on that topic.
#
# Per dataset:
#   - orders-DATASET: 6 partitions (TopicAdmin.java); the orders (rfm-replay
#     --stdout) dealt into three pieces by line, each replayed keyed by
#     customer (murmur2_random);
#   - per tie order, A, B, C in one group: changelog.enabled, breakpoints
#     scope left at its default (group with a changelog), rescore.interval
#     2s, exactly_once (RFM_BP_GUARANTEE=at_least_once to change it), own
#     snapshot dir, own segments topic; piece 1, consumed;
#   - piece 2 paced, B SIGKILLed in the middle of it, D joins;
#   - piece 3 paced, B restarted on its snapshot dir in the middle of it;
#   - S, one rfmd of its own group without changelog (scope local), reads the
#     whole topic: what a single instance publishes;
#   - the group settled (tests/scaleout_check.py settled), then
#     tests/segments_check.py covered: every member's GET /breakpoints
#     "round" covers all 6 partitions at the topic's end offsets, and the
#     rescore events are delivered; for S (scope local: no round) two
#     rescores and their delivery;
#   - the segments topics read read_committed (kcat) and
#     tests/segments_check.py check: the last event per customer equals the
#     pandas reference, for the group and for S;
#   - SIGTERM: everyone exits 0.
# Every comparison is made and printed before the verdict. A daemon whose
# /breakpoints has no "round" (before issue 13) is compared after two
# rescores on every instance instead, and fails for that too.
#
# usage: test_breakpoints_kafka.sh RFMD RFM_REPLAY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/../scripts/lib/kafka.sh"
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka_group.sh
. "$here/../scripts/lib/kafka_group.sh"
rfmd=$1
replay=$2
boot=${KAFKA_BOOTSTRAP:?run me under tests/kafka/broker.sh run}
shared=${RFM_SHARED:?}
scaleout=("$here/scaleout_check.py")
segcheck=("$here/segments_check.py")
cases=${RFM_BP_CASES:-flo:customer_id flo:first_order retail:customer_id retail:first_order}
guarantee=${RFM_BP_GUARANTEE:-exactly_once}
parts=6
kafka_tmp

failures=()
fail() {
    echo "FAIL: $*" >&2
    group_dump 'consumer:|changelog|restor|rebalanc|round|breakpoints|error|fatal'
    exit 1
}
elapsed() { group_elapsed "$@"; }
start() { group_start "$@"; }

# What each dataset is: rfm-replay's format, the file, its customers, rate.
declare -A format=([flo]=flo [retail]=retail)
declare -A file=([flo]=$shared/data/flo_data_20k.csv
    [retail]=$shared/data/online_retail_2010_2011.csv.gz)
declare -A customers=([flo]=19945 [retail]=4338)
declare -A rate=([flo]=6000 [retail]=1500)
declare -A short=([customer_id]=cid [first_order]=fo)

# config NAME GROUP TOPIC SEGMENTS TIE EXTRA: NAME's rfmd.yaml.
config() {
    {
        printf 'kafka:\n  brokers: "%s"\n  group_id: %s\n' "$boot" "$2"
        printf '  consumer:\n    session.timeout.ms: "6000"\n    heartbeat.interval.ms: "500"\n'
        printf 'topics:\n  orders: %s\n  segments: %s\n' "$3" "$4"
        printf 'scoring:\n  tie_break: %s\n' "$5"
        printf 'rescore:\n  interval: 2s\n'
        printf 'snapshot:\n  dir: "%s"\n  interval: 2s\n' "$tmp/state-$1"
        printf 'http:\n  listen: "127.0.0.1:0"\n'
        printf '%b' "$6"
    } >"$tmp/$1.yaml"
}
scaled="changelog:\n  enabled: true\ninput:\n  partitioner: murmur2_random\nprocessing:\n  guarantee: $guarantee\n"

owns='import json, sys
sys.exit(0 if json.load(sys.stdin).get("partitions", 0) > 0 else 1)'
await_assigned() { # NAME: NAME owns a partition (GET /partitions)
    local end=$((SECONDS + 60))
    until curl -s --max-time 2 "http://${addr[$1]}/partitions" | python3 -c "$owns" 2>/dev/null; do
        [ $SECONDS -lt $end ] || fail "$1 got no partitions within 60 s"
        sleep 0.1
    done
}
consumed() { # NAME: its input messages so far (GET /metrics; a busy one asked again)
    local m try
    for try in 1 2 3 4 5; do
        m=$(curl -s --max-time 3 "http://${addr[$1]}/metrics" || true)
        [ -n "$m" ] && break
        [ $try -lt 5 ] || fail "$1 does not answer GET /metrics"
    done
    awk '$1 == "rfmd_orders_consumed_total" { print $2; found = 1 } END { if (!found) print 0 }' <<<"$m"
}
replay_start() { # TOPIC PIECE RATE: in the background, its pid in rp
    "$replay" -q --format jsonl --brokers "$boot" --topic "$1" --rate "$3" "$tmp/$1.piece$2.jsonl" &
    rp=$!
    kafka_track $rp
}
scope_of() { # NAME: "round".scope of its GET /breakpoints, "none" without one
    curl -s --max-time 5 "http://${addr[$1]}/breakpoints" | python3 -c '
import json, sys
r = json.load(sys.stdin).get("round")
print(r.get("scope") if isinstance(r, dict) else "none")'
}

# The pandas references, meanwhile (seed_rfm.py, the seed notebook's method).
for c in $cases; do
    ds=${c%%:*} tie=${c#*:}
    if [ -z "${format[$ds]:-}" ] || [ -z "${short[$tie]:-}" ]; then fail "unknown case '$c'"; fi
done
(
    for c in $cases; do
        ds=${c%%:*} tie=${c#*:}
        "$kafka_root/scripts/python.sh" "$kafka_root/tests/ref/seed_rfm.py" --format "${format[$ds]}" \
            --tie-break "$tie" "${file[$ds]}" >"$tmp/ref-$ds-$tie.csv" || exit 1
    done
) &
refs=$!
kafka_track $refs

for ds in flo retail; do
    ties=()
    for c in $cases; do [ "${c%%:*}" = "$ds" ] && ties+=("${c#*:}"); done
    [ ${#ties[@]} -gt 0 ] || continue
    topic=orders-$ds
    groups=()
    for tie in "${ties[@]}"; do groups+=("bp-$ds-${short[$tie]}"); done
    echo "== $ds: tie orders ${ties[*]} (groups ${groups[*]})"

    # 1. The topic, the pieces, the configs; A B C of every group.
    kafka_admin create "$topic" "$parts" 2>/dev/null || fail "could not create $topic"
    "$replay" -q --format "${format[$ds]}" --stdout "${file[$ds]}" >"$tmp/$topic.jsonl"
    total=$(wc -l <"$tmp/$topic.jsonl")
    for k in 0 1 2; do
        awk -v k=$k 'NR % 3 == k' "$tmp/$topic.jsonl" >"$tmp/$topic.piece$((k + 1)).jsonl"
    done
    for i in "${!ties[@]}"; do
        g=${groups[$i]}
        for n in A B C D; do config "$g-$n" "$g" "$topic" "seg-$g" "${ties[$i]}" "$scaled"; done
        config "$g-S" "$g-single" "$topic" "seg-$g-single" "${ties[$i]}" ""
    done
    for g in "${groups[@]}"; do start "$g-A"; done # first alone: it creates the changelog
    for g in "${groups[@]}"; do await_assigned "$g-A"; done
    for g in "${groups[@]}"; do start "$g-B" && start "$g-C"; done
    for g in "${groups[@]}"; do await_assigned "$g-B" && await_assigned "$g-C"; done
    "$replay" -q --format jsonl --brokers "$boot" --topic "$topic" "$tmp/$topic.piece1.jsonl" ||
        fail "replaying piece 1 failed"
    elapsed "$ds: piece 1 sent ($total orders in all)"
    # Consumed before the kill, so a group that takes in nothing says so.
    first=$(wc -l <"$tmp/$topic.piece1.jsonl")
    for g in "${groups[@]}"; do
        end=$((SECONDS + 120))
        while got=$(($(consumed "$g-A") + $(consumed "$g-B") + $(consumed "$g-C"))) &&
            [ "$got" -lt "$first" ]; do
            [ $SECONDS -lt $end ] || fail "$g consumed $got of piece 1's $first orders within 120 s"
            sleep 0.5
        done
    done
    elapsed "$ds: piece 1 consumed"

    # 2. B dies mid-stream, D joins.
    declare -A before=()
    for g in "${groups[@]}"; do before[$g]=$(consumed "$g-B"); done
    replay_start "$topic" 2 "${rate[$ds]}"
    # A twelfth of the piece: a quarter of what B's two partitions get of it.
    want=$((total / 36))
    for g in "${groups[@]}"; do
        end=$((SECONDS + 30))
        until [ "$(consumed "$g-B")" -ge $((before[$g] + want)) ]; do
            [ $SECONDS -lt $end ] || fail "$g-B consumed nothing of piece 2 within 30 s"
            sleep 0.1
        done
        got=$(($(consumed "$g-B") - before[$g]))
        kill -KILL "${pid[$g-B]}"
        wait "${pid[$g-B]}" 2>/dev/null || true
        unset "addr[$g-B]"
        elapsed "$g-B SIGKILLed, $got orders of piece 2 consumed"
    done
    for g in "${groups[@]}"; do start "$g-D"; done
    wait $rp || fail "replaying piece 2 failed"
    elapsed "$ds: piece 2 sent"

    # 3. B comes back on its own state, mid-stream.
    replay_start "$topic" 3 "${rate[$ds]}"
    sleep 1
    for g in "${groups[@]}"; do start "$g-B" "$g-B2"; done
    wait $rp || fail "replaying piece 3 failed"
    elapsed "$ds: piece 3 sent"

    # 4. The single instances; everyone settled.
    for g in "${groups[@]}"; do start "$g-S"; done
    for g in "${groups[@]}"; do
        python3 "${scaleout[@]}" settled --topic "$topic" --partitions "$parts" --timeout 180 \
            "${addr[$g-A]}" "${addr[$g-B]}" "${addr[$g-C]}" "${addr[$g-D]}" || fail "$g did not settle"
        python3 "${scaleout[@]}" settled --topic "$topic" --partitions "$parts" --timeout 180 \
            "${addr[$g-S]}" || fail "$g-S did not catch up"
    done
    elapsed "$ds: settled"

    # 5. A round over the end offsets, its events delivered.
    ends=$(for ((p = 0; p < parts; p++)); do printf -- '-t %s:%d:-1 ' "$topic" $p; done)
    # shellcheck disable=SC2086 # ends: one -t argument per partition
    ends=$(kcat -Q -b "$boot" $ends | sed -n 's/.* \[\([0-9]*\)\] offset \([0-9]*\).*/\1 \2/p' |
        sort -n | awk '{ printf "%s%s", (NR > 1 ? "," : ""), $2 }')
    [ "$(tr ',' '\n' <<<"$ends" | awk '{ s += $1 } END { print s }')" -eq "$total" ] ||
        fail "$topic end offsets $ends do not add up to $total orders"
    echo "  $topic end offsets: $ends"
    for g in "${groups[@]}"; do
        for set in group single; do
            if [ $set = group ]; then
                inst=("${addr[$g-A]}" "${addr[$g-B]}" "${addr[$g-C]}" "${addr[$g-D]}")
            else
                inst=("${addr[$g-S]}")
            fi
            rc=0
            python3 "${segcheck[@]}" covered --ends "$ends" --timeout 120 "${inst[@]}" |
                sed "s/^/  $g $set: /" || rc=$? # pipefail: python's status
            case $rc in
            0) ;;
            3) failures+=("$g $set: no \"round\" in GET /breakpoints (no group breakpoints)") ;;
            *) fail "$g $set: no round over the end offsets, or its events not delivered" ;;
            esac
        done
        for n in A B C D; do
            s=$(scope_of "$g-$n")
            [ "$s" = group ] || [ "$s" = none ] || failures+=("$g-$n: round scope $s, want group")
        done
        s=$(scope_of "$g-S")
        [ "$s" = local ] || [ "$s" = none ] || failures+=("$g-S: round scope $s, want local")
    done
    elapsed "$ds: rounds over the end offsets, events delivered"

    # 6. The last event per customer against pandas.
    wait $refs 2>/dev/null || true # the references (its status: below, by their files)
    for i in "${!ties[@]}"; do
        g=${groups[$i]}
        ref=$tmp/ref-$ds-${ties[$i]}.csv
        [ -s "$ref" ] || fail "no pandas reference $ref (tests/ref/seed_rfm.py failed)"
        for seg in "seg-$g" "seg-$g-single"; do
            kafka_consume "$seg" -X isolation.level=read_committed -f '%p\t%o\t%s\n' >"$tmp/$seg.txt" ||
                fail "could not read $seg"
            python3 "${segcheck[@]}" check --reference "$ref" --expect-customers "${customers[$ds]}" \
                --label "$seg" "$tmp/$seg.txt" ||
                failures+=("$seg: last events differ from pandas ($ds, tie_break ${ties[$i]})")
        done
    done
    elapsed "$ds: compared"

    # 7. A clean stop.
    for g in "${groups[@]}"; do group_stop "$g-A" "$g-B" "$g-C" "$g-D" "$g-S"; done
done

if [ ${#failures[@]} -gt 0 ]; then
    printf 'FAIL: %s\n' "${failures[@]}" >&2
    exit 1
fi
elapsed "ok: every group published, as its single instance did, the pandas segment of every customer"
