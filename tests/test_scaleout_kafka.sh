#!/usr/bin/env bash
# Several rfmd in one consumer group on a real Apache Kafka broker (run under
# tests/kafka/broker.sh run, which sets KAFKA_BOOTSTRAP): together they must
# hold every FLO customer exactly once, with the state a single rfmd has,
# after members die, join, leave and come back mid-stream.
#
#   - orders: 6 partitions (TopicAdmin.java); the FLO orders (rfm-replay
#     --stdout) dealt into three pieces by line (every customer's orders are
#     spread over all three), each replayed keyed by customer
#     (murmur2_random);
#   - A, B, C in group scale-g: changelog.enabled, input.partitioner
#     murmur2_random, own snapshot dir (snapshots every 2 s), HTTP on a free
#     port; piece 1;
#   - piece 2 at 6,000 orders/s, B SIGKILLed in the middle of it, D joins;
#   - piece 3 at 6,000 orders/s, C SIGTERMed in the middle (must exit 0),
#     B restarted on its snapshot dir;
#   - R, one rfmd of everything default (its own group, no keying check, no
#     changelog), reads the whole topic: the reference;
#   - settled (tests/scaleout_check.py settled: every partition owned by
#     exactly one of A, B, D, all running, lag 0, caught up), then
#     scaleout_check.py check over A, B, D: each customer held by exactly
#     one, every copy equal to R's, Σ frequency 100,219 over 19,945;
#   - SIGTERM: A, B, D and R exit 0.
#
# usage: test_scaleout_kafka.sh RFMD RFM_REPLAY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/../scripts/lib/kafka.sh"
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka_group.sh
. "$here/../scripts/lib/kafka_group.sh"
rfmd=$1
replay=$2
boot=${KAFKA_BOOTSTRAP:?run me under tests/kafka/broker.sh run}
flo=${RFM_SHARED:?}/data/flo_data_20k.csv
check=("$here/scaleout_check.py")
group=scale-g
parts=6
rate=6000
kafka_tmp

# Every instance's /partitions and log tail, then exit 1.
fail() {
    echo "FAIL: $*" >&2
    group_dump 'consumer:|changelog|restor|rebalanc|error|fatal'
    # With RFM_KEEP_TMP=1 the topics too, for a look at what was committed.
    if [ -n "${RFM_KEEP_TMP:-}" ]; then
        local iso
        for iso in read_committed read_uncommitted; do
            kcat -C -b "$boot" -t "$group-changelog" -e -q -X "isolation.level=$iso" \
                -f '%p %o %k %h %s\n' >"$tmp/changelog.$iso.txt" 2>/dev/null || true
        done
        kcat -C -b "$boot" -t orders -e -q -f '%p %o %k %s\n' >"$tmp/orders.txt" 2>/dev/null || true
        echo "topics dumped into $tmp" >&2
    fi
    exit 1
}
elapsed() { group_elapsed "$@"; }

# config NAME GROUP EXTRA: NAME's rfmd.yaml, own snapshot dir, HTTP on any port.
config() {
    {
        printf 'kafka:\n  brokers: "%s"\n  group_id: %s\n' "$boot" "$2"
        printf '  consumer:\n    session.timeout.ms: "6000"\n    heartbeat.interval.ms: "500"\n'
        printf 'rescore:\n  interval: 10s\n'
        printf 'snapshot:\n  dir: "%s"\n  interval: 2s\n' "$tmp/state-$1"
        printf 'http:\n  listen: "127.0.0.1:0"\n'
        printf '%b' "$3"
    } >"$tmp/$1.yaml"
}
# exactly_once by default on the real broker (the mock cluster has no
# transactions: tests/test_daemon_scaleout.c runs at_least_once there);
# RFM_SCALEOUT_GUARANTEE=at_least_once runs this one at least once.
guarantee=${RFM_SCALEOUT_GUARANTEE:-exactly_once}
scaled="changelog:\n  enabled: true\ninput:\n  partitioner: murmur2_random\nprocessing:\n  guarantee: $guarantee\n"

