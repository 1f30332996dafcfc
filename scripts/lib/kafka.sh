# shellcheck shell=bash
# scripts/lib/kafka.sh — what the scripts that drive rfmd on a real Kafka
# broker share, so each says only what it measures or checks. Sourced (bash),
# not run, by the benchmarks (bench/*.sh), scripts/soak.sh and the real-broker
# tests (tests/test_*_kafka.sh; those of several instances also source
# kafka_group.sh):
#
#   here=$(cd "$(dirname "$0")/.." && pwd)
#   . "$here/scripts/lib/kafka.sh"
#   kafka_reexec 8 "$@"              # under tests/kafka/broker.sh run, if needed
#   kafka_build rfmd rfm-replay      # the benchmarks' Release build
#   kafka_tmp                        # temp dir + EXIT trap
#   kafka_rfmd_config "$tmp/rfmd.yaml" my-group 60s "$tmp/state"
#   kafka_rfmd_start "$build/rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd.log"
#   kafka_wait_log "$tmp/rfmd.log" "backlog consumed" 600
#   kafka_rfmd_stop
#
# The broker is tests/kafka/broker.sh's business, not this file's: `broker.sh
# run` fetches Kafka, starts it on free ports, waits until it serves metadata
# (auto-created topics, so nothing to create), exports KAFKA_BOOTSTRAP and
# RFM_KAFKA_DIR, and stops and deletes it afterwards, also on ^C, SIGTERM or
# the caller's SIGKILL. Every script runs under it, the tests by ctest's
# command line, the others by kafka_reexec; none starts a broker of its own.
#
# Expects:
#   - bash with `set -euo pipefail` in the caller. The functions do not rely
#     on it: each returns non-zero as soon as a step fails (bash ignores
#     set -e inside a function called from `if`, `||` or `&&`), reads unset
#     variables only with a default, and tolerates the failures it means to.
#     A plain call then stops the script, as the copied code did.
#   - KAFKA_BOOTSTRAP (from broker.sh run), for those that talk to the
#     broker: kafka_rfmd_config, kafka_consume and kafka_admin.
#   - RFM_BENCH_BUILD, optional: kafka_build's build tree.
# Sets (globals, named as the scripts named them before):
#   kafka_root   the checkout this file is in (set when sourced)
#   build        by kafka_build: the build tree, programs in it
#   tmp          by kafka_tmp: a fresh temp dir
#   rfmd_pid     by kafka_rfmd_start: the running rfmd; "" when none
#   kafka_jars   by kafka_admin: the broker's jar directory
#   rfmd_status  by kafka_rfmd_stop: rfmd's exit status
# Cleanup: kafka_tmp sets `trap kafka_cleanup EXIT`: on any exit the rfmd of
# rfmd_pid and every pid given to kafka_track get SIGKILL and tmp is deleted.
# A script that wants more on exit sets its own EXIT trap calling kafka_cleanup.
#
# The scripts source this file with a `# shellcheck source=SCRIPTDIR/...`
# directive: check them with `shellcheck -x` so it reads the globals above.

kafka_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rfmd_pid=""
kafka_pids=()

# kafka_reexec PARTITIONS [ARG...]: with no broker given (KAFKA_BOOTSTRAP
# unset), run this script again, with ARGs, under `tests/kafka/broker.sh run
# --partitions PARTITIONS`; it does not come back. With one, do nothing.
kafka_reexec() {
    local parts=$1
    shift
    [ -z "${KAFKA_BOOTSTRAP:-}" ] || return 0
    exec "$kafka_root/tests/kafka/broker.sh" run --partitions "$parts" -- "$0" "$@"
}

# kafka_build TARGET...: configure and build TARGETs in Release into
# $RFM_BENCH_BUILD (default build-bench in the checkout) and set build to
# that tree; the build's output goes to $build.log, shown only on failure.
kafka_build() {
    build=${RFM_BENCH_BUILD:-$kafka_root/build-bench}
    cmake -S "$kafka_root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null || return
    cmake --build "$build" --target "$@" >"$build.log" || { cat "$build.log" >&2; return 1; }
}

# kafka_tmp: make the temp dir tmp and install kafka_cleanup as the EXIT trap.
kafka_tmp() {
    tmp=$(mktemp -d) || return
    trap kafka_cleanup EXIT
}

# kafka_track PID: have kafka_cleanup SIGKILL PID too (a producer, a reader).
kafka_track() {
    kafka_pids+=("$1")
}

# kafka_cleanup: the EXIT trap. SIGKILL the running rfmd and the tracked pids,
# delete tmp. Never fails, so the script keeps its own exit status.
kafka_cleanup() {
    local p
    for p in ${rfmd_pid:+"$rfmd_pid"} "${kafka_pids[@]+"${kafka_pids[@]}"}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    # RFM_KEEP_TMP=1 keeps the logs and state of a run for a look afterwards.
    if [ -n "${RFM_KEEP_TMP:-}" ]; then
        echo "kept: ${tmp:-}" >&2
    else
        rm -rf "${tmp:-}" || true
    fi
}

