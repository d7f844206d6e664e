#!/usr/bin/env bash
# Makes a benchmark database: the owner, workspace `bench`, N customers with M events each.
#
#   bench/seed.sh sqlite:///tmp/bench/erasure.db /tmp/bench/data 1000000 10
set -euo pipefail
source "$(dirname "$0")/common.sh"
URL=$1 DATA=$2 CUSTOMERS=${3:-1000000} EVENTS=${4:-10}
build
echo "$PASSWORD" | DATABASE_URL="$URL" DATA_DIR="$DATA" "$BIN" create-owner \
  --email "$EMAIL" --name "Bench Owner" --password-stdin --workspace Bench
time DATABASE_URL="$URL" DATA_DIR="$DATA" RUST_LOG=warn "$BIN" seed \
  --workspace bench --customers "$CUSTOMERS" --events-per-customer "$EVENTS" --seed 1
