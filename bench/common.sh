# Shared by the benchmark scripts: start a release server, sign in, read wrk's numbers.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# BIN=… runs another build, e.g. a copy kept for a before-and-after comparison.
BIN=${BIN:-$ROOT/target/release/erasure}
PASSWORD="bench password long"
EMAIL=${BENCH_EMAIL:-owner@bench.example}

# SKIP_BUILD=1 uses the release binary as it is (e.g. while another build holds the lock).
build() { [ -n "${SKIP_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --quiet); }

# start_server URL DATA_DIR PORT [ENV=VALUE …]: runs `erasure serve` in the background.
start_server() {
  local url=$1 data=$2 port=$3
  shift 3
  env DATABASE_URL="$url" DATA_DIR="$data" BIND="127.0.0.1:$port" RUST_LOG=warn "$@" "$BIN" serve &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start" >&2
  return 1
}

stop_server() { [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }

# api_key URL DATA_DIR NAME: creates a Track API key for workspace `bench` and exports
# AUTH, the HTTP Basic credentials (site id and key) in base64.
api_key() {
  local output site key
  output=$(DATABASE_URL="$1" DATA_DIR="$2" "$BIN" api-key create --workspace bench --name "$3 $(date +%s)")
  site=$(echo "$output" | awk -F': *' 'tolower($1) ~ /site/ { print $2 }' | head -n1)
  key=$(echo "$output" | awk -F': *' 'tolower($1) ~ /key/ && tolower($1) !~ /site/ { print $2 }' | head -n1)
  export AUTH
  AUTH=$(printf '%s:%s' "$site" "$key" | base64 -w0)
}

# sign_in PORT: leaves a signed-in cookie jar in $JAR and the form token in $TOKEN.
sign_in() {
  local port=$1
  JAR=$(mktemp)
  TOKEN=$(curl -fs -c "$JAR" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf-token" content="\([^"]*\)".*/\1/p' | head -n1)
  curl -fs -b "$JAR" -c "$JAR" -o /dev/null \
    --data-urlencode "csrf_token=$TOKEN" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
    "http://127.0.0.1:$port/login"
  TOKEN=$(curl -fs -b "$JAR" "http://127.0.0.1:$port/settings/security" | sed -n 's/.*name="csrf-token" content="\([^"]*\)".*/\1/p' | head -n1)
  COOKIE=$(awk '$6 == "erasure_session" { print "erasure_session=" $7 }' "$JAR")
}

# wrk_run LABEL URL SECONDS: prints one table row: label, p50, p99, requests/s, non-2xx.
wrk_run() {
  local label=$1 url=$2 seconds=${3:-10}
  local out
  out=$(wrk -t2 -c16 -d"${seconds}s" --latency -H "Cookie: $COOKIE" "$url")
  local p50 p99 rps errors
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  errors=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$p50" "$p99" "$rps" "${errors:-0}"
}
