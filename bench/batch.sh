#!/usr/bin/env bash
# Track API v2 batch throughput next to one call each, suppression checks on: the same
# kind of identify (a random id of two million, an email in the body) sent as
# `POST /api/v2/batch` with 1,000 operations, then as single `PUT /api/v1/customers/…`.
#
#   bench/batch.sh sqlite:///tmp/bench/erasure.db /tmp/bench/data [SECONDS] [CONNECTIONS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 SECONDS_EACH=${3:-10} CONNECTIONS=${4:-4} PORT=${PORT:-18183}
build
api_key "$URL" "$DATA" bench
start_server "$URL" "$DATA" "$PORT" API_RATE_LIMIT=1000000
trap stop_server EXIT
# Some suppressed identifiers, so that every write really checks the list.
for n in 1 2 3 4 5; do
  curl -fs -o /dev/null -X POST -H "Authorization: Basic $AUTH" "http://127.0.0.1:$PORT/api/v1/customers/bench-suppressed-$n/suppress"
done
run() {
  local label=$1 script=$2 per_request=$3
  local out p50 p99 rps errors
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency --timeout 30s -s "$(dirname "$0")/$script" "http://127.0.0.1:$PORT")
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
  printf '| %s | %s | %s | %s | %.0f | %s |\n' "$label" "$p50" "$p99" "$rps" "$(echo "$rps * $per_request" | bc -l)" "${errors:-0}"
}
echo "| call | p50 | p99 | requests/s | customers/s | non-2xx |"
echo "| --- | --- | --- | --- | --- | --- |"
run "batch of 1,000 identifies" batch.lua 1000
MODE=identify PREFIX=single run "one identify per call" api.lua 1
