#!/usr/bin/env bash
# Searches of the customers list at scale, two builds compared side by side over one
# database, interleaved (BEFORE, AFTER, BEFORE, AFTER) as in bench/list_ab.sh: common
# first-name fragments and email domains (each matching 1–10 % of the customers), a
# rare term, an exact email, each alone and with `country=DE`.
#
#   BEFORE=/tmp/erasure-before AFTER=target/release/erasure \
#     bench/search.sh sqlite:///tmp/bench/erasure.db /tmp/bench/data [SECONDS]
#   BEFORE=… bench/search.sh postgres://postgres@127.0.0.1/erasure_bench /tmp/bench-pg [SECONDS]
#
# Without BEFORE, only the build in BIN (or AFTER) is measured. TERMS="ada gmail" measures
# fewer searches. A page that leaves its count for later is measured without it; the
# count endpoint (what the page's script fetches then) is measured last, on AFTER alone.
# The database must hold the owner and the seeded workspace `bench` (bench/seed.sh).
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 SECONDS_EACH=${3:-6}
: "${AFTER:=$BIN}"

# The address of one seeded customer, to search for exactly.
case "$URL" in
  sqlite://*) EXACT=$(sqlite3 "${URL#sqlite://}" "SELECT email FROM customers WHERE external_id = 'cust-123456'") ;;
  *) EXACT=$(psql "$URL" -Atc "SELECT email FROM customers WHERE external_id = 'cust-123456'") ;;
esac
EXACT=${EXACT/@/%40}

servers=()
if [ -n "${BEFORE:-}" ]; then
  BIN=$BEFORE start_server "$URL" "$DATA" 18211 ${BEFORE_ENV:-}
  servers+=("$SERVER_PID")
fi
BIN=$AFTER start_server "$URL" "$DATA" 18212 ${AFTER_ENV:-}
servers+=("$SERVER_PID")
trap 'kill "${servers[@]}" 2>/dev/null; wait 2>/dev/null || true' EXIT
if [ -n "${BEFORE:-}" ]; then
  sign_in 18211
  BEFORE_COOKIE=$COOKIE
fi
sign_in 18212
AFTER_COOKIE=$COOKIE

# one PORT COOKIE QUERY [PATH]: "p50 p99 requests/s" of one run.
one() {
  wrk -t2 -c16 -d"${SECONDS_EACH}s" --latency -H "Cookie: $2" "http://127.0.0.1:$1/w/bench/customers${4:-}?$3" |
    awk '$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } /Requests\/sec/ { r = $2 } END { printf "%s %s %s", p50, p99, r }'
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| search | before p50 / p99 / req/s, two runs | after p50 / p99 / req/s, two runs |"
echo "| --- | --- | --- |"
for q in ${TERMS:-ada grace alan linus gmail yahoo outlook hotmail gmx.de user12345} "$EXACT"; do
  # FILTERS="- &status=active" combines each term with other filters ("-" is none).
  for filter in ${FILTERS:-- &country=DE}; do
    [ "$filter" = - ] && filter=""
    query="q=$q$filter"
    b1=- b2=-
    [ -n "${BEFORE:-}" ] && b1=$(one 18211 "$BEFORE_COOKIE" "$query")
    a1=$(one 18212 "$AFTER_COOKIE" "$query")
    [ -n "${BEFORE:-}" ] && b2=$(one 18211 "$BEFORE_COOKIE" "$query")
    a2=$(one 18212 "$AFTER_COOKIE" "$query")
    printf '| %s | %s / %s | %s / %s |\n' "$query" "$b1" "$b2" "$a1" "$a2"
  done
done
echo
echo "| count endpoint (after) | p50 / p99 / req/s |"
echo "| --- | --- |"
for query in "q=ada" "q=ada&country=DE" "q=gmail" "q=gmail&country=DE"; do
  printf '| %s | %s |\n' "$query" "$(one 18212 "$AFTER_COOKIE" "$query" /count)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
