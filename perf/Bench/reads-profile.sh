#!/usr/bin/env bash
# What the query API's reads cost in ClickHouse beside writes: system.query_log durations and rows read per kind of
# query (perf/README.md). Starts its own stack (perf/lib/stack.sh) with query logging on, seeds 200 requests of 100
# events, then reads at 5/s beside RATE requests/s of writes for DURATION s:
#   GATEWAY=1 RATE=123 DURATION=40 bash perf/Bench/reads-profile.sh
# INGEST_ARGS: more ingest settings; PROFILE: XML put into ClickHouse's default profile; HOLD: seconds to keep the stack.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-perf-results/reads-profile-$(date -u +%Y%m%d-%H%M%S)}; RATE=${RATE:-40}; DURATION=${DURATION:-30}; EVENTS=100
mkdir -p "$OUT"
source perf/lib/stack.sh
stack_init
stack_build ingest gateway devtoken perf/LoadGen perf/Bench
stack_ports
start_storage
sed -i "s|</yandex>|<query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log><part_log><database>system</database><table>part_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log></yandex>|" "$work/ch/config.xml"
kill "${pid_of[clickhouse]}"; sleep 3; start_clickhouse; wait_for clickhouse clickhouse_up
sed -i "s|<profiles><default></default>|<profiles><default><log_queries>1</log_queries></default>|" "$work/ch/users.xml"
stack_auth
start_ingest ${INGEST_ARGS:-}
wait_for ingest ingest_up
target=$ingest_url
if [ -n "${GATEWAY:-}" ]; then start_gateway --RateLimiting:Tenants:bench-reads:RequestsPerSecond=100000 --RateLimiting:Tenants:bench-reads:Burst=100000; wait_for gateway gateway_up; target=$gateway_url; fi
if [ -n "${PROFILE:-}" ]; then sed -i "s|<log_queries>1</log_queries>|<log_queries>1</log_queries>$PROFILE|" "$work/ch/users.xml"; sleep 2; fi
token bench-reads group_api >"$work/tw"; token bench-reads analytics_read >"$work/tr"
dotnet "$loadgen_dll" --out "$OUT/seed" --target "$target" --token-file "$work/tw" --tenant bench-reads --events $EVENTS --model closed --concurrency 8 --requests 200 > "$OUT/seed.log" 2>&1
sleep 3
ch "SYSTEM FLUSH LOGS" || true
ch "TRUNCATE TABLE system.query_log" || true
ch "TRUNCATE TABLE system.part_log" || true
hz=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$hz" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A cpu_before
for c in "${!pid_of[@]}"; do cpu_before[$c]=$(cpu_ms "${pid_of[$c]}"); done
# Ingest's garbage collector over the window (its own runtime metrics): pauses stop every request in flight.
gc() { curl -s "$ingest_url/metrics" | awk '/^dotnet_gc_pause_time_seconds_total/ { p = $2 } /^dotnet_gc_heap_total_allocated_bytes_total/ { a = $2 } /^dotnet_gc_collections_total/ { n += $2 } END { printf "%.3f %.0f %d\n", p, a, n }'; }
read -r gc_pause0 gc_alloc0 gc_n0 < <(gc)
dotnet "$loadgen_dll" --out "$OUT/reads" --workload reads --target "$target" --token-file "$work/tr" --tenant bench-reads \
  --seeded-events 20000 --model open --rate 5 --concurrency 8 --duration "$DURATION" > "$OUT/reads.log" 2>&1 &
rp=$!
dotnet "$loadgen_dll" --out "$OUT/load" --target "$target" --token-file "$work/tw" --tenant bench-reads --events $EVENTS --model open --rate "$RATE" --concurrency 32 --duration "$DURATION" > "$OUT/load.log" 2>&1 || true
wait $rp || true
echo "CPU over the reads and writes (s of one core; the load generators not counted):"
for c in "${!pid_of[@]}"; do echo "  $c $(( ($(cpu_ms "${pid_of[$c]}") - ${cpu_before[$c]}) / 1000 ))"; done
read -r gc_pause1 gc_alloc1 gc_n1 < <(gc)
awk -v p="$gc_pause1" -v p0="$gc_pause0" -v a="$gc_alloc1" -v a0="$gc_alloc0" -v n="$gc_n1" -v n0="$gc_n0" 'BEGIN {
  printf "ingest GC over the window: %d collections, %.0f ms paused, %.0f MB allocated\n", n - n0, (p - p0) * 1000, (a - a0) / 1e6 }'
grep -E '^\|' "$OUT/reads.log" | head -40
ch "SYSTEM FLUSH LOGS"
ch "SELECT multiIf(query LIKE '%INSERT%', 'insert', query LIKE '%TOTALS%', 'counts', query LIKE '%uniqExact(group_id) AS n%', 'counts-groups', query LIKE '%group_id IN (%', 'fill', query LIKE '%ORDER BY group_id LIMIT%', 'page', query LIKE '%count() AS members%', 'profile-members', query LIKE '%GROUP BY trait_key%', 'profile-traits', query LIKE '%user_id AS id%', 'users', 'other') AS kind,
  count() AS n, quantile(0.5)(query_duration_ms) AS p50_ms, quantile(0.95)(query_duration_ms) AS p95_ms, avg(read_rows) AS rows, avg(read_bytes) AS bytes
  FROM system.query_log WHERE type = 2 GROUP BY kind ORDER BY kind FORMAT PrettyCompactNoEscapes"
ch "SELECT table, count() AS parts, sum(rows) FROM system.parts WHERE active AND database='platform' GROUP BY table FORMAT PrettyCompactNoEscapes"
echo "Parts written and merged per table over the window (duration: wall time of each merge or insert):"
ch "SELECT table, event_type, count() AS n, sum(rows) AS rows, sum(duration_ms) AS ms FROM system.part_log WHERE database = 'platform' GROUP BY table, event_type ORDER BY table, event_type FORMAT PrettyCompactNoEscapes"
if [ -n "${HOLD:-}" ]; then echo "holding: ch http $ch_http"; sleep "$HOLD"; fi