# kafka_rfmd_config FILE GROUP RESCORE_INTERVAL STATE_DIR [SNAPSHOT_INTERVAL [KEEP]]:
# write an rfmd config to FILE: brokers KAFKA_BOOTSTRAP, consumer group GROUP,
# snapshots in STATE_DIR (every SNAPSHOT_INTERVAL, the last KEEP kept, when
# given; rfmd's defaults otherwise), no HTTP listener.
kafka_rfmd_config() {
    {
        printf 'kafka:\n  brokers: "%s"\n  group_id: %s\n' "${KAFKA_BOOTSTRAP:?}" "$2"
        printf 'rescore:\n  interval: %s\n' "$3"
        printf 'snapshot:\n  dir: "%s"\n' "$4"
        [ -z "${5:-}" ] || printf '  interval: %s\n' "$5"
        [ -z "${6:-}" ] || printf '  keep: %s\n' "$6"
        printf 'http:\n  listen: ""\n'
    } >"$1"
}

# kafka_rfmd_start RFMD CONFIG LOG: start the rfmd binary RFMD on CONFIG in the
# background, stdout and stderr to LOG; its pid in rfmd_pid.
kafka_rfmd_start() {
    "$1" -c "$2" >"$3" 2>&1 &
    rfmd_pid=$!
}

# kafka_rfmd_stop: SIGTERM the rfmd of rfmd_pid and wait for it; its exit
# status in rfmd_status (not returned: callers judge it), rfmd_pid "". Fails
# only when it cannot signal rfmd (it is gone).
kafka_rfmd_stop() {
    kill -TERM "$rfmd_pid" || return
    local rc=0
    wait "$rfmd_pid" || rc=$?
    # shellcheck disable=SC2034 # read by the caller
    rfmd_status=$rc
    rfmd_pid=""
}

# kafka_wait_log FILE PATTERN SECONDS [COUNT]: wait until COUNT (default 1)
# lines of FILE match the grep PATTERN. Fails, with FILE's tail on stderr,
# after SECONDS or as soon as the rfmd of rfmd_pid (if any) has exited.
kafka_wait_log() {
    local end=$((SECONDS + $3))
    until [ "$(grep -c "$2" "$1" || true)" -ge "${4:-1}" ]; do
        [ $SECONDS -lt $end ] || { echo "timeout waiting for '$2' in $1" >&2; tail "$1" >&2; return 1; }
        if [ -n "$rfmd_pid" ] && ! kill -0 "$rfmd_pid" 2>/dev/null; then
            echo "rfmd exited" >&2
            tail "$1" >&2
            return 1
        fi
        sleep 0.1
    done
}

# kafka_wait_drained LOG SECONDS: wait for rfmd's first rescore after its
# backlog ("rescore (caught up)"), which publishes an event per customer, and
# then for those events to be delivered (a progress line after it with
# nothing pending); each wait fails after SECONDS.
kafka_wait_drained() {
    kafka_wait_log "$1" "rescore (caught up)" "$2" || return
    local end=$((SECONDS + $2))
    until sed -n '/rescore (caught up)/,$p' "$1" | grep -q 'pending 0;'; do
        [ $SECONDS -lt $end ] || { echo "rfmd's events did not drain" >&2; return 1; }
        sleep 0.5
    done
}

# kafka_orders FIRST COUNT CUSTOMERS: print COUNT JSONL orders, ids oFIRST
# on, of CUSTOMERS customers (customer = id * 7919 mod CUSTOMERS), dates
# spread over 2021, amounts 5.00 to 304.99.
kafka_orders() {
    awk -v f="$1" -v n="$2" -v nc="$3" 'BEGIN {
        for (i = f; i < f + n; i++) {
            c = (i * 7919) % nc
            printf "{\"order_id\":\"o%d\",\"customer_id\":\"c%09d\",\"ts\":\"2021-%02d-%02dT10:00:00Z\",\"amount\":%d.%02d}\n",
                i, c, 1 + i % 12, 1 + i % 28, 5 + i % 300, i % 100
        }
    }'
}

# kafka_consume TOPIC [KCAT-OPTION...]: print all of TOPIC, from the
# beginning to its current end, with kcat (quiet); OPTIONs such as -f FORMAT.
kafka_consume() {
    local topic=$1
    shift
    kcat -C -b "${KAFKA_BOOTSTRAP:?}" -t "$topic" -o beginning -e -q "$@"
}

# kafka_admin ARG...: tests/kafka/TopicAdmin.java (Admin API calls the
# tools here lack: create with configs, describe configs, delete records) on
# KAFKA_BOOTSTRAP, run by java with the broker's own jars (broker.sh fetch:
# its cache directory, looked up once). Its stderr is the caller's.
kafka_admin() {
    [ -n "${kafka_jars:-}" ] || kafka_jars=$("$kafka_root/tests/kafka/broker.sh" fetch | tail -1)/lib || return
    "${JAVA_HOME:+$JAVA_HOME/bin/}java" -cp "$kafka_jars/*" "$kafka_root/tests/kafka/TopicAdmin.java" \
        "${KAFKA_BOOTSTRAP:?}" "$@"
}

# kafka_median: the median of the numbers on stdin, one a line; prints
# nothing when there are none.
kafka_median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# kafka_bench_header WHAT: the two header lines of a benchmark's output
# ("# rfmd WHAT benchmark — date, cores, ..." and the cpu model).
kafka_bench_header() {
    echo "# rfmd $1 benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, Kafka broker on 127.0.0.1"
    echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}
