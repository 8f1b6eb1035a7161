#!/usr/bin/env bash
# The desk benchmark (not a test): what reviewers and officers do, at 10,000 and 100,000
# cases, on one release build, app and PostgreSQL on this machine.
#
# For each size: recreate the database triage_bench_<N>, time `seed-demo --cases N`,
# VACUUM ANALYZE, start `triage serve` with the benchmark routes, sign in, then measure
# with wrk, one route after another in the same run and server:
#   two baselines: /bench/baseline (one trivial query, a tiny template, no session) and
#   /bench/signed-in (the same session and access extractors as every reviewer page, a
#   tiny template); then the case list unfiltered, each filter alone, two filters, a
#   filter that matches nothing, full-text search (a common word, a rare word, a Chinese
#   substring), sort by title, a page deep in the cursor, the partner filter; the case
#   page, the dashboard, the partner page, the report, the queue and the officer's start
#   page; finally 16 officers saving wizard steps (bench/savers.rs) while wrk reads the
#   case list.
# Printed per route: req/s, p50, p99, non-2xx answers and the ratio of req/s to the
# signed-in baseline; the app's largest resident memory over the whole run; and, when
# several sizes ran, the per-request time at the largest size over that at the smallest.
#
# Usage: bench/run.sh          (SIZES="10000 100000" DURATION=10s CONNECTIONS=32 THREADS=2)
# Needs a PostgreSQL server (BENCH_SERVER_URL, default postgres://postgres@127.0.0.1:5432)
# and wrk (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"10000 100000"}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
SAVERS=${SAVERS:-16}
PORT=${PORT:-8181}
SERVER=${BENCH_SERVER_URL:-postgres://postgres@127.0.0.1:5432}
BASE="http://127.0.0.1:$PORT"
PASSWORD="triage demo password"
OUT=$(mktemp -d)

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
cargo bench --quiet --bench savers --no-run 2>/dev/null
SAVERS_BIN=$(ls -t target/release/deps/savers-* | grep -v '\.d$' | head -1)
BIN=target/release/triage

SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
  return 0
}
trap cleanup EXIT

sign_in() { # email -> cookie header value
  local jar token
  jar=$(mktemp)
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "_csrf=$token" \
    --data-urlencode "email=$1" --data-urlencode "password=$PASSWORD" "$BASE/login"
  echo "triage_session=$(awk '$6 == "triage_session" {print $7}' "$jar")"
  rm -f "$jar"
}

urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

run() { # size name cookie path
  local size=$1 name=$2 cookie=$3 path=$4 out rps p50 p99 errors status
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$BASE$path")
  [ "$status" = 200 ] || { echo "$name: $path answers $status, not 200" >&2; exit 1; }
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $cookie" "$BASE$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$path" "$rps" "$p50" "$p99" "${errors:-0}" >>"$OUT/$size.tsv"
  printf '  %-28s %10s req/s  p50 %9s  p99 %9s  non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-0}"
}

