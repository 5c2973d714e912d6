#!/usr/bin/env bash
# The full benchmark of the performance targets (docs/architecture.md) on this machine, end to end (see perf/README.md, "The benchmark"):
#   bash perf/Bench/run.sh
# Installs redis-server and clickhouse-server when missing (.ci/install-servers.sh), builds Release, starts its own
# Redis, ClickHouse (config and data in a temporary directory), ingest (ClickHouse storage, Redis dedup) and the gateway
# (Redis rate limits, bench tenants' limits far above the load), all on free 127.0.0.1 ports, runs the scenarios below
# with LoadGen, checks storage after every write run, samples CPU and RSS of every process, writes
# $OUT/results.md, and stops everything it started on exit. Exits non-zero when a check failed.
#
# Knobs (environment), with defaults:
#   DURATION=20         seconds per measured scenario          WARMUP=5          seconds of warm-up per path
#   IDLE=5              seconds of the idle window (CPU with no load, after the warm-up)
#   CONCURRENCY=32      closed-model senders                   OPEN_CONCURRENCY=256  open-model cap on requests in flight
#   SUSTAINED=120       seconds of the sustained run (0 skips) SUSTAINED_RATE    requests/s (default: half the gateway's peak)
#   READ_RATE=5         query API reads/s beside the writes    SEED_REQUESTS=200 writes (100 events each) the reads read
#   READS=60            seconds of the reads-beside-writes scenario (at 5/s, 300 reads: about 60 listings and 35 counts,
#                       enough for a p95 that is not one slow request)
#   OUTAGE=40           seconds ClickHouse is stopped under half-peak load through the gateway (0 skips)
#   OUTAGE_LEAD=10      seconds of load before the stop        OUTAGE_TAIL=30    seconds of load after the start again
#   OUTAGE_STOP=kill    kill (SIGKILL, as abrupt as a crash) or term (SIGTERM, a clean shutdown)
#   FLOOD=20            seconds of each phase of the noisy-neighbour scenario (quiet tenants alone, then under a flood; 0 skips)
#   FLOOD_QUIET=10      quiet tenants                          FLOOD_QUIET_RATE=4  requests/s of each (FLOOD_QUIET_EVENTS=100 events)
#   FLOOD_CONCURRENCY=32  flooding senders (closed model)      FLOOD_EVENTS=1000   events per flood request
#   FLOOD_LIMIT=2000    the flooding tenant's events/s limit   FLOOD_BURST         its burst (default twice the limit)
#   FLOOD_RETRY=1       the flood resends refused batches after Retry-After (0: at once, ignoring it: a runaway retry loop)
#   DRAIN_TIMEOUT=300   seconds a write run waits for ingest's write-ahead log to drain before its storage checks
#   SETTLE=60           at most this many seconds before each measured window, waiting for the services (ClickHouse's
#                       merges included) to go quiet
#   OUT=perf-results/bench-<time>                              the results directory
# With the defaults a run took 6½ to 8½ minutes on our busy 2-core machine, build included (2½ less with SUSTAINED=0),
# before the outage scenario (it adds OUTAGE_LEAD + OUTAGE + OUTAGE_TAIL seconds, ClickHouse's restart and the drain)
# and READS (40 s more than the reads scenario's 20 s before it).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20}; WARMUP=${WARMUP:-5}; CONCURRENCY=${CONCURRENCY:-32}; OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-256}
SUSTAINED=${SUSTAINED:-120}; SUSTAINED_RATE=${SUSTAINED_RATE:-}; READ_RATE=${READ_RATE:-5}; SEED_REQUESTS=${SEED_REQUESTS:-200}
READS=${READS:-60}
IDLE=${IDLE:-5}
OUTAGE=${OUTAGE:-40}; OUTAGE_LEAD=${OUTAGE_LEAD:-10}; OUTAGE_TAIL=${OUTAGE_TAIL:-30}; OUTAGE_STOP=${OUTAGE_STOP:-kill}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}; SETTLE=${SETTLE:-60}
FLOOD=${FLOOD:-20}; FLOOD_QUIET=${FLOOD_QUIET:-10}; FLOOD_QUIET_RATE=${FLOOD_QUIET_RATE:-4}; FLOOD_QUIET_EVENTS=${FLOOD_QUIET_EVENTS:-100}
FLOOD_CONCURRENCY=${FLOOD_CONCURRENCY:-32}; FLOOD_EVENTS=${FLOOD_EVENTS:-1000}; FLOOD_LIMIT=${FLOOD_LIMIT:-2000}
FLOOD_BURST=${FLOOD_BURST:-$((FLOOD_LIMIT * 2))}; FLOOD_RETRY=${FLOOD_RETRY:-1}
case "$OUTAGE_STOP" in kill|term) ;; *) echo "OUTAGE_STOP must be kill or term" >&2; exit 2 ;; esac
OUT=${OUT:-perf-results/bench-$(date -u +%Y%m%d-%H%M%S)}
EVENTS=100
command_line=""
for knob in DURATION WARMUP IDLE CONCURRENCY OPEN_CONCURRENCY SUSTAINED SUSTAINED_RATE READ_RATE READS SEED_REQUESTS \
  OUTAGE OUTAGE_LEAD OUTAGE_TAIL OUTAGE_STOP FLOOD FLOOD_QUIET FLOOD_QUIET_RATE FLOOD_QUIET_EVENTS FLOOD_CONCURRENCY FLOOD_EVENTS \
  FLOOD_LIMIT FLOOD_BURST FLOOD_RETRY DRAIN_TIMEOUT SETTLE OUT; do
  # Only what the caller set, so the recorded command is the one to type again.
  if printenv "$knob" >/dev/null; then command_line+="$knob=$(printf '%q' "${!knob}") "; fi
