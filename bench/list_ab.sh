#!/usr/bin/env bash
# Two builds of the server compared on the customers list, interleaved so that the
# machine's drift between runs falls on both alike: both servers run at once over the
# same database, and each row is measured on BEFORE, AFTER, BEFORE, AFTER.
#
#   BEFORE=/tmp/erasure-before AFTER=target/release/erasure \
#     bench/list_ab.sh sqlite:///tmp/bench/erasure.db /tmp/bench/data [SECONDS]
#
# BEFORE_ENV / AFTER_ENV pass settings to one server only, e.g. AFTER_ENV="DB_POOL_SIZE=4".
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 SECONDS_EACH=${3:-6}
: "${AFTER:=$BIN}"

# Without BEFORE, only AFTER runs: its tails then carry no queue the other server
# left behind when a before run overloaded it.
BEFORE_PID=
if [ -n "${BEFORE:-}" ]; then
  BIN=$BEFORE start_server "$URL" "$DATA" 18201 ${BEFORE_ENV:-}
  BEFORE_PID=$SERVER_PID
fi
BIN=$AFTER start_server "$URL" "$DATA" 18202 ${AFTER_ENV:-}
AFTER_PID=$SERVER_PID
trap 'kill $BEFORE_PID $AFTER_PID 2>/dev/null; wait 2>/dev/null || true' EXIT
if [ -n "${BEFORE:-}" ]; then
  sign_in 18201
  BEFORE_COOKIE=$COOKIE
fi
sign_in 18202
AFTER_COOKIE=$COOKIE

# one PORT COOKIE QUERY: "p50 p99 requests/s" of one run.
one() {
  wrk -t2 -c16 -d"${SECONDS_EACH}s" --latency -H "Cookie: $2" "http://127.0.0.1:$1/w/bench/customers?$3" |
    awk '$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } /Requests\/sec/ { r = $2 } END { printf "%s %s %s", p50, p99, r }'
}

echo "| list | before p50 / p99 / req/s, two runs | after p50 / p99 / req/s, two runs |"
echo "| --- | --- | --- |"
# QUERIES="country=DE country=DE&status=active" measures other lists ("-" is the
# list without a filter).
for query in ${QUERIES:-- country=DE city=Berlin status=active status=inactive \
  seen_from=2026-01-01&seen_to=2026-03-31 attr=plan%3Dpro q=user12345 \
  country=DE&status=active&sort=name}; do
  [ "$query" = - ] && query=""
  b1=- b2=-
  [ -n "${BEFORE:-}" ] && b1=$(one 18201 "$BEFORE_COOKIE" "$query")
  a1=$(one 18202 "$AFTER_COOKIE" "$query")
  [ -n "${BEFORE:-}" ] && b2=$(one 18201 "$BEFORE_COOKIE" "$query")
  a2=$(one 18202 "$AFTER_COOKIE" "$query")
  printf '| %s | %s / %s | %s / %s |\n' "${query:-no filter}" "$b1" "$b2" "$a1" "$a2"
done
