#!/usr/bin/env bash
# Reliability drills of issue 9 against a release build (figures, not tests):
#   stuck   a table locked for 40 s while 8 clients keep saving drafts
#   signin  32 simultaneous sign-ins, three times, with the server's memory
# Recreates the database triage_drill on the PostgreSQL at DRILL_SERVER_URL (default
# postgres://postgres@127.0.0.1:5432), migrates it as that owner and serves as
# APP_ROLE (default triage_test_app, a member of triage_app). Extra environment for the
# server can be given, e.g. TRIAGE_HASH_CONCURRENCY=32 bench/drills.sh signin.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?stuck or signin}
server=${DRILL_SERVER_URL:-postgres://postgres@127.0.0.1:5432}
app_role=${APP_ROLE:-triage_test_app}
port=${PORT:-18555}
bin=target/release/triage
[ -x "$bin" ] || cargo build --release --bin triage
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS triage_drill WITH (FORCE)" -c "CREATE DATABASE triage_drill"
owner="$server/triage_drill"
app="${server/\/\/*@/\/\/$app_role@}/triage_drill"
export DATABASE_MIGRATION_URL="$owner" DATABASE_URL="$app" RUST_LOG=${RUST_LOG:-triage=warn}
"$bin" migrate >/dev/null
"$bin" institution add "Drill University" >/dev/null
printf '%s\n' 'lantern kestrel orchard 1887' | "$bin" user add --email drill@example.org \
  --name Drill --role officer --institution "Drill University" --password-stdin >/dev/null
BIND_ADDR=127.0.0.1:$port "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz/ready" >/dev/null 2>&1 && break; sleep 0.2; done
export TRIAGE_PID=$pid
export LOCK_COMMAND="psql '$owner' -qc 'BEGIN; LOCK TABLE assessments IN EXCLUSIVE MODE; SELECT pg_sleep(40); COMMIT;' >/dev/null"
python3 bench/drill.py "$what" "http://127.0.0.1:$port" drill@example.org 'lantern kestrel orchard 1887'
started=$(date +%s.%N)
kill -TERM $pid
wait $pid || true
echo "stopped $(echo "$(date +%s.%N) - $started" | bc) s after SIGTERM"
