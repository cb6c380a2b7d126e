#!/usr/bin/env bash
# Fuzz the SSE parser and client model with libFuzzer + AddressSanitizer.
#   scripts/fuzz-sse.sh [SECONDS]   (default 60)
# Builds fuzz/SSEFuzz/main.swift with Sources/SSE/*.swift into .build/fuzz/sse-fuzz, keeps its corpus in
# fuzz/corpus/sse (gitignored), seeds it from a few hand-written streams, and prints executions and findings
# (crash-* / leak-* / timeout-* files, written to fuzz/findings/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
OUT=.build/fuzz
CORPUS=fuzz/corpus/sse
FINDINGS=fuzz/findings
mkdir -p "$OUT" "$CORPUS" "$FINDINGS"

# (ld.gold prints "Cannot export local symbol '__asan_…'" for the sanitizer runtime: noise, kept in build.log.)
if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name SSEFuzz \
    Sources/SSE/*.swift Tests/SSETests/FrameChecks.swift fuzz/SSEFuzz/main.swift -o "$OUT/sse-fuzz" >"$OUT/build.log" 2>&1; then
    grep -v 'Cannot export local symbol' "$OUT/build.log"
    exit 1
fi

seed() { printf '%b' "$2" > "$CORPUS/seed-$1"; }
seed simple '\x07\x01data: a\nid: 1\nevent: e\nretry: 5\n\n'
seed crlf '\x02\x05data: a\r\n\r\n: c\r\rdata\r\n\r\n'
seed bom '\x03\x09\xef\xbb\xbfdata: x\n\n\xef\xbb\xbfid: \x00\n\n'

LOG="$OUT/fuzz.log"
set +e
"$OUT/sse-fuzz" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
    -artifact_prefix="$FINDINGS/" -print_final_stats=1 >"$LOG" 2>&1
STATUS=$?
set -e
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|stat::new_units_added)' "$LOG" || true
N_FINDINGS=$(find "$FINDINGS" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
echo "exit status: $STATUS"
echo "findings: $N_FINDINGS"
if [ "$STATUS" -ne 0 ]; then
    grep -E 'ERROR|Fatal error|SUMMARY' "$LOG" | head -5
    ls "$FINDINGS"
fi
exit "$STATUS"