start() { group_start "$@"; }

# await_assigned NAME: NAME owns a partition (GET /partitions).
owns='import json, sys
sys.exit(0 if json.load(sys.stdin).get("partitions", 0) > 0 else 1)'
await_assigned() {
    local end=$((SECONDS + 60))
    until curl -s --max-time 2 "http://${addr[$1]}/partitions" | python3 -c "$owns" 2>/dev/null; do
        [ $SECONDS -lt $end ] || fail "$1 got no partitions within 60 s"
        sleep 0.1
    done
}

# replay PIECE [--rate N]: send one piece, keyed by customer id.
replay() {
    local piece=$1
    shift
    "$replay" -q --format jsonl --brokers "$boot" --topic orders "$@" "$tmp/piece$piece.jsonl"
}
# replay_start PIECE: the same at $rate in the background; its pid in rp —
# rfm-replay's own (not a subshell's), so the cleanup's SIGKILL reaches it.
replay_start() {
    "$replay" -q --format jsonl --brokers "$boot" --topic orders --rate "$rate" \
        "$tmp/piece$1.jsonl" &
    rp=$!
    kafka_track $rp
}

# 1. The orders topic, the pieces, A B C.
kafka_admin create orders "$parts" 2>/dev/null ||
    fail "could not create the orders topic"
got=$(kcat -L -b "$boot" -t orders | sed -n 's/.*topic "orders" with \([0-9]*\) partitions.*/\1/p')
[ "$got" = "$parts" ] || fail "orders has '$got' partitions, want $parts"
"$replay" -q --format flo --stdout "$flo" >"$tmp/all.jsonl"
for k in 0 1 2; do awk -v k=$k 'NR % 3 == k' "$tmp/all.jsonl" >"$tmp/piece$((k + 1)).jsonl"; done
[ "$(cat "$tmp"/piece?.jsonl | wc -l)" -eq 100219 ] || fail "pieces do not hold 100,219 orders"
for n in A B C D; do config $n "$group" "$scaled"; done
config R scale-ref ""
start A # first alone: it creates the changelog topic
await_assigned A
start B
start C
await_assigned B
await_assigned C
replay 1
elapsed "piece 1 sent"

# 2. B dies mid-stream; D joins.
# consumed NAME: NAME's input messages so far (GET /metrics).
consumed() {
    curl -s --max-time 2 "http://${addr[$1]}/metrics" |
        awk '$1 == "rfmd_orders_consumed_total" { print $2; found = 1 } END { if (!found) print 0 }'
}
b_before=$(consumed B)
replay_start 2
# Mid-stream for B itself: it is applying piece 2 (inside a transaction,
# with exactly_once) when it dies, however slowly the replay started.
end=$((SECONDS + 30))
until [ "$(consumed B)" -ge $((b_before + 1500)) ]; do
    [ $SECONDS -lt $end ] || fail "B consumed nothing of piece 2 within 30 s"
    sleep 0.1
