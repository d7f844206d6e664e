#!/usr/bin/env bash
# SQLite: searches before and after Track API writes that leave the search index in
# many segments, on a build that does not merge it in the background (BEFORE) and one
# that does (AFTER), each over its own copy of a seeded database:
#
#   BEFORE=/tmp/erasure-before AFTER=target/release/erasure \
#     bench/merge.sh /tmp/bench/erasure.db /tmp/bench/data [WRITE_SECONDS]
#
# For each build: the searches on the fresh copy, then identify calls from 8
# connections for WRITE_SECONDS (new customers, each call its own transaction), the
# searches again at once, and (AFTER only) once more after the next background merge.
# AFTER's log says how many merge steps that took and the longest step's time.
set -euo pipefail
source "$(dirname "$0")/common.sh"
DB=$1 DATA=$2 WRITE_SECONDS=${3:-30}
: "${BEFORE:?the build without background merges}" "${AFTER:=$BIN}"
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'stop_server; rm -rf "$WORK"' EXIT

searches() {
  for q in q=user12345 q=ada q=gmail; do
    printf '%s %s; ' "$q" "$(wrk -t2 -c16 -d3s --latency -H "Cookie: $COOKIE" "http://127.0.0.1:18240/w/bench/customers?$q" |
      awk '$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } END { printf "%s %s", p50, p99 }')"
  done
  echo
}

for build in BEFORE AFTER; do
  cp "$DB" "$WORK/erasure.db"
  URL="sqlite://$WORK/erasure.db"
  BIN=${!build} api_key "$URL" "$DATA" merge
  BIN=${!build} start_server "$URL" "$DATA" 18240 API_RATE_LIMIT=1000000 RUST_LOG=info 2>"$WORK/$build.log"
  sign_in 18240
  echo "$build, fresh copy: $(searches)"
  MODE=identify PREFIX="merge$RANDOM" wrk -t2 -c8 -d"${WRITE_SECONDS}s" -s "$HERE/api.lua" http://127.0.0.1:18240 |
    awk '/requests in/ { printf "%s identify calls; ", $1 } /Requests\/sec/ { print $2 " a second" }'
  echo "$build, after the writes: $(searches)"
  if [ "$build" = AFTER ]; then
    sleep 65
    echo "$build, after the next background merge: $(searches)"
    grep 'search index merged' "$WORK/$build.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -3
  fi
  stop_server
  rm -f "$WORK/erasure.db" "$WORK/erasure.db-wal" "$WORK/erasure.db-shm"
done
