#!/usr/bin/env bash
# Fuzz the SSE parser and client model: `scripts/fuzz SECONDS sse` (kept for old habits).
#   scripts/fuzz-sse.sh [SECONDS]   (default 60)
exec "$(dirname "$0")/fuzz" "${1:-60}" sse
