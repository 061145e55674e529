#!/usr/bin/env bash
# District API benchmark (issue 3): wrk against the summary and the search, and nginx
# serving the same summary bytes; prints figures only. See tests/bench/api_bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/bench/api_bench.py "$@"
