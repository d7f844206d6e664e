#!/usr/bin/env bash
# Track API throughput with suppression checks on: identify and track calls from 16
# connections against a seeded database, with some identifiers suppressed.
#
#   bench/api.sh sqlite:///tmp/bench/erasure.db /tmp/bench/data [SECONDS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 SECONDS_EACH=${3:-10} PORT=${PORT:-18182}
build
api_key "$URL" "$DATA" bench
start_server "$URL" "$DATA" "$PORT" API_RATE_LIMIT=1000000
trap stop_server EXIT
# Some suppressed identifiers, so that every call really checks the list.
for n in 1 2 3 4 5; do
  curl -fs -o /dev/null -X POST -H "Authorization: Basic $AUTH" "http://127.0.0.1:$PORT/api/v1/customers/bench-suppressed-$n/suppress"
done
echo "| call | p50 | p99 | requests/s | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
for mode in identify track; do
  out=$(MODE=$mode wrk -t2 -c16 -d"${SECONDS_EACH}s" --latency -s "$(dirname "$0")/api.lua" "http://127.0.0.1:$PORT")
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
  printf '| %s | %s | %s | %s | %s |\n' "$mode" "$p50" "$p99" "$rps" "${errors:-0}"
done
