#!/usr/bin/env bash
# Benchmark of the reviewers' desk on 10,000 seeded cases (issue 4).
#
# Measures throughput and p50/p99 latency at 32 concurrent connections, side by side in
# one run on the same server and pool, for:
#   baseline   /bench/baseline: one trivial query and a tiny template
#   case list  /cases?verdict=red&area=ai  (a filtered list, signed in as a reviewer)
#   dashboard  /dashboard
#   result     /assessments/<id>  (a decided case's memo)
#
# Usage: bench/run.sh            (CASES=10000 DURATION=20s CONNECTIONS=32 THREADS=2)
# Needs a PostgreSQL server (BENCH_SERVER_URL, default postgres://postgres@127.0.0.1:5432)
# and wrk (installed with apt-get when missing). A database triage_bench is recreated.
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${CASES:-10000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-8181}
SERVER=${BENCH_SERVER_URL:-postgres://postgres@127.0.0.1:5432}
DB_URL="$SERVER/triage_bench"
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
BIN=target/release/triage

psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS triage_bench" -c "CREATE DATABASE triage_bench" >/dev/null
echo "seeding $CASES cases..."
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN seed-demo --cases "$CASES"
psql "$DB_URL" -qc "VACUUM ANALYZE" >/dev/null

DATABASE_URL=$DB_URL BIND_ADDR=127.0.0.1:$PORT TRIAGE_BENCH_ROUTES=true RUST_LOG=warn $BIN serve &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done

# Sign in as a reviewer and keep the session cookie.
JAR=$(mktemp)
TOKEN=$(curl -s -c "$JAR" -b "$JAR" "$BASE/login" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
curl -s -c "$JAR" -b "$JAR" -o /dev/null --data-urlencode "_csrf=$TOKEN" \
  --data-urlencode "email=reviewer1@triage.demo" --data-urlencode "password=triage demo password" "$BASE/login"
COOKIE="triage_session=$(awk '$6 == "triage_session" {print $7}' "$JAR")"
CASE=$(psql "$DB_URL" -Atc "SELECT id FROM assessments WHERE status = 'decided' ORDER BY id LIMIT 1")

run() { # name path
  local out
  curl -fs -o /dev/null -H "Cookie: $COOKIE" "$BASE$2" || { echo "$1: $2 does not answer 200" >&2; exit 1; }
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $COOKIE" "$BASE$2")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '| %-10s | %-34s | %10s | %9s | %9s | %6s |\n' "$1" "$2" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo
echo "$(nproc) cores, $CASES cases, $CONNECTIONS connections, $DURATION per route, wrk -t$THREADS"
echo "| route      | path                               |  req/s     | p50       | p99       | non-2xx |"
echo "|------------|------------------------------------|------------|-----------|-----------|---------|"
run baseline "/bench/baseline"
run "case list" "/cases?verdict=red&area=ai"
run dashboard "/dashboard"
run result "/assessments/$CASE"
rm -f "$JAR"
