#!/usr/bin/env bash
# Changelog compaction on a real Apache Kafka broker: after the broker has
# compacted it, the changelog alone restores every customer (docs/contract.md
# 9, 9.1). Run under tests/kafka/broker.sh run with a log cleaner that wakes
# up often (tests/CMakeLists.txt: --prop log.cleaner.backoff.ms=...), which
# sets KAFKA_BOOTSTRAP:
#
#   1. orders (4 partitions) and cmp-g-changelog created here (TopicAdmin.java),
#      the changelog compacted within seconds: cleanup.policy=compact,
#      segment.ms=1000, min.cleanable.dirty.ratio=0.01, min.compaction.lag.ms=0;
#      rfmd accepts it (present, 4 partitions, a policy with compact);
#   2. the FLO orders replayed keyed (rfm-replay, murmur2_random); rfmd A
#      (changelog.enabled, input.partitioner murmur2_random, its own snapshot
#      dir) consumes them, settles (scaleout_check.py settled), and gives the
#      reference of all 19,945 customers (scaleout_check.py reference); every
#      applied order wrote one changelog record: the partitions' end offsets
#      add up to 100,219 (a full read may return fewer already: the cleaner
#      runs while A writes);
#   3. a few orders of other customers ("roll-*", not in the reference) roll
#      the segments that hold the FLO records, which the cleaner only touches
#      once they are no longer the active one; then a full read of the
#      changelog (kcat) must return far fewer records than 100,219, close to
#      one per customer, within 60 s (more roll orders every 15 s) — else FAIL
#      with the counts; A is stopped (SIGTERM, exit 0);
#   4. every order deleted from orders (TopicAdmin delete-records): nothing
#      for B to re-read (an rfmd that restores nothing reads its input from
#      the beginning); rfmd B, same group, an EMPTY snapshot dir: no
#      checkpoint, the changelog alone; it restores all 4 partitions (the
#      records it read, summed over the `partition N restored: ... from R
#      changelog records` lines, must be < 100,219 and no more than the
#      compacted count: it read the compacted log), settles, and
#      scaleout_check.py check over B alone equals the reference for all
#      19,945 customers, Σ frequency 100,219; B exits 0, having consumed no
#      order.
#
# usage: test_changelog_compaction_kafka.sh RFMD RFM_REPLAY
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
group=cmp-g
changelog=$group-changelog
parts=4
orders=100219
customers=19945
roll_customers=40 # per roll: enough that every partition gets some
kafka_tmp

fail() {
    echo "FAIL: $*" >&2
    group_dump 'changelog|restor|rebalanc|error|fatal|backlog'
    exit 1
}
elapsed() { group_elapsed "$@"; }
admin() { kafka_admin "$@" 2>"$tmp/admin.err"; }

# config NAME: NAME's rfmd.yaml in group cmp-g, own snapshot dir, HTTP on any port.
config() {
    {
        printf 'kafka:\n  brokers: "%s"\n  group_id: %s\n' "$boot" "$group"
        printf '  consumer:\n    session.timeout.ms: "6000"\n    heartbeat.interval.ms: "500"\n'
        printf 'rescore:\n  interval: 10m\n'
        printf 'snapshot:\n  dir: "%s"\n' "$tmp/state-$1"
        printf 'http:\n  listen: "127.0.0.1:0"\n'
        printf 'changelog:\n  enabled: true\ninput:\n  partitioner: murmur2_random\n'
    } >"$tmp/$1.yaml"
}

# start NAME / stop NAME: group_start / group_stop, NAME also in rfmd_pid
# while it runs (kafka_wait_log gives up when it exits).
start() {
    group_start "$1"
    rfmd_pid=${pid[$1]}
}
stop() {
    group_stop "$1"
    rfmd_pid=""
}

# The records a full read of the changelog returns (all partitions).
count() { kafka_consume "$changelog" -f '%o\n' | wc -l; }
# The records ever written to it: the sum of its partitions' end offsets
# (at_least_once: an idempotent producer, no transaction markers).
written() {
    local q=() p
    for ((p = 0; p < parts; p++)); do q+=(-t "$changelog:$p:-1"); done
    kcat -Q -b "$boot" "${q[@]}" | sed -n 's/.* offset \([0-9]*\).*/\1/p' |
        awk '{ s += $1; n++ } END { if (n == '"$parts"') print s; else print -1 }'
}

# roll K: orders roll-K-0.. of customers roll-0.. (not FLO's), one each, via A.
rolls=0
roll() {
    awk -v k="$1" -v n="$roll_customers" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "{\"order_id\":\"roll-%d-%d\",\"customer_id\":\"roll-%d\",\"ts\":\"2021-01-15T10:00:00Z\",\"amount\":10.00}\n", k, i, i
    }' >"$tmp/roll$1.jsonl"
    "$replay" -q --format jsonl --brokers "$boot" --topic orders "$tmp/roll$1.jsonl" ||
        fail "replaying the roll orders failed"
    rolls=$(($1 + 1))
}

# 1. The topics, created before any rfmd runs (one JVM: TopicAdmin's "--").
topic_configs=(cleanup.policy=compact segment.ms=1000 min.cleanable.dirty.ratio=0.01
    min.compaction.lag.ms=0 delete.retention.ms=100)
