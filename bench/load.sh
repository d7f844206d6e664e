#!/usr/bin/env bash
# Mixed load while a bulk deletion runs: one wrk per kind, all at the same time, for
# SECONDS (60 by default) against a seeded database (bench/seed.sh):
#
#   list          3 connections   the first page of the customers list
#   filtered      3 connections   the list under five filters in turn
#   profile       4 connections   profiles of random ids up to MAX_ID (404 once deleted)
#   identify      3 connections   Track API PUT, new and repeated ids (bench/api.lua)
#   track         3 connections   Track API POST …/events (bench/api.lua)
#
#   search        3 connections   searches, alone and with filters (only with SEARCH=1)
#
# At the start a job deletes every inactive customer (last seen over 30 days ago, about
# 92% of the seeded ones), or those DELETE_FILTER names (e.g. `seen_from=2026-01-01&
# seen_to=2026-02-09`, about 100,000 of a million); DELETE=0 leaves it out, for a baseline. Prints one row per
# kind, the job's counts and how long it took under the load, and how often an answer
# or the server's log said "database is locked".
#
#   bench/seed.sh sqlite:///tmp/bench-load/erasure.db /tmp/bench-load/data 100000 10
#   MAX_ID=100000 bench/load.sh sqlite:///tmp/bench-load/erasure.db /tmp/bench-load/data 60
#
# SERVER_ENV="DB_POOL_SIZE=24" passes settings to the server.
#
# The deletion changes the database: seed a fresh one (or copy a seeded file back)
# for every run.
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 SECONDS_TOTAL=${3:-60} PORT=${PORT:-18183} DELETE=${DELETE:-1}
export MAX_ID=${MAX_ID:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
build
api_key "$URL" "$DATA" load
OUT=$(mktemp -d)
LOG="$OUT/server.log"
start_server "$URL" "$DATA" "$PORT" API_RATE_LIMIT=1000000 ${SERVER_ENV:-} 2>"$LOG"
trap 'stop_server; rm -rf "$OUT"' EXIT
sign_in "$PORT"
export COOKIE
BASE="http://127.0.0.1:$PORT"

STARTED=$(date +%s.%N)
WATCH=
if [ "$DELETE" = 1 ]; then
  # Preview, then confirm, deleting every inactive customer.
  JOB=$(curl -fs -o /dev/null -w '%{redirect_url}' -b "$JAR" \
    --data-urlencode "csrf_token=$TOKEN" -d intent=delete_filtered -d "${DELETE_FILTER:-status=inactive}" \
    "$BASE/w/bench/customers/bulk")
  curl -fs -o /dev/null -b "$JAR" --data-urlencode "csrf_token=$TOKEN" "$JOB/confirm"
  STARTED=$(date +%s.%N)
  (
    while :; do
      P=$(curl -fs -b "$JAR" "$JOB/progress.json" || true)
      if echo "$P" | grep -q '"finished":true'; then
        echo "$(date +%s.%N) $P" >"$OUT/job"
        break
      fi
      sleep 0.5
    done
  ) &
  WATCH=$!
fi

LOADERS=()
run() {
  local name=$1 connections=$2 script=$3 mode=$4
  MODE=$mode wrk -t1 -c"$connections" -d"${SECONDS_TOTAL}s" --latency -s "$HERE/$script" "$BASE" >"$OUT/$name" 2>&1 &
  LOADERS+=($!)
}
run list 3 load.lua list
run filtered 3 load.lua filtered
run profile 4 load.lua profile
run identify 3 api.lua identify
run track 3 api.lua track
KINDS="list filtered profile identify track"
if [ "${SEARCH:-0}" = 1 ]; then
  run search 3 load.lua search
  KINDS="$KINDS search"
fi
wait "${LOADERS[@]}"

echo "| kind | requests | p50 | p99 | requests/s | non-2xx | 5xx |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for name in $KINDS; do
  f="$OUT/$name"
  requests=$(awk '/requests in/ { print $1 }' "$f")
  p50=$(awk '$1 == "50%" { print $2 }' "$f")
  p99=$(awk '$1 == "99%" { print $2 }' "$f")
  rps=$(awk '/Requests\/sec/ { print $2 }' "$f")
  non2xx=$(awk '/Non-2xx/ { print $5 }' "$f")
  server_errors=$(awk '/^5xx:/ { print $2 }' "$f")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$requests" "$p50" "$p99" "$rps" "${non2xx:-0}" "${server_errors:-n/a}"
done

# The job gets ten more minutes once the load stops.
if [ -n "$WATCH" ]; then
  for _ in $(seq 1 1200); do [ -s "$OUT/job" ] && break; sleep 0.5; done
  kill "$WATCH" 2>/dev/null || true
fi
if [ "$DELETE" != 1 ]; then
  echo "job: none (DELETE=0)"
elif [ -s "$OUT/job" ]; then
  read -r FINISHED PROGRESS <"$OUT/job"
  printf 'job: %s, finished %.1f s after it started\n' "$PROGRESS" "$(echo "$FINISHED - $STARTED" | bc)"
else
  echo "job: not finished"
fi
echo "\"database is locked\" in answers: $(awk '/^locked:/ { n += $2 } END { print n + 0 }' "$OUT"/list "$OUT"/filtered "$OUT"/profile $([ "${SEARCH:-0}" = 1 ] && echo "$OUT"/search)), in the server's log: $(grep -c 'database is locked' "$LOG" || true)"
echo "server log lines at ERROR: $(grep -c 'ERROR' "$LOG" || true)"
