#!/usr/bin/env bash
# Voice channel benchmark (issue 10): summary WAV against nginx, missed-call webhooks with
# the durable enqueue, first assembly, clip memory. See tests/bench/voice_bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/bench/voice_bench.py "$@"