got=$(admin create orders "$parts" -- create "$changelog" "$parts" "${topic_configs[@]}" \
    -- describe "$changelog" segment.ms min.cleanable.dirty.ratio min.compaction.lag.ms) ||
    { cat "$tmp/admin.err" >&2; fail "could not create orders and $changelog"; }
want="partitions=$parts cleanup.policy=compact segment.ms=1000 min.cleanable.dirty.ratio=0.01 min.compaction.lag.ms=0"
[ "$got" = "$want" ] || fail "$changelog: $got, want $want"
elapsed "created orders ($parts partitions) and $changelog ($got)"

# 2. The FLO orders, A, the reference.
"$replay" -q --format flo --brokers "$boot" --topic orders "$flo" || fail "replaying FLO failed"
elapsed "FLO replayed: $orders orders"
config A
config B
start A
grep -q "changelog: topic $changelog has $parts partitions like orders" "$tmp/A.log" ||
    fail "A did not accept the pre-created $changelog"
kafka_wait_log "$tmp/A.log" "backlog consumed" 180 || fail "A did not consume the backlog"
python3 "${check[@]}" settled --partitions "$parts" --timeout 120 "${addr[A]}" ||
    fail "A did not settle"
python3 "${check[@]}" reference --ids "$flo" --out "$tmp/ref.json" "${addr[A]}" ||
    fail "no reference from A"
# The cleaner may have compacted some already, while A was writing.
wrote=$(written)
before=$(count)
elapsed "A holds the reference; $wrote changelog records written, a full read returns $before"
[ "$wrote" -ge "$orders" ] ||
    fail "$wrote changelog records written, want one per order: $orders"

# 3. Compaction: roll the segments, wait for the cleaner.
target=$((customers + customers / 10)) # within 10% of one record per customer
sleep 1.2 # > segment.ms: the next append rolls each partition's segment
roll 0
end=$((SECONDS + 60)) next_roll=$((SECONDS + 15)) now=$before
while :; do
    now=$(count)
    [ "$now" -gt "$target" ] || break
    [ $SECONDS -lt $end ] || fail "no compaction within 60 s: a full read of the changelog \
still returns $now records ($wrote written, $before at the first read; $orders orders, \
$customers customers; wanted <= $target) after $rolls roll(s) of $roll_customers orders"
    if [ $SECONDS -ge $next_roll ]; then
        roll "$rolls"
        next_roll=$((SECONDS + 15))
    fi
    sleep 1
done
after=$now
elapsed "compacted: a full read returns $after records ($(written) written, $before at the first \
read; $customers FLO customers + $roll_customers roll customers, $rolls roll(s))"
python3 "${check[@]}" settled --partitions "$parts" --timeout 60 "${addr[A]}" ||
    fail "A did not settle after the roll orders"
stop A
# A's shutdown rescore may write a few more records (one per customer whose
# segment it changed): what B can read is the full read after A stopped.
after=$(count)
elapsed "after A's stop a full read returns $after records"

# 4. B: an empty snapshot dir and no orders left to read (DeleteRecords on
# every partition of orders: an rfmd with nothing restored reads its input
# from the beginning, which would hide a restore that restored nothing): the
# changelog alone.
deleted=$(admin delete-records orders) || { cat "$tmp/admin.err" >&2; fail "could not delete the orders"; }
left=$(kafka_consume orders -f '%o\n' | wc -l)
[ "$left" -eq 0 ] || fail "$left orders left after deleting them"
elapsed "$deleted; a full read of orders returns $left"
[ ! -e "$tmp/state-B" ] || fail "B's snapshot dir is not empty"
start B
kafka_wait_log "$tmp/B.log" "partition [0-9]* restored: " 120 "$parts" ||
    fail "B did not restore its $parts partitions"
restores=$(grep -E "partition [0-9]+ restored: " "$tmp/B.log")
# shellcheck disable=SC2001 # a regex, not a substitution
sed 's/.*\(partition [0-9]* restored: .*\)/  \1/' <<<"$restores"
! grep -q 'onto its checkpoint' <<<"$restores" || fail "B restored onto a checkpoint"
restored=$(sed -n 's/.* from \([0-9]*\) changelog records.*/\1/p' <<<"$restores" |
    awk '{ s += $1 } END { print s + 0 }')
[ "$restored" -lt "$orders" ] ||
    fail "B read $restored changelog records: not a compacted log (one per order: $orders)"
[ "$restored" -le "$after" ] ||
    fail "B read $restored changelog records, more than the $after a full read returned"
[ "$restored" -ge "$customers" ] ||
    fail "B read $restored changelog records, fewer than the $customers customers"
elapsed "B restored $parts partitions from $restored changelog records (not $orders)"
python3 "${check[@]}" settled --partitions "$parts" --timeout 120 "${addr[B]}" ||
    fail "B did not settle"
python3 "${check[@]}" check --reference "$tmp/ref.json" --expect-customers "$customers" \
    --expect-frequency "$orders" "${addr[B]}" ||
    fail "B, restored from the compacted changelog alone, differs from the reference"
elapsed "ok: B, from the compacted changelog alone, holds all $customers customers as A did"
stop B
grep -q 'final: consumed 0 ' "$tmp/B.log" || fail "B consumed orders: $(grep 'final:' "$tmp/B.log")"