bench_size() {
  local n=$1 db="triage_bench_$1" url
  url="$SERVER/$db"
  echo
  echo "== $n cases =="
  psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  local started=$SECONDS
  DATABASE_URL=$url RUST_LOG=warn $BIN seed-demo --cases "$n" >/dev/null
  echo "seed-demo --cases $n: $((SECONDS - started)) s"
  psql "$url" -qc "VACUUM ANALYZE" >/dev/null

  DATABASE_URL=$url BIND_ADDR=127.0.0.1:$PORT TRIAGE_BENCH_ROUTES=true RUST_LOG=warn $BIN serve &
  SERVER_PID=$!
  for _ in $(seq 1 150); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
  # The app's resident memory, sampled every half second for the whole run.
  (while kill -0 "$SERVER_PID" 2>/dev/null; do ps -o rss= -p "$SERVER_PID"; sleep 0.5; done) >"$OUT/$n.rss" 2>/dev/null &
  WATCH_PID=$!

  local reviewer officer case report_case inst deep rare partner entry
  reviewer=$(sign_in reviewer1@triage.demo)
  officer=$(sign_in officer1@triage.demo)
  case=$(psql "$url" -Atc "SELECT id FROM assessments WHERE status = 'decided' ORDER BY id LIMIT 1")
  inst=$(psql "$url" -Atc "SELECT id FROM institutions ORDER BY name LIMIT 1")
  deep=$(psql "$url" -Atc "SELECT ((extract(epoch FROM updated_at) * 1000000)::bigint * 1000)::text || '~' || id FROM assessments WHERE status <> 'draft' ORDER BY updated_at DESC, id DESC OFFSET 5000 LIMIT 1")
  # A word of one project's title only (seed-demo titles are made of common words plus
  # an acronym; the acronym of one case is rare).
  rare=$(psql "$url" -Atc "SELECT p.acronym FROM projects p JOIN assessments a ON a.project_id = p.id WHERE a.status <> 'draft' AND p.acronym IS NOT NULL ORDER BY p.id LIMIT 1")
  partner=$(psql "$url" -Atc "SELECT partner_name FROM assessments WHERE status <> 'draft' AND register_entry_id IS NOT NULL GROUP BY partner_name ORDER BY count(*) DESC LIMIT 1")
  entry=$(urlencode "$partner")

  run "$n" "baseline" "" "/bench/baseline"
  run "$n" "signed-in baseline" "$reviewer" "/bench/signed-in"
  run "$n" "list" "$reviewer" "/cases"
  run "$n" "list verdict" "$reviewer" "/cases?verdict=red"
  run "$n" "list final verdict" "$reviewer" "/cases?final_verdict=orange"
  run "$n" "list area" "$reviewer" "/cases?area=biotech"
  run "$n" "list sub-area" "$reviewer" "/cases?sub_area=bio_genomics"
  run "$n" "list status" "$reviewer" "/cases?status=submitted"
  run "$n" "list institution" "$reviewer" "/cases?institution=$inst"
  run "$n" "list dates" "$reviewer" "/cases?from=2025-01-01&to=2025-06-30"
  run "$n" "list area+sub-area" "$reviewer" "/cases?area=biotech&sub_area=bio_genomics"
  run "$n" "list no match" "$reviewer" "/cases?area=ai&verdict=green&status=draft"
  run "$n" "search common" "$reviewer" "/cases?q=quantum"
  run "$n" "search rare" "$reviewer" "/cases?q=$(urlencode "$rare")"
  run "$n" "search Chinese" "$reviewer" "/cases?q=$(urlencode 清华)"
  run "$n" "sort title" "$reviewer" "/cases?sort=title"
  run "$n" "deep page" "$reviewer" "/cases?after=$(urlencode "$deep")"
  run "$n" "partner filter" "$reviewer" "/cases?partner=$entry"
  run "$n" "case page" "$reviewer" "/assessments/$case"
  run "$n" "dashboard" "$reviewer" "/dashboard"
  run "$n" "partner page" "$reviewer" "/partners?name=$entry"
  run "$n" "report" "$reviewer" "/assessments/$case/report"
  run "$n" "queue" "$reviewer" "/review"
  run "$n" "officer start page" "$officer" "/"

  # 16 officers save steps of their own drafts while wrk reads the case list.
  local savers secs
  savers=$(psql "$url" -Atc "SELECT u.email || '=' || a.id FROM assessments a
    JOIN LATERAL (SELECT email FROM users WHERE institution_id = a.institution_id AND role = 'officer' AND NOT disabled ORDER BY email LIMIT 1) u ON true
    WHERE a.status = 'draft' ORDER BY a.id LIMIT $SAVERS")
  secs=${DURATION%s}
  # shellcheck disable=SC2086
  "$SAVERS_BIN" "$BASE" "$secs" "$PASSWORD" $savers >"$OUT/$n.savers" &
  local savers_pid=$!
  run "$n" "list, with 16 saving" "$reviewer" "/cases"
  wait "$savers_pid"
  printf '  %-28s %s\n' "16 officers saving" "$(cat "$OUT/$n.savers")"
  printf 'saving\t-\t%s\n' "$(cat "$OUT/$n.savers")" >>"$OUT/$n.tsv"

  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  wait "$WATCH_PID" 2>/dev/null || true
  WATCH_PID=
  echo "  largest resident memory of the app: $(sort -n "$OUT/$n.rss" | tail -1 | awk '{printf "%.0f MiB", $1 / 1024}')"
}

echo "$(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $CONNECTIONS connections, $DURATION per route, wrk -t$THREADS"
for n in $SIZES; do bench_size "$n"; done

# The table: per size, req/s, p50, p99 and the ratio to the signed-in baseline; then the
# per-request time at the largest size over that at the smallest.
python3 - "$OUT" $SIZES <<'EOF'
import sys
out, sizes = sys.argv[1], sys.argv[2:]
rows = {}
for n in sizes:
    for line in open(f"{out}/{n}.tsv"):
        name, path, *rest = line.rstrip("\n").split("\t")
        rows.setdefault(name, {})[n] = rest
print()
head = "| route | " + " | ".join(f"{n}: req/s | p50 | p99 | ratio" for n in sizes)
if len(sizes) > 1:
    head += f" | time {sizes[-1]}/{sizes[0]}"
print(head + " |")
print("|" + "---|" * (1 + 4 * len(sizes) + (1 if len(sizes) > 1 else 0)))
for name, by in rows.items():
    if name == "saving":
        continue
    cells = []
    for n in sizes:
        rps, p50, p99, err = by.get(n, ["-"] * 4)
        base = float(rows["signed-in baseline"][n][0])
        ratio = f"{float(rps) / base:.2f}" if rps != "-" else "-"
        note = f" ({err} non-2xx)" if err not in ("0", "-") else ""
        cells += [rps + note, p50, p99, ratio]
    if len(sizes) > 1:
        a, b = by.get(sizes[0], ["0"])[0], by.get(sizes[-1], ["0"])[0]
        cells.append(f"{float(a) / float(b):.2f}" if a not in ("0", "-") and b not in ("0", "-") else "-")
    print(f"| {name} | " + " | ".join(cells) + " |")
for n in sizes:
    if "saving" in rows and n in rows["saving"]:
        print(f"\n{n} cases, 16 officers saving during the last read run: {rows['saving'][n][0]}")
EOF
rm -rf "$OUT"
