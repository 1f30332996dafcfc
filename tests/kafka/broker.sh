#!/usr/bin/env bash
# broker.sh — a real, throw-away Apache Kafka broker for tests.
#
# Only Maven Central is reachable where the tests run, so the broker is not an
# unpacked release tarball: `fetch` resolves tests/kafka/pom.xml with mvn and
# copies kafka_2.13 and its runtime classpath into a cache directory; `start`
# runs `java -cp 'CACHE/lib/*' kafka.Kafka` in KRaft combined mode
# (broker+controller, node 1) on free 127.0.0.1 ports, with its data in a fresh
# temp directory, so any number of brokers can run side by side.
#
# Usage:
#   broker.sh fetch                      download once; prints the cache dir
#   broker.sh start [OPTS]               start a broker; prints on stdout
#                                          export KAFKA_BOOTSTRAP=127.0.0.1:PORT
#                                          export RFM_KAFKA_DIR=/tmp/rfm-kafka.XXXX
#                                        and returns once the broker serves metadata.
#                                        Typical: eval "$(broker.sh start)"
#   broker.sh stop [DIR]                 stop the broker of DIR (default $RFM_KAFKA_DIR,
#                                        else the last one started), delete DIR
#   broker.sh run [OPTS] -- CMD [ARG...] start, run CMD with KAFKA_BOOTSTRAP and
#                                        RFM_KAFKA_DIR set, always stop and clean up
#                                        (also on failure, ^C, SIGTERM); exits with
#                                        CMD's status
#   broker.sh status [DIR]               exit 0 when the broker is alive
# OPTS:
#   --partitions N     num.partitions of auto-created topics (default 3)
#   --prop KEY=VALUE   extra server property (repeatable), e.g. message.max.bytes=2000000
#   --owner PID        (start) stop the broker when process PID exits
# Environment:
#   RFM_KAFKA_VERSION        Kafka version (default 4.4.0; Kafka 4.x needs Java 17+)
#   RFM_KAFKA_HOME           cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/rfmd/kafka-VERSION)
#   RFM_KAFKA_PARTITIONS     default for --partitions
#   RFM_KAFKA_HEAP           JVM max heap (default 512m)
#   RFM_KAFKA_START_TIMEOUT  seconds to wait for the broker (default 90)
#   RFM_KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (default 20)
#   RFM_KAFKA_KEEP=1         keep the temp dir (server.log, data) after stop
#   JAVA_HOME, MVN           java and mvn to use (default: from PATH)
# Exit codes: 0 ok, 64 usage, 69 cannot fetch/start, else CMD's status (run).
# The broker's log is DIR/server.log; a failed start prints its tail.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
version=${RFM_KAFKA_VERSION:-4.4.0}
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/rfmd
home=${RFM_KAFKA_HOME:-$cache_root/kafka-$version}
heap=${RFM_KAFKA_HEAP:-512m}
start_timeout=${RFM_KAFKA_START_TIMEOUT:-90}
stop_timeout=${RFM_KAFKA_STOP_TIMEOUT:-20}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
mvn=${MVN:-mvn}
last_file=$cache_root/last-broker

