#!/usr/bin/env bash
# rfmd's changelog topic on a real Apache Kafka broker (run under
# tests/kafka/broker.sh run --partitions 4, which sets KAFKA_BOOTSTRAP):
#  1. with changelog.enabled and no topic, rfmd creates <group>-changelog with
#     the input's partition count, cleanup.policy=compact and rfmd's
#     segment.bytes and segment.ms (64 MiB, 1 h: with the broker's 1 GiB
#     and 7 days a changelog of less than 1 GiB a partition stays
#     uncompacted for up to a week), and writes one
#     record per FLO customer at least (checked with kcat and the Admin API);
#  2. a second start finds it as it must be and runs;
#  3. a pre-created <group>-changelog with another partition count makes rfmd
#     exit 1 naming the topic, what it has and what it needs;
#  4. one with cleanup.policy=delete makes it exit 1 too;
#  5. segment.bytes and segment.ms: rfmd's by default (step 1), else what
#     changelog.topic_config says, with its other topic configs; a value the
#     broker refuses makes rfmd exit 1 with the broker's reason;
#  6. partitions added to the input while rfmd runs (TopicAdmin
#     add-partitions, 2 -> 3): once the rebalance assigns the new partition,
#     rfmd stops with exit 4 naming it and the changelog's count.
# The Admin API calls are tests/kafka/TopicAdmin.java (kafka_admin).
#
# usage: test_daemon_changelog_kafka.sh RFMD RFM_REPLAY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/../scripts/lib/kafka.sh"
rfmd=$1
replay=$2
boot=${KAFKA_BOOTSTRAP:?run me under tests/kafka/broker.sh run}
flo=${RFM_SHARED:?}/data/flo_data_20k.csv
kafka_tmp
fail() {
    echo "FAIL: $*" >&2
    tail -20 "$tmp/rfmd.log" >&2 || true
    exit 1
}
admin() { kafka_admin "$@" 2>/dev/null; }
config() { # file group
    kafka_rfmd_config "$1" "$2" 10m "$tmp/state-$2"
    printf 'changelog:\n  enabled: true\n' >>"$1"
}

"$replay" -q --format flo --brokers "$boot" --topic orders "$flo"
parts=$(kcat -L -b "$boot" -t orders | sed -n 's/.*topic "orders" with \([0-9]*\) partitions.*/\1/p')
[ -n "$parts" ] || fail "no partition count for orders"

# 1. created, compacted, same partition count, written.
config "$tmp/rfmd.yaml" rfmd-cl
kafka_rfmd_start "$rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd.log"
kafka_wait_log "$tmp/rfmd.log" "backlog consumed" 120 || fail "rfmd did not catch up"
kafka_rfmd_stop
[ "$rfmd_status" -eq 0 ] || fail "rfmd exited $rfmd_status"
grep -q "created topic rfmd-cl-changelog ($parts partitions" "$tmp/rfmd.log" ||
    fail "no 'created topic' line"
got=$(admin describe rfmd-cl-changelog segment.bytes segment.ms)
[ "$got" = "partitions=$parts cleanup.policy=compact segment.bytes=67108864 segment.ms=3600000" ] ||
    fail "changelog topic: $got"
keys=$(kafka_consume rfmd-cl-changelog -f '%k\n' | sort -u | wc -l)
[ "$keys" -eq 19945 ] || fail "$keys customers in the changelog, want 19945"
echo "ok: rfmd created rfmd-cl-changelog ($got), records for all $keys customers"

# 2. present and right: accepted.
kafka_rfmd_start "$rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd2.log"
kafka_wait_log "$tmp/rfmd2.log" "topic rfmd-cl-changelog has $parts partitions like orders" 60 ||
    fail "second start did not accept the topic"
kafka_rfmd_stop
[ "$rfmd_status" -eq 0 ] || fail "second rfmd exited $rfmd_status"
echo "ok: a second start accepts it"

# 3. wrong partition count: refused.
admin create rfmd-bad-changelog $((parts + 1))
config "$tmp/bad.yaml" rfmd-bad
rc=0
"$rfmd" -c "$tmp/bad.yaml" >"$tmp/bad.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "wrong partition count: exit $rc, want 1"
want="changelog topic rfmd-bad-changelog has $((parts + 1)) partitions, needs $parts"
grep -q "$want" "$tmp/bad.log" || { cat "$tmp/bad.log" >&2; fail "no clear message"; }
echo "ok: wrong partition count refused: $want"

