#!/usr/bin/env bash
# The fault suite of issue 14 (see perf/README.md, "The fault suite"):
#   bash perf/Faults/run.sh
# Starts its own Redis, ClickHouse, ingest and gateway on free 127.0.0.1 ports (perf/lib/stack.sh, shared with the
# benchmark), then for each fault in turn runs a retrying client (LoadGen --retry: every batch resent with the same body
# until answered 200, Retry-After honoured) through the gateway under open-model load, kills or pauses one process in the
# middle, brings it back, and after the load waits for ingest's log to drain and verifies storage: every acked event
# stored, none twice, every batch delivered. Writes $OUT/results.md with one row per fault; exits non-zero when a fault
# lost or doubled an event, left a batch undelivered, or a client saw an answer outside the contract.
#
# Knobs (environment), with defaults:
#   FAULTS="ingest-kill ingest-stop redis-kill redis-stop clickhouse-kill clickhouse-stop gateway-kill"
#   RATE=10          batches/s (open model)                  EVENTS=50        events per batch
#   LEAD=5           seconds of load before the fault        DOWN=5           seconds a killed process stays down
#   PAUSE=10         seconds a paused process stays stopped  TAIL=10          seconds of load after it is back
#   RETRY_DEADLINE=120  seconds a batch is retried before it counts as undelivered
#   DRAIN_TIMEOUT=120   seconds to wait for ingest's log to drain before the checks
#   CONFIGURATION=Release  the build the services run from     BUILD=1          0 uses that build as it is (CI)
#   OUT=perf-results/faults-<time>
# With the defaults one run took 4½ minutes on our busy 2-core machine with the build up to date (see perf/README.md);
# .ci/run runs two faults with shorter windows in about two minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

FAULTS=${FAULTS:-ingest-kill ingest-stop redis-kill redis-stop clickhouse-kill clickhouse-stop gateway-kill}
RATE=${RATE:-10}; EVENTS=${EVENTS:-50}; LEAD=${LEAD:-5}; DOWN=${DOWN:-5}; PAUSE=${PAUSE:-10}; TAIL=${TAIL:-10}
RETRY_DEADLINE=${RETRY_DEADLINE:-120}; DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
OUT=${OUT:-perf-results/faults-$(date -u +%Y%m%d-%H%M%S)}
for fault in $FAULTS; do
  case "$fault" in
    ingest-kill|ingest-stop|redis-kill|redis-stop|clickhouse-kill|clickhouse-stop|gateway-kill|gateway-stop) ;;
    *) echo "unknown fault '$fault': <ingest|redis|clickhouse|gateway>-<kill|stop>" >&2; exit 2 ;;
  esac
done
command_line=""
for knob in FAULTS RATE EVENTS LEAD DOWN PAUSE TAIL RETRY_DEADLINE DRAIN_TIMEOUT CONFIGURATION BUILD OUT; do
  if printenv "$knob" >/dev/null; then command_line+="$knob=$(printf '%q' "${!knob}") "; fi
done
command_line+="bash perf/Faults/run.sh"
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ); started_s=$SECONDS
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# shellcheck source=../lib/stack.sh
source perf/lib/stack.sh
stack_init
stack_build ingest/Platform.Ingest.csproj gateway/Platform.Gateway.csproj devtoken/Platform.DevToken.csproj \
  perf/LoadGen/Platform.Perf.LoadGen.csproj perf/Bench/Platform.Perf.Bench.csproj
stack_ports
stack_auth

# The dedup Redis keeps its keys over a restart (append-only file, fsync on every write), as a production one with
# persistence does: without it a restart forgets every reservation and commit, and storage collapsing the repeats is
# all that stands between a retry and a second row (docs/decisions.md, "Redis failover or lost keys").
redis_args=(--appendonly yes --appendfsync always)
start_storage "${redis_args[@]}"
start_ingest
tenants=(); for fault in $FAULTS; do tenants+=("faults-$fault"); done
# Limits far above the load: a 429 here would be the limiter, not a fault.
limits=()
for t in "${tenants[@]}"; do limits+=(--RateLimiting:Tenants:"$t":RequestsPerSecond=100000 --RateLimiting:Tenants:"$t":Burst=100000); done
start_gateway "${limits[@]}"
wait_for ingest ingest_up
wait_for gateway gateway_up
create_raw_audit

now() { awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t }'; }
# restart NAME: the process again on the same ports and data, and when it answers.
restart() {
  case "$1" in
    ingest) start_ingest ;;
    redis) start_redis "${redis_args[@]}" ;;
    clickhouse) start_clickhouse ;;
    gateway) start_gateway "${limits[@]}" ;;
  esac
  wait_for "$1" "$1_up"
}

rows=()
status=0
for fault in $FAULTS; do
  name=${fault%-*}; how=${fault##*-}
  dir="$OUT/$fault"; mkdir -p "$dir"
  tenant="faults-$fault"
  token "$tenant" group_api >"$work/token-$tenant"
  restarts=(); [ "$fault" = ingest-kill ] && restarts=(--ingest-restarts)
  down=$DOWN; [ "$how" = stop ] && down=$PAUSE
  echo "== $fault: ${LEAD} s of load, $name $([ "$how" = kill ] && echo "killed for" || echo "paused for") $down s, ${TAIL} s of load after"
  dotnet "$loadgen_dll" --out "$dir/load" --target "$gateway_url" --token-file "$work/token-$tenant" --tenant "$tenant" \
    --retry --retry-deadline "$RETRY_DEADLINE" --model open --rate "$RATE" --concurrency 1000 --events "$EVENTS" \
    --duration $((LEAD + down + TAIL)) --max-error-rate 0 \
    --verify-clickhouse "$ch_url" --verify-database platform --verify-raw-table bench_audit.events_raw \
    --ingest-metrics "$ingest_url/metrics" --drain-timeout "$DRAIN_TIMEOUT" ${restarts[@]+"${restarts[@]}"} \
    >"$dir/load.log" 2>&1 &
  run_pid[load]=$!
  sleep "$LEAD"
  pid=${pid_of[$name]}
  fault_at=$(now)
  if [ "$how" = kill ]; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    sleep "$DOWN"
    restart "$name"
  else
    kill -STOP "$pid"; sleep "$PAUSE"; kill -CONT "$pid"
  fi
  back_at=$(now)
  { echo "fault=$fault"; echo "fault_at=$fault_at"; echo "back_at=$back_at"; } >"$dir/fault.txt"
  load_status=0; wait "${run_pid[load]}" || load_status=$?; unset "run_pid[load]"
  [ "$load_status" = 0 ] || status=1
  r="$dir/load/retry.txt"
  get() { sed -n "s/^$1=//p" "$r" 2>/dev/null | head -n 1; }
  # Batches first sent before the process was back and delivered after it: the last one's delivery, from the return.
  last=$(awk -F, -v b="$back_at" 'NR > 1 && $1 < b && $2 != "" && $2 > m { m = $2 } END { if (m > b) printf "%.1f", m - b; else print "0" }' \
    "$dir/load/deliveries.csv" 2>/dev/null || echo "?")
  ms() { awk -v v="$1" 'BEGIN { if (v == "") print "–"; else printf "%.1f s", v / 1000 }'; }
  non_contract=$(get non_contract)
  [ "${non_contract:-1}" = 0 ] || status=1
  row="| $fault | $(get attempts) | $(get statuses) | ${non_contract:-?} | $(get delivered)/$(get batches) | $(ms "$(get delivery_p99_ms)") | $(ms "$(get delivery_max_ms)") | $last s | $(get lost) | $(get raw_repeats) | $(get verified) |"
  rows+=("$row")
  echo "   $row"
  grep '^non_contract_sample=' "$r" 2>/dev/null | sed 's/^/   /' || true
  [ "$load_status" = 0 ] || grep -E '^- |verification' "$dir/load.log" | head -n 10 | sed 's/^/   /' || true
done

loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
stop_all
{
  echo "# Fault suite"
  echo
  echo "\`$command_line\` at commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown), $started_at, $((SECONDS - started_s)) s;"
  echo "$(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average $loadavg_start at the start,"
  echo "$loadavg_end at the end. Per fault: $RATE batches/s of $EVENTS events through the gateway (open model), ${LEAD} s before"
  echo "the fault, the process killed for $DOWN s (then started again on the same data) or paused for $PAUSE s, ${TAIL} s after."
  echo
  echo "| fault | requests | statuses seen (0: no answer) | non-contract | batches delivered | delivery p99 | delivery max | back → last in-flight delivered | lost | raw repeats | verified |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  printf '%s\n' "${rows[@]}"
} >"$OUT/results.md"
cat "$OUT/results.md"
echo "results: $OUT/results.md"
exit "$status"
