#!/usr/bin/env bash
# Runs python3 with the pinned reference libraries (tests/ref/requirements.txt):
# the system interpreter when it already has exactly those versions, otherwise a
# venv in the cache directory, created on first use.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
req=$here/tests/ref/requirements.txt
want=$(tr '\n' ' ' <"$req")
check='import sys, importlib.metadata as m
want = dict(l.split("==") for l in sys.argv[1].split())
sys.exit(any(m.version(k) != v for k, v in want.items()))'
if python3 -c "$check" "$want" 2>/dev/null; then
    exec python3 "$@"
fi
venv=${XDG_CACHE_HOME:-$HOME/.cache}/rfmd/venv
if ! "$venv/bin/python3" -c "$check" "$want" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q -r "$req" >&2
fi
exec "$venv/bin/python3" "$@"