# 4. not compacted: refused.
admin create rfmd-del-changelog "$parts"
config "$tmp/del.yaml" rfmd-del
rc=0
"$rfmd" -c "$tmp/del.yaml" >"$tmp/del.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "cleanup.policy=delete: exit $rc, want 1"
grep -q "changelog topic rfmd-del-changelog has cleanup.policy=delete, needs compact" \
    "$tmp/del.log" || { cat "$tmp/del.log" >&2; fail "no clear message"; }
echo "ok: cleanup.policy=delete refused"

# 5. changelog.topic_config: over the default, passed to CreateTopics.
config "$tmp/tc.yaml" rfmd-tc
printf '  topic_config:\n    segment.bytes: "1048576"\n    min.cleanable.dirty.ratio: "0.2"\n' \
    >>"$tmp/tc.yaml"
kafka_rfmd_start "$rfmd" "$tmp/tc.yaml" "$tmp/tc.log"
kafka_wait_log "$tmp/tc.log" "created topic rfmd-tc-changelog" 60 || fail "rfmd-tc: no 'created topic'"
kafka_rfmd_stop
[ "$rfmd_status" -eq 0 ] || fail "rfmd-tc exited $rfmd_status"
grep -q "created topic rfmd-tc-changelog ($parts partitions like orders, cleanup.policy=compact, \
segment.ms=3600000, segment.bytes=1048576, min.cleanable.dirty.ratio=0.2)" "$tmp/tc.log" ||
    { grep "created topic" "$tmp/tc.log" >&2; fail "rfmd-tc: the 'created topic' line lacks its configs"; }
got=$(admin describe rfmd-tc-changelog segment.bytes segment.ms min.cleanable.dirty.ratio)
want="partitions=$parts cleanup.policy=compact segment.bytes=1048576 segment.ms=3600000 min.cleanable.dirty.ratio=0.2"
[ "$got" = "$want" ] || fail "rfmd-tc-changelog: $got, want $want"
echo "ok: changelog.topic_config applied ($got)"
config "$tmp/tcbad.yaml" rfmd-tcbad
printf '  topic_config:\n    segment.bytes: "lots"\n' >>"$tmp/tcbad.yaml"
rc=0
"$rfmd" -c "$tmp/tcbad.yaml" >"$tmp/tcbad.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$tmp/tcbad.log" >&2; fail "segment.bytes: lots: exit $rc, want 1"; }
grep -q "changelog topic rfmd-tcbad-changelog does not exist and cannot be created.*segment.bytes=lots.*lots" \
    "$tmp/tcbad.log" || { cat "$tmp/tcbad.log" >&2; fail "segment.bytes: lots: no clear message"; }
echo "ok: a topic config the broker refuses: exit 1, $(grep -o 'cannot be created.*' "$tmp/tcbad.log" | head -1)"

# 6. Partitions added while running: the new one has no changelog partition.
kafka_admin create grow 2 2>/dev/null || fail "could not create topic grow"
{
    printf 'kafka:\n  brokers: "%s"\n  group_id: rfmd-grow\n' "$boot"
    printf '  consumer:\n    topic.metadata.refresh.interval.ms: "1000"\n'
    printf 'topics:\n  orders: grow\n  segments: grow-segments\n'
    printf 'snapshot:\n  dir: "%s"\n' "$tmp/state-grow"
    printf 'http:\n  listen: ""\nchangelog:\n  enabled: true\n'
} >"$tmp/grow.yaml"
kafka_rfmd_start "$rfmd" "$tmp/grow.yaml" "$tmp/grow.log"
kafka_wait_log "$tmp/grow.log" "consumer: assigned 2 partition" 60 || fail "rfmd-grow: no assignment"
kafka_admin add-partitions grow 3 2>/dev/null || fail "could not add a partition to grow"
end=$((SECONDS + 60))
while kill -0 "$rfmd_pid" 2>/dev/null; do
    [ $SECONDS -lt $end ] || { tail -5 "$tmp/grow.log" >&2; fail "rfmd-grow still runs 60 s after a partition was added"; }
    sleep 0.2
done
rc=0
wait "$rfmd_pid" || rc=$?
rfmd_pid=""
[ "$rc" -eq 4 ] || { tail -20 "$tmp/grow.log" >&2; fail "partition added: exit $rc, want 4"; }
grep -q "grow \[2\] was assigned, but rfmd-grow-changelog has 2 partitions: partitions were added" \
    "$tmp/grow.log" || { tail -20 "$tmp/grow.log" >&2; fail "partition added: no clear message"; }
echo "ok: a partition added while running: exit 4, $(grep -o 'grow \[2\] was assigned.*partitions:' "$tmp/grow.log" | head -1)"
