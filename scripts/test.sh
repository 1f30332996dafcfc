#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, check the
# formatting, build with -Werror, run every test, then build again with
# AddressSanitizer + UndefinedBehaviorSanitizer and run every test again, and
# give each libFuzzer target a short run.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    one plain build and its tests, no sanitizers, no fuzzing
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "formatting (clang-format, .clang-format)"
mapfile -t cfiles < <(git ls-files '*.c' '*.h' 2>/dev/null || find src include tools tests -name '*.[ch]')
clang-format --dry-run --Werror "${cfiles[@]}"
echo "ok: ${#cfiles[@]} files formatted"

step "layers (scripts/check-layers.sh)"
scripts/check-layers.sh

run_suite() { # build-dir, extra cmake args...
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
}

step "build and test"
run_suite build
if [ $quick -eq 0 ]; then
    step "build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite build-asan -DRFM_SANITIZE=ON
fi
if [ $quick -eq 0 ]; then
    # A brief run catches what a change broke in the parsers; longer runs
    # (scripts/fuzz.sh 600) are for whoever changes them.
    step "fuzzing (libFuzzer, 20 s per target)"
    scripts/fuzz.sh 20
fi