done
command_line+="bash perf/Bench/run.sh"
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ); started_s=$SECONDS
# The commit the build below compiles: taken now, since the tree may move on while the run goes.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); dirty=$(git status --porcelain 2>/dev/null | wc -l)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- servers, build and processes: perf/lib/stack.sh (shared with the fault suite); every process started is stopped on
# exit, Ctrl+C included --------------------------------------------------------------------------------------------------
# shellcheck source=../lib/stack.sh
source perf/lib/stack.sh
sampler_pid=""
stop_sampler() {
  if [ -n "$sampler_pid" ]; then
    kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
  fi
}
stack_before_stop() { stop_sampler; }
stack_init
stack_build ingest/Platform.Ingest.csproj gateway/Platform.Gateway.csproj devtoken/Platform.DevToken.csproj \
  perf/LoadGen/Platform.Perf.LoadGen.csproj perf/Bench/Platform.Perf.Bench.csproj
stack_ports

# Redis without persistence; ClickHouse with its config and data in $work/ch (the outage scenario stops this server and
# starts it again on the same data: the sampler reads its pid from a file).
start_storage

token bench-warmup group_api >"$work/token-warmup"
stack_auth
tenants=(bench-warmup bench-direct bench-direct-open bench-gateway bench-gateway-open bench-retry bench-reads bench-sustained bench-outage)
# The noisy-neighbour scenario's tenants: ten quiet ones on the default event limits, and the flooding one on its own.
quiet=(); for i in $(seq "$FLOOD_QUIET"); do quiet+=("bench-quiet-$(printf '%02d' "$i")"); done
quiet_csv=$(IFS=,; echo "${quiet[*]}")