say() { echo "broker.sh: $*" >&2; }
die() { say "$*"; exit 69; }
help() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$self"
    exit 0
}
usage() {
    say "usage: broker.sh fetch | start [OPTS] | stop [DIR] | status [DIR] | run [OPTS] -- CMD... (--help)"
    exit 64
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- fetch -----------------------------------------------------------------

fetch() {
    [ -f "$home/lib/.complete" ] && return 0
    command -v "$mvn" >/dev/null || die "mvn not found (needed once to fetch Kafka $version)"
    mkdir -p "$home"
    # Two test runs may fetch at once: one downloads, the other waits.
    exec 9>"$home/.lock"
    flock 9
    if [ ! -f "$home/lib/.complete" ]; then
        local t0 tmp
        t0=$(now)
        tmp=$(mktemp -d "$home/lib.tmp.XXXXXX")
        say "fetching Kafka $version from Maven Central into $home ..."
        # Maven 3.8 prints colour resets even in batch mode: strip them.
        if ! "$mvn" -q -B -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$version" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 |
            sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2; then
            rm -rf "$tmp"
            die "mvn could not fetch Kafka $version"
        fi
        [ -f "$tmp/kafka_2.13-$version.jar" ] || { rm -rf "$tmp"; die "kafka_2.13-$version.jar missing after mvn"; }
        touch "$tmp/.complete"
        rm -rf "$home/lib"
        mv "$tmp" "$home/lib"
        say "fetched $(ls "$home/lib" | wc -l) jars in $(elapsed "$t0")s"
    fi
    flock -u 9
    exec 9>&-
}

# ---- start / stop ----------------------------------------------------------

free_ports() {
    # Bound together so the two differ; the kernel may hand them out again
    # before Kafka binds, hence the retry in start().
    python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}

# A random KRaft cluster id. Like Kafka's own Uuid.randomUuid, never one that
# starts with '-': kafka-storage's argument parser would take it for an option.
cluster_id() {
    python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break'
}

check_java() {
    command -v "$java" >/dev/null || die "java not found (set JAVA_HOME)"
    local major
    major=$("$java" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2 }')
    case $version in 4.*) [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Kafka $version needs Java 17+, found ${major:-?}" ;; esac
}

write_config() { # dir port cport partitions props...
    local dir=$1 port=$2 cport=$3 parts=$4
    shift 4
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=true
num.partitions=$parts
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
    local p
    for p in "$@"; do echo "$p" >>"$dir/server.properties"; done
    cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.f.type = File
appender.f.name = F
appender.f.fileName = $dir/server.log
appender.f.layout.type = PatternLayout
appender.f.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.f.ref = F
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

jvm() { # dir main-class args...: exec'd, so the pid is the JVM's
    local dir=$1
    shift
    exec "$java" -Xmx"$heap" -Xms128m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir" \
        -cp "$home/lib/*" "$@"
}

state_get() { # dir key
    sed -n "s/^$2=//p" "$1/state" 2>/dev/null
}

# Alive and really our broker: a recycled pid must not be killed.
alive() { # dir
    local pid
    pid=$(state_get "$1" pid)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$1/server.properties"
}

ready() { # bootstrap
    kcat -L -b "$1" -m 2 -X topic.metadata.refresh.interval.ms=-1 2>/dev/null | grep -q '^ 1 brokers:'
}

# Start a broker in the fresh temp dir $dir (made by the caller, so a signal
# during start-up still finds what to clean). detach=1 puts the JVM in its own
# session so it outlives the caller (start); run keeps it in its job.
start_broker() { # detach partitions props...
    local detach=$1 parts=$2
    shift 2
    local attempt port cport pid t0
    t0=$(now)
    for attempt in 1 2 3; do
        read -r port cport < <(free_ports)
        rm -rf "$dir/data" "$dir/server.log"
        write_config "$dir" "$port" "$cport" "$parts" "$@"
        if ! (jvm "$dir" kafka.tools.StorageTool format --cluster-id="$(cluster_id)" \
            -c "$dir/server.properties") >"$dir/format.log" 2>&1; then
            cat "$dir/format.log" >&2
            die "formatting the broker's storage failed"
        fi
        if [ "$detach" = 1 ]; then
            setsid "$self" __jvm "$dir" </dev/null >"$dir/stdout.log" 2>&1 &
        else
            "$self" __jvm "$dir" </dev/null >"$dir/stdout.log" 2>&1 &
        fi
        pid=$!
        printf 'pid=%s\ndir=%s\nport=%s\ncontroller_port=%s\nversion=%s\n' \
            "$pid" "$dir" "$port" "$cport" "$version" >"$dir/state"
        local deadline
        deadline=$(awk -v t="$(now)" -v d="$start_timeout" 'BEGIN { printf "%d", t + d }')
        while kill -0 "$pid" 2>/dev/null; do
            if ready "127.0.0.1:$port"; then
                say "Kafka $version up at 127.0.0.1:$port in $(elapsed "$t0")s (dir $dir)"
                return 0
            fi
            if [ "$(date +%s)" -ge "$deadline" ]; then
                say "broker not ready after ${start_timeout}s; last log lines:"
                tail -n 30 "$dir/server.log" "$dir/stdout.log" >&2 2>/dev/null || true
                exit 69
            fi
            sleep 0.25
        done
        # Died: a port taken between our probe and its bind is worth a retry.
        if grep -qs 'Address already in use' "$dir/server.log" "$dir/stdout.log"; then
            say "port clash, retrying ($attempt)"
            continue
        fi
        break
    done
    say "broker exited during start-up; last log lines:"
    tail -n 30 "$dir/server.log" "$dir/stdout.log" >&2 2>/dev/null || true
    exit 69
}

new_dir() {
    fetch
    check_java
    command -v kcat >/dev/null || die "kcat not found (used to check the broker is up)"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/rfm-kafka.XXXXXX")
}

stop_broker() { # dir
    local dir=$1 pid i
    if [ ! -f "$dir/state" ]; then
        # A start that failed before launching the JVM leaves just the dir.
        case $(basename "$dir") in rfm-kafka.*) [ -d "$dir" ] && [ "${RFM_KAFKA_KEEP:-0}" != 1 ] && rm -rf "$dir"; return 0 ;; esac
        say "$dir: no broker state there"
        return 1
    fi
    pid=$(state_get "$dir" pid)
    if alive "$dir"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < stop_timeout * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "broker $pid ignored SIGTERM for ${stop_timeout}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    local wd
    wd=$(state_get "$dir" watchdog)
    [ -n "$wd" ] && kill "$wd" 2>/dev/null || true
    if [ "${RFM_KAFKA_KEEP:-0}" = 1 ]; then
        say "kept $dir"
    else
        rm -rf "$dir"
    fi
    [ -f "$last_file" ] && [ "$(cat "$last_file" 2>/dev/null)" = "$dir" ] && rm -f "$last_file"
    return 0
}

# Stops the broker when OWNER exits, even by SIGKILL (ctest timeouts).
spawn_watchdog() { # dir owner
    setsid "$self" __watchdog "$1" "$2" </dev/null >/dev/null 2>&1 &
    echo "watchdog=$!" >>"$1/state"
}

# ---- commands --------------------------------------------------------------

parse_opts() { # sets parts, props, owner, rest
    parts=${RFM_KAFKA_PARTITIONS:-3}
    props=()
    owner=
    rest=()
    while [ $# -gt 0 ]; do
        case $1 in
        --partitions) [ $# -ge 2 ] || usage; parts=$2; shift 2 ;;
        --partitions=*) parts=${1#*=}; shift ;;
        --prop) [ $# -ge 2 ] || usage; props+=("$2"); shift 2 ;;
        --prop=*) props+=("${1#*=}"); shift ;;
        --owner) [ $# -ge 2 ] || usage; owner=$2; shift 2 ;;
        --) shift; rest=("$@"); break ;;
        *) say "unknown option: $1"; usage ;;
        esac
    done
    case $parts in '' | *[!0-9]* | 0) say "--partitions: need a positive integer"; exit 64 ;; esac
    for p in "${props[@]+"${props[@]}"}"; do
        case $p in *=*) ;; *) say "--prop: need KEY=VALUE, got '$p'"; exit 64 ;; esac
    done
}

pick_dir() { # [dir]
    if [ -n "${1:-}" ]; then echo "$1"; elif [ -n "${RFM_KAFKA_DIR:-}" ]; then echo "$RFM_KAFKA_DIR"
    elif [ -f "$last_file" ]; then cat "$last_file"
    else say "which broker? pass the dir printed by start (or set RFM_KAFKA_DIR)"; exit 64; fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
fetch)
    [ $# -eq 0 ] || usage
    fetch
    echo "$home"
    ;;
start)
    parse_opts "$@"
    [ ${#rest[@]} -eq 0 ] || usage
    dir=
    trap 'rc=$?; [ $rc -ne 0 ] && [ -n "$dir" ] && stop_broker "$dir"; exit $rc' EXIT
    new_dir
    start_broker 1 "$parts" "${props[@]+"${props[@]}"}"
    trap - EXIT
    [ -n "$owner" ] && spawn_watchdog "$dir" "$owner"
    mkdir -p "$cache_root"
    echo "$dir" >"$last_file"
    echo "export KAFKA_BOOTSTRAP=127.0.0.1:$(state_get "$dir" port)"
    echo "export RFM_KAFKA_DIR=$dir"
    ;;
stop)
    [ $# -le 1 ] || usage
    dir=$(pick_dir "${1:-}")
    stop_broker "$dir"
    ;;
status)
    [ $# -le 1 ] || usage
    dir=$(pick_dir "${1:-}")
    if alive "$dir"; then echo "up 127.0.0.1:$(state_get "$dir" port) pid $(state_get "$dir" pid)"; else echo down; exit 1; fi
    ;;
run)
    parse_opts "$@"
    [ ${#rest[@]} -gt 0 ] || { say "run: no command after --"; usage; }
    dir=
    child=
    cleanup() {
        trap - EXIT INT TERM
        [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
        [ -n "$dir" ] && stop_broker "$dir" || true
    }
    trap 'rc=$?; cleanup; exit $rc' EXIT
    trap 'cleanup; exit 130' INT
    trap 'cleanup; exit 143' TERM
    new_dir
    start_broker 0 "$parts" "${props[@]+"${props[@]}"}"
    spawn_watchdog "$dir" $$
    export KAFKA_BOOTSTRAP=127.0.0.1:$(state_get "$dir" port)
    export RFM_KAFKA_DIR=$dir
    # In the background so a signal to us is handled at once, not after CMD.
    "${rest[@]}" &
    child=$!
    echo "child=$child" >>"$dir/state"
    set +e
    wait "$child"
    rc=$?
    set -e
    child=
    exit "$rc"
    ;;
__jvm) # internal: the broker process itself (exec, so its pid is the JVM's)
    jvm "$1" kafka.Kafka "$1/server.properties"
    ;;
__watchdog) # internal: dir owner-pid
    dir=$1 owner=$2
    trap '' INT HUP
    while kill -0 "$owner" 2>/dev/null && [ -f "$dir/state" ]; do sleep 1; done
    if [ -f "$dir/state" ]; then
        # The owner died without cleaning up (SIGKILL): end what it ran, too.
        child=$(state_get "$dir" child)
        [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
        sed -i '/^watchdog=/d' "$dir/state"
        stop_broker "$dir"
    fi
    exit 0
    ;;
-h | --help | help) help ;;
*) usage ;;
esac
