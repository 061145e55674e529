#!/usr/bin/env bash
# Inbound SMS webhook benchmark (issue 4): wrk on /sms/kannel GET with a new message id and
# a varying sender on every request, Redis dedupe/limits and Postgres recording on; prints
# throughput and p99 only. See tests/bench/sms_bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/bench/sms_bench.py "$@"
