#!/usr/bin/env bash
# The customers list under 16 concurrent connections with a signed-in session:
# no filter, each filter alone, and a combination, each with the exact count.
#
#   bench/list.sh sqlite:///tmp/bench/erasure.db /tmp/bench/data [SECONDS]
#   bench/list.sh postgres://postgres@127.0.0.1/erasure_bench /tmp/bench-pg [SECONDS]
#   SERVER_ENV="DB_POOL_SIZE=8" bench/list.sh …   (settings for the server)
#
# The database must hold the owner and the seeded workspace `bench` (bench/seed.sh).
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 SECONDS_EACH=${3:-10} PORT=${PORT:-18181}
build
start_server "$URL" "$DATA" "$PORT" ${SERVER_ENV:-}
trap stop_server EXIT
sign_in "$PORT"
BASE="http://127.0.0.1:$PORT/w/bench/customers"
echo "| list | p50 | p99 | requests/s | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
wrk_run "no filter" "$BASE" "$SECONDS_EACH"
wrk_run "country=DE" "$BASE?country=DE" "$SECONDS_EACH"
wrk_run "city=Berlin" "$BASE?city=Berlin" "$SECONDS_EACH"
wrk_run "status=active" "$BASE?status=active" "$SECONDS_EACH"
wrk_run "status=inactive" "$BASE?status=inactive" "$SECONDS_EACH"
wrk_run "seen 2026-01-01..2026-03-31" "$BASE?seen_from=2026-01-01&seen_to=2026-03-31" "$SECONDS_EACH"
wrk_run "attr plan=pro" "$BASE?attr=plan%3Dpro" "$SECONDS_EACH"
wrk_run "q=user12345" "$BASE?q=user12345" "$SECONDS_EACH"
wrk_run "country=DE&status=active&sort=name" "$BASE?country=DE&status=active&sort=name" "$SECONDS_EACH"
