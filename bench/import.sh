#!/usr/bin/env bash
# CSV import over HTTP: a generated file of N customers (default 100,000) uploaded to a
# release server, then the preflight and the job timed separately. Run it again on
# the same database with another VARIANT and it times updates (each changing the
# name, the city and the plan) instead of creations.
#
#   bench/import.sh sqlite:///tmp/bench-import/erasure.db /tmp/bench-import/data [ROWS]
#   bench/import.sh postgres://postgres@127.0.0.1/erasure_import /tmp/bench-import-pg [ROWS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 ROWS=${3:-100000} PORT=${PORT:-18183} VARIANT=${VARIANT:-1}
build
mkdir -p "$DATA"
# The owner and workspace `bench`, unless an earlier run (or bench/seed.sh) made them.
echo "$PASSWORD" | DATABASE_URL="$URL" DATA_DIR="$DATA" RUST_LOG=error "$BIN" create-owner \
  --email "$EMAIL" --name "Bench Owner" --password-stdin --workspace Bench >/dev/null 2>&1 || true
CSV="$DATA/import-$ROWS-$VARIANT.csv"
awk -v rows="$ROWS" -v v="$VARIANT" 'BEGIN {
  split("DE FR GB ES IT NL SE PL US CA", c, " ");
  print "id,email,name,phone,country,city,plan,signup_source";
  for (i = 1; i <= rows; i++) {
    printf "imp-%d,user%d@import.example,Imported User %d v%d,+4915%08d,%s,City %d,%s,csv\n",
      i, i, i, v, i, c[i % 10 + 1], (i + v) % 50, ((i + v) % 3 ? "free" : "pro");
  }
}' >"$CSV"
echo "file: $CSV ($(du -h "$CSV" | cut -f1), $ROWS rows)"
start_server "$URL" "$DATA" "$PORT"
trap stop_server EXIT
sign_in "$PORT"
BASE="http://127.0.0.1:$PORT/w/bench"
seconds() { date +%s.%N; }

t0=$(seconds)
location=$(curl -fs -o /dev/null -D - -b "$JAR" -F "file=@$CSV;type=text/csv" \
  "$BASE/customers/import?csrf_token=$TOKEN" | awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
t1=$(seconds)
job=${location##*/}
[ -n "$job" ] || { echo "the upload was refused" >&2; exit 1; }
curl -fs -o /dev/null -b "$JAR" --data-urlencode "csrf_token=$TOKEN" "$BASE/jobs/$job/confirm"
until curl -fs -b "$JAR" "$BASE/jobs/$job/progress.json" | grep -q '"finished":true'; do sleep 0.2; done
t2=$(seconds)
progress=$(curl -fs -b "$JAR" "$BASE/jobs/$job/progress.json")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v rows="$ROWS" -v p="$progress" 'BEGIN {
  printf "| rows | upload + preflight | job | total | rows/s |\n| --- | --- | --- | --- | --- |\n";
  printf "| %d | %.1f s | %.1f s | %.1f s | %.0f |\n", rows, b - a, c - b, c - a, rows / (c - a);
  print "progress: " p;
}'
