#!/usr/bin/env bash
# tests/fuzz/graphql_parse.sh [RUNS] [LIBFUZZER-ARGS...] - builds the GraphQL parser's
# libFuzzer driver (tests/fuzz/graphql_parse.c) with clang-14, ASan, UBSan and libFuzzer
# into build/fuzz/, and runs it RUNS executions (default 1000000; script/test runs a short
# one) from the seeds in tests/fuzz/graphql_corpus (new inputs go to build/fuzz/, the
# checked-in seeds are never changed; FUZZ_OUT=DIR builds and runs in DIR instead).
# Prints libFuzzer's "Done N runs" line; a crash, leak or sanitizer report fails it, and
# the reproducer is left in build/fuzz/.
# Needs clang-14 and libclang-rt-14-dev (script/bootstrap installs them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-1000000}
[ $# -gt 0 ] && shift
OUT=${FUZZ_OUT:-$ROOT/build/fuzz}
CC=${FUZZ_CC:-clang-14}
mkdir -p "$OUT/graphql_corpus"
command -v "$CC" >/dev/null || { echo "graphql_parse.sh: $CC is not installed" >&2; exit 1; }
SRC="tests/fuzz/graphql_parse.c lib/graphql/lexer.c lib/graphql/parser.c lib/graphql/schema.c
lib/graphql/introspection.c lib/graphql/coerce.c lib/graphql/validate.c lib/graphql/execute.c
lib/base/arena.c lib/base/buf.c lib/base/util.c lib/http/json.c lib/http/http.c lib/base/log.c"
BIN=$OUT/graphql_parse
stale=0
[ -x "$BIN" ] || stale=1
for f in $SRC lib/graphql/*.h; do [ "$ROOT/$f" -nt "$BIN" ] && stale=1; done
if [ $stale = 1 ]; then
	# shellcheck disable=SC2086  # word list
	(cd "$ROOT" && "$CC" -g -O1 -std=gnu11 -D_GNU_SOURCE -I lib -I "$OUT" \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(pkg-config --cflags json-c openssl) $SRC -o "$BIN" \
		$(pkg-config --libs json-c openssl) -lm)
fi
cp -n "$ROOT"/tests/fuzz/graphql_corpus/* "$OUT/graphql_corpus/" 2>/dev/null || true
cd "$OUT"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	"$BIN" -runs="$RUNS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	"$@" graphql_corpus 2>&1 | tee "$OUT/graphql_parse.log" | grep -E '^Done|ERROR|SUMMARY|stat::number_of_executed_units|crash-|leak-|timeout-' || true
rc=${PIPESTATUS[0]}
exit "$rc"
