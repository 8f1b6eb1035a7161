#!/usr/bin/env bash
# Register benchmark (not a test): importing an official list and re-screening cases.
#
#   1. imports a Consolidated Screening List CSV of IMPORT_ROWS organisations from the
#      shell (`triage import-register`), timed;
#   2. seeds CASES demo cases, imports a CSL of REGISTER_ROWS organisations, and times
#      `triage rescreen`, which screens every submitted case against the whole register
#      (no case's result changes: the demo partners are not on the generated list);
#   3. lists three of the demo's partner universities as well and times `triage
#      rescreen` again, when thousands of cases change and get a screening event.
#
# Usage: bench/rescreen.sh   (IMPORT_ROWS=20000 CASES=100000 REGISTER_ROWS=50000)
# Needs a PostgreSQL server (BENCH_SERVER_URL, default postgres://postgres@127.0.0.1:5432).
# A database triage_bench_register is recreated.
set -euo pipefail
cd "$(dirname "$0")/.."

IMPORT_ROWS=${IMPORT_ROWS:-20000}
CASES=${CASES:-100000}
REGISTER_ROWS=${REGISTER_ROWS:-50000}
SERVER=${BENCH_SERVER_URL:-postgres://postgres@127.0.0.1:5432}
DB_URL="$SERVER/triage_bench_register"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cargo build --release --quiet
cargo bench --quiet --bench screening --no-run 2>/dev/null
BIN=target/release/triage
BENCH=$(ls -t target/release/deps/screening-* | grep -v '\.d$' | head -1)

psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS triage_bench_register" -c "CREATE DATABASE triage_bench_register" >/dev/null
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN migrate >/dev/null

"$BENCH" --csl "$IMPORT_ROWS" "$TMP/import.csv" >/dev/null
start=$(date +%s.%N)
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN import-register "$TMP/import.csv"
end=$(date +%s.%N)
printf 'import of a CSL with %s organisations: %.1f s\n' "$IMPORT_ROWS" "$(echo "$end - $start" | bc)"

echo "seeding $CASES cases..."
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN seed-demo --cases "$CASES"
"$BENCH" --csl "$REGISTER_ROWS" "$TMP/register.csv" >/dev/null
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN import-register "$TMP/register.csv"
psql "$DB_URL" -qc "VACUUM ANALYZE" >/dev/null
names=$(psql "$DB_URL" -Atc "SELECT sum(1 + jsonb_array_length(data->'names')) FROM register_entries")
echo "register: $(psql "$DB_URL" -Atc "SELECT count(*) FROM register_entries") entries, $names names"
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN rescreen

printf '%s\n' \
  'x1,Entity List (EL) - Bureau of Industry and Security,,,EAR,Peking University,,"Beijing, CN",91 FR 1,2026-10-01,,,,,,,,,,,,https://www.trade.gov/consolidated-screening-list,PKU,,,,,https://www.bis.gov/entity-list,' \
  'x2,Entity List (EL) - Bureau of Industry and Security,,,EAR,Fudan University,,"Shanghai, CN",91 FR 1,2026-10-01,,,,,,,,,,,,https://www.trade.gov/consolidated-screening-list,,,,,,https://www.bis.gov/entity-list,' \
  'x3,Entity List (EL) - Bureau of Industry and Security,,,EAR,Zhejiang University,,"Hangzhou, CN",91 FR 1,2026-10-01,,,,,,,,,,,,https://www.trade.gov/consolidated-screening-list,,,,,,https://www.bis.gov/entity-list,' \
  >> "$TMP/register.csv"
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN import-register "$TMP/register.csv" | head -1
DATABASE_URL=$DB_URL RUST_LOG=warn $BIN rescreen