# Per-tenant limits far above what two cores can send, so no request of the scenarios above the noisy neighbours is
# refused (429s would show as errors); the limiters still run on every request, in Redis, as in production. The quiet
# tenants keep ingest's default events-per-second limit, the flooding tenant gets FLOOD_LIMIT.
event_limits=(--EventLimits:Tenants:bench-flood:EventsPerSecond="$FLOOD_LIMIT" --EventLimits:Tenants:bench-flood:Burst="$FLOOD_BURST")
for t in "${tenants[@]}"; do event_limits+=(--EventLimits:Tenants:"$t":EventsPerSecond=1000000 --EventLimits:Tenants:"$t":Burst=1000000); done
start_ingest "${event_limits[@]}"
limits=()
for t in "${tenants[@]}" bench-flood "${quiet[@]}"; do limits+=(--RateLimiting:Tenants:"$t":RequestsPerSecond=100000 --RateLimiting:Tenants:"$t":Burst=100000); done
start_gateway "${limits[@]}"

wait_for ingest ingest_up
wait_for gateway gateway_up

# The raw-row audit table (see stack.sh): it costs ClickHouse a little extra work per insert, which the ClickHouse CPU
# column includes.
create_raw_audit
# The baseline's table: ingest's own DDL for a database "bench"; group_traits_v1 there is the trait-row table of ingest's
# version-1 layout (since version 2 group_traits is a view of the events), the shape LoadGen's baseline writes.
dotnet "$ingest_dll" clickhouse-ddl --Storage:ClickHouse:Database=bench >"$work/bench-ddl.sql"
statement=""
while IFS= read -r line; do
  statement+="$line"$'\n'
  if [[ $line == *";" ]]; then ch "${statement%;*}" >/dev/null; statement=""; fi
done <"$work/bench-ddl.sql"

# --- sampling ----------------------------------------------------------------------------------------------------------
hz=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$hz" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
echo start >"$work/scenario"
# Every second: each service's VmRSS and its CPU so far (user + system), labelled with the scenario running.
mkfifo "$work/tick"
(
  # A one-second wait without a child process: a read that times out on a FIFO nobody writes to.
  exec 3<>"$work/tick"
  echo "elapsed_s,scenario,gateway_kb,ingest_kb,redis_kb,clickhouse_kb,gateway_cpu_ms,ingest_cpu_ms,redis_cpu_ms,clickhouse_cpu_ms"
  t0=$EPOCHREALTIME
  while :; do
    line="$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'),$(cat "$work/scenario")"
    pid_of[clickhouse]=$(cat "$work/clickhouse.pid")
    for c in gateway ingest redis clickhouse; do
      line+=",$(awk '/^VmRSS/ { print $2 }' "/proc/${pid_of[$c]}/status" 2>/dev/null || echo 0)"
    done
    for c in gateway ingest redis clickhouse; do line+=",$(cpu_ms "${pid_of[$c]}")"; done
    echo "$line"
    read -r -t 1 -u 3 _ || true
  done
) >"$OUT/samples.csv" &
sampler_pid=$!

