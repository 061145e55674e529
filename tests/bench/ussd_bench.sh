#!/usr/bin/env bash
# USSD benchmark (issue 11): wrk playing phones through whole sessions at the session-style
# gateway, state in Redis, every step journaled; prints steps/s and p99 only. See
# tests/bench/ussd_bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/bench/ussd_bench.py "$@"
