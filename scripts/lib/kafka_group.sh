# shellcheck shell=bash
# scripts/lib/kafka_group.sh — several rfmd of one consumer group on a real
# broker, each with its own config, log and HTTP listener, as the group
# tests drive them (tests/test_scaleout_kafka.sh,
# tests/test_changelog_compaction_kafka.sh). Sourced after kafka.sh, whose
# kafka_tmp and kafka_track it uses:
#
#   . "$here/../scripts/lib/kafka.sh"
#   . "$here/../scripts/lib/kafka_group.sh"
#   kafka_tmp
#   fail() { echo "FAIL: $*" >&2; group_dump 'restor|error'; exit 1; }
#   ... write "$tmp/A.yaml" (http.listen "127.0.0.1:0") ...
#   group_start A                      # waits for "http: listening on"
#   curl "http://${addr[A]}/partitions"
#   group_stop A                       # SIGTERM, must exit 0
#
# Expects: rfmd (the binary), tmp (kafka_tmp), and a function fail MESSAGE of
# the caller's, which reports and exits: the functions here call it when an
# instance does not come up or does not stop cleanly.
# Sets (globals): pid[NAME] and addr[NAME] (associative; addr only while NAME
# runs), group_t0 (SECONDS when sourced, for group_elapsed).

declare -A pid=() addr=()
group_t0=$SECONDS

# group_elapsed MESSAGE: MESSAGE after the seconds since the script began.
group_elapsed() { echo "[$((SECONDS - group_t0)) s] $*"; }

# group_start NAME [LOG]: run rfmd on $tmp/NAME.yaml, output to $tmp/LOG.log
# (default NAME), tracked for the cleanup; wait (60 s) for its HTTP address,
# into addr[NAME].
group_start() {
    local n=$1 log=$tmp/${2:-$1}.log
    "$rfmd" -c "$tmp/$n.yaml" >"$log" 2>&1 &
    pid[$n]=$!
    kafka_track "${pid[$n]}"
    local end=$((SECONDS + 60)) a=""
    until a=$(sed -n 's/.*http: listening on \([0-9.:]*\).*/\1/p' "$log" | head -1) && [ -n "$a" ]; do
        kill -0 "${pid[$n]}" 2>/dev/null || { cat "$log" >&2; fail "$n exited at start"; }
        [ $SECONDS -lt $end ] || fail "$n: no 'http: listening on' within 60 s"
        sleep 0.1
    done
    addr[$n]=$a
    group_elapsed "$n up at $a (pid ${pid[$n]})"
}

# group_stop NAME...: SIGTERM them all, then wait for each; each must exit 0.
group_stop() {
    local n rc
    for n in "$@"; do kill -TERM "${pid[$n]}"; done
    for n in "$@"; do
        rc=0
        wait "${pid[$n]}" || rc=$?
        unset "addr[$n]"
        [ "$rc" -eq 0 ] || fail "$n exited $rc after SIGTERM, want 0"
    done
    group_elapsed "$* stopped (exit 0)"
}

# group_dump PATTERN: to stderr, each running instance's GET /partitions and
# the last 15 lines of every log in tmp matching the grep -E PATTERN — what
# a failure needs to be understood.
group_dump() {
    local n
    for n in "${!addr[@]}"; do
        echo "--- $n (${addr[$n]}) /partitions:" >&2
        curl -s --max-time 2 "http://${addr[$n]}/partitions" >&2 || echo "(no answer)" >&2
        echo >&2
    done
    for n in "$tmp"/*.log; do
        [ -f "$n" ] || continue
        echo "--- $n" >&2
        grep -E "$1" "$n" | tail -15 >&2 || true
    done
}