scenario_dir=""; scenario_n=0
declare -A cpu_before=()
begin() { # name, title, [key=value ...]: a scenario's directory, and CPU before its measured window
  scenario_n=$((scenario_n + 1))
  scenario_dir="$OUT/$(printf '%02d' "$scenario_n")-$1"
  mkdir -p "$scenario_dir"
  { echo "name=$1"; echo "title=$2"; shift 2; for kv in "$@"; do echo "$kv"; done; } >"$scenario_dir/scenario.txt"
  echo "== $(basename "$scenario_dir")"
}
# Before each window, up to 15 s for a quiet second of gateway and ingest (under 50 ms of CPU each): the warm-up's tail
# (the JIT's second tier, garbage collection) and requests an overloaded scenario left behind (a client that timed out
# does not stop ingest from storing its request) then stay out of the next window. ClickHouse's background merges of
# earlier parts are not waited for: they are part of its cost per event, whichever window they fall in.
settle() {
  # Until the services are quiet, ClickHouse included: a scenario must not pay for the merges of the one before it (a
  # peak run leaves minutes of them), which would count against its CPU per event and slow its reads. Up to SETTLE s.
  echo settle >"$work/scenario"
  for _ in $(seq "$SETTLE"); do
    local g0 i0 c0; g0=$(cpu_ms "${pid_of[gateway]}"); i0=$(cpu_ms "${pid_of[ingest]}"); c0=$(cpu_ms "${pid_of[clickhouse]}"); sleep 1
    [ $(( $(cpu_ms "${pid_of[gateway]}") - g0 )) -lt 50 ] && [ $(( $(cpu_ms "${pid_of[ingest]}") - i0 )) -lt 50 ] &&
      [ $(( $(cpu_ms "${pid_of[clickhouse]}") - c0 )) -lt 100 ] && break
  done
}
window_start() {
  settle
  echo "$(basename "$scenario_dir" | cut -d- -f2-)" >"$work/scenario"
  for c in gateway ingest redis clickhouse; do cpu_before[$c]=$(cpu_ms "${pid_of[$c]}"); done
  window_t0=$EPOCHREALTIME
}
window_end() {
  {
    for c in gateway ingest redis clickhouse; do echo "cpu_ms_$c=$(( $(cpu_ms "${pid_of[$c]}") - ${cpu_before[$c]} ))"; done
    echo "wall_s=$(awk -v a="$EPOCHREALTIME" -v b="$window_t0" 'BEGIN { printf "%.2f", a - b }')"
  } >>"$scenario_dir/scenario.txt"
  echo between >"$work/scenario"
}
# start NAME ARGS...: one LoadGen run into $scenario_dir/NAME, in the background (a signal then stops the script at once,
# and the trap stops the run); finish NAME waits for it. Its exit code is recorded, never fatal here (the report
# decides), so one failed scenario does not hide the others.
start() {
  local name=$1; shift
  local command=()
  if [ "${1:-}" = flood ]; then command=(flood); shift; fi
  dotnet "$loadgen_dll" ${command[@]+"${command[@]}"} --out "$scenario_dir/$name" "$@" >"$scenario_dir/$name.log" 2>&1 &
  run_pid[$name]=$!
}
finish() {
  local status=0
  wait "${run_pid[$1]}" || status=$?
  unset "run_pid[$1]"
  echo "exit_$1=$status" >>"$scenario_dir/scenario.txt"
  grep -E '^\| (events acked|rows acked|reads answered|statuses|latency p99|\*\*all quiet tenants\*\*) ' "$scenario_dir/$1.log" | sed 's/^/   /' || true
}
run() { start "$@"; finish "$1"; }
# writes TENANT: the arguments of a verified Group API load as that tenant (into the array w).
# With --ingest-metrics LoadGen also watches ingest's write-ahead log and waits for it to drain before checking storage
# (a 200 means durable in the log, not yet stored), and reports the ship lag (freshness) percentiles over the run.
verify=(--verify-clickhouse "$ch_url" --verify-database platform --verify-raw-table bench_audit.events_raw --ingest-metrics "$ingest_url/metrics"
  --drain-timeout "$DRAIN_TIMEOUT")
