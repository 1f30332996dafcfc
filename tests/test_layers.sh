#!/usr/bin/env bash
# scripts/check-layers.sh passes on this tree, and fails, naming file:line,
# on a copy where the engine includes librdkafka, the codec includes the
# daemon, util includes the engine's internals and the HTTP side includes
# the daemon's header.
#
# usage: test_layers.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check=$src/scripts/check-layers.sh

"$check" "$src" >/dev/null || { echo "FAIL: the tree itself breaks the layering" >&2; exit 1; }

cp -r "$src/src" "$src/include" "$src/tools" "$tmp/"
sed -i '0,/#include/s//#include <librdkafka\/rdkafka.h>\n#include/' "$tmp/src/engine/store.c"
sed -i '0,/#include/s//#include "rfmd\/daemon.h"\n#include/' "$tmp/src/codec/event.c"
sed -i '0,/#include/s//#include "engine\/score_internal.h"\n#include/' "$tmp/src/util/money.c"
sed -i '0,/#include/s//#include "rfmd\/daemon.h"\n#include/' "$tmp/src/rfmd/http/http_api.c"
if "$check" "$tmp" >"$tmp/out" 2>&1; then
    echo "FAIL: check-layers passed a tree with four wrong includes" >&2
    exit 1
fi
fails=0
for want in 'src/engine/store.c:[0-9]*: the engine layer must not include <librdkafka/rdkafka.h>' \
    'src/codec/event.c:[0-9]*: the codec layer must not include "rfmd/daemon.h"' \
    'src/util/money.c:[0-9]*: the util layer must not include "engine/score_internal.h"' \
    'src/rfmd/http/http_api.c:[0-9]*: the http layer must not include "rfmd/daemon.h"'; do
    grep -q "^$want" "$tmp/out" || { echo "FAIL: not reported: $want" >&2; fails=1; }
done
[ "$(grep -c 'must not include' "$tmp/out")" -eq 4 ] || {
    echo "FAIL: expected exactly 4 findings:" >&2
    cat "$tmp/out" >&2
    fails=1
}
[ $fails -eq 0 ] && echo "ok: layering holds; 4 of 4 planted wrong includes reported"
exit $fails