done
if [ "$guarantee" = exactly_once ]; then
    # Provably inside a transaction: B frozen (SIGSTOP) holds changelog
    # records of its open transaction in the log of its own partitions — a
    # read_uncommitted read of them returns more than a read_committed one,
    # which stops at the open transaction. Else let it run a moment, again.
    # (A busy B may miss one request's 2 s: ask again.)
    bparts=""
    for _ in $(seq 1 15); do
        bparts=$(curl -s --max-time 2 "http://${addr[B]}/partitions" | python3 -c '
import json, sys
print(" ".join(str(p["partition"]) for p in json.load(sys.stdin)["assignment"]))' 2>/dev/null) &&
            [ -n "$bparts" ] && break
        sleep 0.2
    done
    [ -n "$bparts" ] || fail "B owns no partition before its kill"
    count_p() { # ISOLATION: records of B's changelog partitions a read returns
        local p n=0
        for p in $bparts; do
            n=$((n + $(kcat -C -b "$boot" -t "$group-changelog" -p "$p" -e -q \
                -X "isolation.level=$1" -f '%o\n' | wc -l)))
        done
        echo $n
    }
    for try in $(seq 1 40); do
        kill -STOP "${pid[B]}"
        open=$(($(count_p read_uncommitted) - $(count_p read_committed)))
        [ "$open" -gt 0 ] && break
        kill -CONT "${pid[B]}"
        sleep 0.$((RANDOM % 3 + 1))
    done
    [ "$open" -gt 0 ] || fail "B never held an open transaction with changelog records"
    echo "  B frozen with $open changelog records of an open transaction (try $try)"
fi
kill -KILL "${pid[B]}"
wait "${pid[B]}" 2>/dev/null || true
elapsed "B SIGKILLed"
start D
wait $rp || fail "replaying piece 2 failed"
elapsed "piece 2 sent"

# 3. C leaves mid-stream (cleanly); B comes back on its own state.
replay_start 3
sleep 1.5
group_stop C
start B B2
wait $rp || fail "replaying piece 3 failed"
elapsed "piece 3 sent"

# 4. The reference, then the group, settled.
start R
python3 "${check[@]}" settled --partitions "$parts" --timeout 120 "${addr[R]}" ||
    fail "the reference instance did not catch up"
python3 "${check[@]}" reference --ids "$flo" --out "$tmp/ref.json" "${addr[R]}" ||
    fail "no reference"
# The checker's own control: R alone holds everyone once, as itself.
python3 "${check[@]}" check --reference "$tmp/ref.json" --expect-customers 19945 \
    --expect-frequency 100219 "${addr[R]}" >"$tmp/control.out" ||
    { cat "$tmp/control.out"; fail "the checker refuses the reference instance itself"; }
elapsed "reference: R holds all 19,945 customers, 100,219 orders"
python3 "${check[@]}" settled --partitions "$parts" --timeout 120 \
    "${addr[A]}" "${addr[B]}" "${addr[D]}" || fail "A, B, D did not settle"
elapsed "settled"

# 5. Every customer once, equal to the reference.
python3 "${check[@]}" check --reference "$tmp/ref.json" --expect-customers 19945 \
    --expect-frequency 100219 "${addr[A]}" "${addr[B]}" "${addr[D]}" ||
    fail "A, B, D do not hold every customer exactly once as the reference does"
elapsed "ok: A, B, D hold all 19,945 customers exactly once, equal to the reference"
# The partitions that moved were rebuilt from the changelog (not replayed
# from the input): at least one restore applied records, and said so.
restores=$(cat "$tmp"/A.log "$tmp"/B2.log "$tmp"/D.log |
    grep -E 'partition [0-9]+ restored: [0-9]+ customers from [1-9][0-9]* changelog records' || true)
[ -n "$restores" ] || fail "no partition was restored from the changelog"
sed 's/.*\(partition [0-9]* restored: .*\)/  \1/' <<<"$restores"
elapsed "$(wc -l <<<"$restores") partition restores from the changelog"

# Exactly-once: B was SIGKILLed inside a transaction, which was aborted (at
# the latest by B's restart fencing it): a read_uncommitted reader of the
# changelog sees those aborted records, a read_committed one does not.
if [ "$guarantee" = exactly_once ]; then
    count() {
        kcat -C -b "$boot" -t "$group-changelog" -e -q -X "isolation.level=$1" -f '%o\n' | wc -l
    }
    committed=$(count read_committed)
    uncommitted=$(count read_uncommitted)
    echo "  changelog records: $uncommitted read_uncommitted, $committed read_committed"
    [ "$uncommitted" -gt "$committed" ] ||
        fail "no aborted changelog record: the kill did not land inside a transaction"
    grep -q 'exactly-once: transactional producer ready' "$tmp/B2.log" ||
        fail "B did not run transactional after its restart"
    elapsed "$((uncommitted - committed)) aborted changelog records seen read_uncommitted only"
fi

# 6. A clean stop of everyone.
group_stop A B D R
