#!/usr/bin/env bash
# The layers' one-way dependencies, checked on the includes:
#
#   util  <-  engine  <-  codec, config  <-  rfmd (and rfmd/http), tools
#
# A file may include the public API (include/rfm/) only from its own layer or
# one below, internal headers only from its own folder or from a layer below,
# and nothing under util, engine, codec or config (or include/rfm/) may
# include a Kafka, HTTP, systemd or daemon header. rfmd/http must not
# include the daemon (it reads the status struct the daemon fills in).
# Prints every offending line as file:line and exits 1 if there is one.
#
#   scripts/check-layers.sh [TREE]     default: this checkout (its git files)
set -euo pipefail
if [ $# -gt 0 ]; then
    cd "$1"
    list() { find src include tools -name '*.[ch]' | sort; }
else
    cd "$(dirname "$0")/.."
    list() { git ls-files 'src/*.[ch]' 'include/*.h' 'tools/*.[ch]'; }
fi

# Public headers by layer.
util_api="money timefmt"
engine_api="store order score score_round segment segment_totals snapshot"
codec_api="event reader reader_csv changelog"
config_api="config"

allowed_api() { # layer -> public headers it may include
    case $1 in
    util) echo "$util_api" ;;
    engine) echo "$util_api $engine_api" ;;
    codec) echo "$util_api $engine_api $codec_api" ;;
    config) echo "$util_api $engine_api $codec_api $config_api" ;;
    *) echo "$util_api $engine_api $codec_api $config_api" ;;
    esac
}
allowed_dirs() { # layer -> internal folders (under src/) it may include by path
    case $1 in
    util) echo "util" ;;
    engine) echo "util" ;;
    codec | config) echo "util" ;;
    http) echo "util rfmd/log.h rfmd/pipeline_stats.h rfmd/producer_stats.h rfmd/saver_stats.h" ;;
    rfmd) echo "util rfmd rfmd/http" ;;
    tools) echo "util" ;;
    esac
}
layer_of() {
    case $1 in
    src/util/*) echo util ;;
    src/engine/*) echo engine ;;
    src/codec/*) echo codec ;;
    src/config/*) echo config ;;
    src/rfmd/http/*) echo http ;;
    src/rfmd/*) echo rfmd ;;
    tools/*) echo tools ;;
    include/rfm/money.h | include/rfm/timefmt.h) echo util ;;
    include/rfm/event.h | include/rfm/reader.h | include/rfm/reader_csv.h | \
        include/rfm/changelog.h) echo codec ;;
    include/rfm/config.h) echo config ;;
    include/rfm/*) echo engine ;;
    esac
}
forbidden_sys='librdkafka/|microhttpd\.h|systemd/|curl/'

bad=0
report() {
    echo "$1: $2" >&2
    bad=1
}
while IFS= read -r f; do
    layer=$(layer_of "$f")
    [ -n "$layer" ] || continue
    api=" $(allowed_api "$layer") "
    dirs=$(allowed_dirs "$layer")
    while IFS=: read -r line text; do
        if [[ $text =~ \#include\ \<(.*)\> ]]; then
            inc=${BASH_REMATCH[1]}
            case $layer in util | engine | codec | config)
                if [[ $inc =~ $forbidden_sys ]]; then
                    report "$f:$line" "the $layer layer must not include <$inc>"
                fi
                ;;
            esac
            continue
        fi
        [[ $text =~ \#include\ \"(.*)\" ]] || continue
        inc=${BASH_REMATCH[1]}
        if [[ $inc == rfm/* ]]; then
            name=${inc#rfm/}
            name=${name%.h}
            [[ $api == *" $name "* ]] || report "$f:$line" "the $layer layer must not include \"$inc\""
        elif [[ $inc == */* ]]; then
            ok=0
            for d in $dirs; do
                [[ $inc == "$d" || $inc == "$d"/* ]] && ok=1
            done
            # rfmd/http's own files are reached as "http/..." from src/rfmd.
            [[ $layer == rfmd && $inc == http/* ]] && ok=1
            [ $ok -eq 1 ] || report "$f:$line" "the $layer layer must not include \"$inc\""
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done < <(list)

if [ $bad -ne 0 ]; then
    echo "check-layers: includes that point the wrong way (see the top of scripts/check-layers.sh)" >&2
    exit 1
fi
echo "ok: layers util <- engine <- codec, config <- rfmd, tools"