writes() { w=(--token-file "$work/token-$1" --tenant "$1" --events "$EVENTS" "${verify[@]}"); }
field() { sed -n "s/^  \"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n 1; }
for t in "${tenants[@]}" bench-flood "${quiet[@]}"; do token "$t" group_api >"$work/token-$t"; done
token bench-reads analytics_read >"$work/token-reads-read"
token bench-warmup analytics_read >"$work/token-warmup-read"

# --- warm-up: JIT, connection pools, ClickHouse's first parts; a tenant of its own, not reported -----------------------
echo "== warm-up (${WARMUP} s per path)"
echo warm-up >"$work/scenario"
warm="$work/warm-up"
dotnet "$loadgen_dll" --out "$warm/ch" --workload clickhouse --tenant bench-warmup --clickhouse-table bench.group_traits_v1 \
  --target "$ch_url" --model closed --concurrency "$CONCURRENCY" --duration "$WARMUP" >"$work/warm-up-ch.log" 2>&1 || true
for target in "$ingest_url" "$gateway_url"; do
  dotnet "$loadgen_dll" --out "$warm/$(date +%s%N)" --target "$target" --token-file "$work/token-warmup" --model closed \
    --concurrency "$CONCURRENCY" --duration "$WARMUP" >>"$work/warm-up.log" 2>&1 || true
done
# The query API too, on groups of the warm-up's first events (stored by now).
dotnet "$loadgen_dll" --out "$warm/reads" --workload reads --target "$gateway_url" --token-file "$work/token-warmup-read" \
  --seeded-events 1000 --model closed --concurrency 4 --duration "$WARMUP" >>"$work/warm-up.log" 2>&1 || true

# What the processes burn with no load at all (timers, health probes, ClickHouse's merges of the warm-up's parts), once
# the warm-up's tail has settled: reported per second.
begin idle "idle, after the warm-up" kind=idle
window_start
sleep "$IDLE"
window_end

# --- scenarios -----------------------------------------------------------------------------------------------------------
begin clickhouse-baseline "ClickHouse HTTP insert of the same trait rows (baseline)" baseline=clickhouse
window_start
run load --workload clickhouse --tenant bench-clickhouse --clickhouse-table bench.group_traits_v1 --target "$ch_url" \
  --events "$EVENTS" --model closed --concurrency "$CONCURRENCY" --duration "$DURATION" --verify-clickhouse "$ch_url"
window_end

begin ingest-direct-closed "ingest direct, peak (baseline)" baseline=ingest-direct
window_start
writes bench-direct
run load --target "$ingest_url" "${w[@]}" --model closed --concurrency "$CONCURRENCY" --duration "$DURATION"
window_end

begin gateway-closed "gateway → ingest, peak"
window_start
writes bench-gateway
run load --target "$gateway_url" "${w[@]}" --model closed --concurrency "$CONCURRENCY" --duration "$DURATION"
window_end

# The peak is the rate the system sustains end to end: events acked over the time until the last of them was stored
# (the load's duration plus the write-ahead log's drain after it). Acks alone overstate it once the log absorbs more than
# ClickHouse loads: that rate grows a backlog, and half of it can still exceed what storage keeps up with. Without a log
# (DuckDB, or a commit before it) the drain is 0 and the two are the same.
summary="$scenario_dir/load/summary.json"
acked_peak=$(field "$summary" events_acked_per_s); acked_peak=${acked_peak:-0}
acked=$(field "$summary" events_acked); elapsed=$(field "$summary" elapsed_s)
drain=$(sed -n 's/^    "log_drain_wait_s": \([0-9.]*\).*/\1/p' "$summary" | head -n 1)
peak=$(awk -v a="${acked:-0}" -v t="${elapsed:-0}" -v d="${drain:-0}" -v p="$acked_peak" \
  'BEGIN { s = (t + d > 0) ? a / (t + d) : p; if (s > p) s = p; printf "%.0f", s }')
half_rate=$(awk -v p="$peak" -v e="$EVENTS" 'BEGIN { r = p / e / 2; if (r < 1) r = 1; printf "%.1f", r }')
echo "   gateway's peak: $acked_peak events/s acked, $peak events/s stored end to end (log drained ${drain:-0} s after)"
echo "   half of the gateway's end-to-end peak: $half_rate requests/s"

begin gateway-open-half "gateway → ingest, open at half its peak"
window_start
writes bench-gateway-open
run load --target "$gateway_url" "${w[@]}" --model open --rate "$half_rate" \
  --concurrency "$OPEN_CONCURRENCY" --duration "$DURATION"
window_end

begin ingest-direct-open-half "ingest direct, open at the same rate"
window_start
writes bench-direct-open
run load --target "$ingest_url" "${w[@]}" --model open --rate "$half_rate" \
  --concurrency "$OPEN_CONCURRENCY" --duration "$DURATION"
window_end

begin retry-storm "gateway → ingest, peak, 30% resent events"
window_start
writes bench-retry
run load --target "$gateway_url" "${w[@]}" --duplicates 0.3 --model closed --concurrency "$CONCURRENCY" --duration "$DURATION"
window_end

begin reads-under-writes "gateway → ingest, open at half its peak, with query reads"
# The reads read groups of the seed's events (every one of them stored when the seed has no error).
writes bench-reads
run seed --target "$gateway_url" "${w[@]}" --model closed --concurrency "$CONCURRENCY" --requests "$SEED_REQUESTS"
window_start
start reads --workload reads --target "$gateway_url" --token-file "$work/token-reads-read" --tenant bench-reads \
  --seeded-events $((SEED_REQUESTS * EVENTS)) --model open --rate "$READ_RATE" --concurrency "$OPEN_CONCURRENCY" --duration "$READS"
writes bench-reads
run load --target "$gateway_url" "${w[@]}" --model open --rate "$half_rate" --concurrency "$OPEN_CONCURRENCY" --duration "$READS"
finish reads
window_end

if [ "$SUSTAINED" -gt 0 ]; then
  rate=${SUSTAINED_RATE:-$half_rate}
  begin sustained "sustained: gateway → ingest, open at $rate requests/s for $SUSTAINED s"
  window_start
  writes bench-sustained
  run load --target "$gateway_url" "${w[@]}" --model open --rate "$rate" --concurrency "$OPEN_CONCURRENCY" --duration "$SUSTAINED"
  window_end
fi

if [ "$FLOOD" -gt 0 ]; then
  # Noisy neighbours (issue 15): the quiet tenants through the gateway at a steady open-model rate well within their
  # limits, FLOOD s alone (the baseline), then FLOOD s more while bench-flood floods (closed model, 1,000-event requests)
  # far beyond its events-per-second limit, from 3 s before that phase. LoadGen reports each quiet tenant's p50/p99 and
  # refusals in both phases, the flood's refusals (429 with Retry-After) against its limit, and checks every run's acked
  # events in storage after the log drained.
  retry=(); [ "$FLOOD_RETRY" = 1 ] || retry=(--flood-no-wait)
  begin noisy-neighbours "noisy neighbours: $FLOOD_QUIET quiet tenants at $FLOOD_QUIET_RATE requests/s each ($FLOOD_QUIET_EVENTS events), alone then under one tenant's flood ($FLOOD_CONCURRENCY senders, $FLOOD_EVENTS events, limit $FLOOD_LIMIT events/s)" kind=flood
  window_start
  run flood flood --target "$gateway_url" --flood-tenant bench-flood --flood-token-file "$work/token-bench-flood" \
    --flood-concurrency "$FLOOD_CONCURRENCY" --flood-events "$FLOOD_EVENTS" --flood-limit "$FLOOD_LIMIT" --flood-burst "$FLOOD_BURST" \
    ${retry[@]+"${retry[@]}"} --quiet-tenants "$quiet_csv" --quiet-token-dir "$work" --quiet-rate "$FLOOD_QUIET_RATE" \
    --quiet-events "$FLOOD_QUIET_EVENTS" --quiet-concurrency "$OPEN_CONCURRENCY" --baseline "$FLOOD" --duration "$FLOOD" \
    "${verify[@]}"
  window_end
fi

if [ "$OUTAGE" -gt 0 ]; then
  # ClickHouse stopped for OUTAGE s under half-peak open load through the gateway, then started again on the same data
  # directory. Ingest acks from its write-ahead log and its shipper retries, so clients should see no error; LoadGen
  # scrapes the log's size every half second, waits for the drain after the load, then checks every acked event is
  # stored exactly once. The report lines the scrapes up with the stop and start times recorded here.
  begin clickhouse-outage "ClickHouse stopped for $OUTAGE s under the gateway at half its peak" kind=outage stop="$OUTAGE_STOP"
  window_start
  writes bench-outage
  start load --target "$gateway_url" "${w[@]}" --model open --rate "$half_rate" --concurrency "$OPEN_CONCURRENCY" \
    --duration $((OUTAGE_LEAD + OUTAGE + OUTAGE_TAIL))
  sleep "$OUTAGE_LEAD"
  ch_pid=${pid_of[clickhouse]}
  # The killed process's CPU so far counts towards the window, as the new process's does from zero.
  cpu_before[clickhouse]=$(( ${cpu_before[clickhouse]} - $(cpu_ms "$ch_pid") ))
  now() { awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t }'; }
  echo "clickhouse_stopped_at=$(now)" >>"$scenario_dir/scenario.txt"
  if [ "$OUTAGE_STOP" = kill ]; then kill -9 "$ch_pid"; else kill -TERM "$ch_pid"; fi
  # A clean stop lets running queries finish first (18 s was seen here): the outage counts from the process's exit.
  wait "$ch_pid" 2>/dev/null || true
  echo "clickhouse_gone_at=$(now)" >>"$scenario_dir/scenario.txt"
  sleep "$OUTAGE"
  echo "   ClickHouse ($OUTAGE_STOP) stopped for $OUTAGE s; starting it again on the same data"
  start_clickhouse
  for _ in $(seq 600); do curl -sf "$ch_url/?query=SELECT%201" >/dev/null 2>&1 && break; sleep 0.1; done
  if curl -sf "$ch_url/?query=SELECT%201" >/dev/null 2>&1; then
    echo "clickhouse_returned_at=$(now)" >>"$scenario_dir/scenario.txt"
  else
    echo "   ClickHouse did not answer within 60 s of its start again" >&2
  fi
  finish load
  window_end
fi

# --- report ------------------------------------------------------------------------------------------------------------
stop_sampler
{
  echo "command=$command_line"
  echo "commit=$commit"
  echo "dirty=$dirty"
  echo "started=$started_at"
  echo "wall_s=$((SECONDS - started_s))"
  echo "nproc=$(nproc)"
  echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "loadavg_start=$loadavg_start"
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mem_total=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "dotnet=$(dotnet --version)"
  echo "clickhouse=$(ch 'SELECT version()' | tr -d '\n')"
  echo "redis=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')"
  echo "settings=DURATION=$DURATION s per scenario, WARMUP=$WARMUP s, IDLE=$IDLE s, CONCURRENCY=$CONCURRENCY, OPEN_CONCURRENCY=$OPEN_CONCURRENCY, $EVENTS events per request, half rate $half_rate requests/s (of the gateway's peak: $acked_peak events/s acked, $peak stored end to end), READ_RATE=$READ_RATE for READS=$READS s, SEED_REQUESTS=$SEED_REQUESTS, SUSTAINED=$SUSTAINED s, OUTAGE=$OUTAGE s ($OUTAGE_STOP; load $OUTAGE_LEAD s before, $OUTAGE_TAIL s after), FLOOD=$FLOOD s per phase ($FLOOD_QUIET quiet tenants at $FLOOD_QUIET_RATE requests/s of $FLOOD_QUIET_EVENTS events; $FLOOD_CONCURRENCY flooding senders of $FLOOD_EVENTS events, limit $FLOOD_LIMIT events/s, burst $FLOOD_BURST, retry $FLOOD_RETRY), DRAIN_TIMEOUT=$DRAIN_TIMEOUT s, SETTLE=$SETTLE s"
  # ingest's own view at the end (log, ship lag, inserts): the names the report reads, as the exporter spells them.
  curl -sf "$ingest_url/metrics" >"$OUT/ingest-metrics.txt" 2>/dev/null || true
  for c in gateway ingest redis clickhouse; do
    echo "vmhwm_kb_$c=$(awk '/^VmHWM/ { print $2 }' "/proc/${pid_of[$c]}/status" 2>/dev/null || echo 0)"
  done
} >"$OUT/meta.txt"
stop_all
status=0
dotnet "$bench_dll" report "$OUT" || status=$?
echo "results: $OUT/results.md"
exit "$status"
