#!/usr/bin/env bash
# The noisy-neighbour scenario alone, in several variants back to back on one stack (perf/README.md, "Noisy neighbours"):
#   bash perf/Bench/flood.sh                         # retry, limit-500, runaway
#   VARIANTS="retry retry" PHASE=30 bash perf/Bench/flood.sh
# Starts what the benchmark starts (perf/lib/stack.sh: Redis, ClickHouse, ingest with Redis dedup and event limits, the
# gateway), warms the path up, then per variant runs `LoadGen flood` through the gateway: QUIET quiet tenants at
# QUIET_RATE requests/s of QUIET_EVENTS events, PHASE s alone, then PHASE s under the flood (FLOOD_CONCURRENCY senders of
# FLOOD_EVENTS events). Variants: retry (limit FLOOD_LIMIT events/s, refused batches resent after Retry-After, as SDKs
# do), limit-500 (the same at 500 events/s), runaway (limit FLOOD_LIMIT, a refused batch resent at once, ignoring
# Retry-After), drop (limit FLOOD_LIMIT, a refused batch dropped and a new one sent at once: the load generator then builds
# a 1,000-event body per attempt, on the services' own cores, which is mostly what this variant measures).
# Every run's acked events are checked in storage. Writes $OUT/<variant>-<n>/flood.md and a summary; stops all it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
VARIANTS=${VARIANTS:-retry limit-500 runaway}; PHASE=${PHASE:-20}; QUIET=${QUIET:-10}; QUIET_RATE=${QUIET_RATE:-4}
QUIET_EVENTS=${QUIET_EVENTS:-100}; FLOOD_CONCURRENCY=${FLOOD_CONCURRENCY:-32}; FLOOD_EVENTS=${FLOOD_EVENTS:-1000}
FLOOD_LIMIT=${FLOOD_LIMIT:-2000}
OUT=${OUT:-perf-results/flood-$(date -u +%Y%m%d-%H%M%S)}

# shellcheck source=../lib/stack.sh
source perf/lib/stack.sh
stack_init
stack_build ingest/Platform.Ingest.csproj gateway/Platform.Gateway.csproj devtoken/Platform.DevToken.csproj \
  perf/LoadGen/Platform.Perf.LoadGen.csproj perf/Bench/Platform.Perf.Bench.csproj
stack_ports
start_storage
stack_auth
quiet=(); for i in $(seq "$QUIET"); do quiet+=("quiet-$(printf '%02d' "$i")"); done
quiet_csv=$(IFS=,; echo "${quiet[*]}")
# One flooding tenant per variant, so each starts with a full bucket; the quiet tenants keep the default event limit.
event_limits=(--EventLimits:Tenants:warm-up:EventsPerSecond=1000000 --EventLimits:Tenants:warm-up:Burst=1000000)
gateway_limits=()
n=0
for variant in $VARIANTS; do
  n=$((n + 1))
  case $variant in limit-500) limit=500 ;; retry|runaway|drop) limit=$FLOOD_LIMIT ;; *) echo "unknown variant $variant" >&2; exit 2 ;; esac
  event_limits+=(--EventLimits:Tenants:flood-$n:EventsPerSecond="$limit" --EventLimits:Tenants:flood-$n:Burst=$((limit * 2)))
done
for t in "${quiet[@]}" warm-up $(seq -f 'flood-%g' "$n"); do
  gateway_limits+=(--RateLimiting:Tenants:"$t":RequestsPerSecond=100000 --RateLimiting:Tenants:"$t":Burst=100000)
done
start_ingest "${event_limits[@]}"
# GATEWAY_SETTINGS: more gateway settings, e.g. "--RateLimiting:HoldEventLimitedTenants=false" for an A/B run.
# shellcheck disable=SC2086
start_gateway "${gateway_limits[@]}" ${GATEWAY_SETTINGS:-}
wait_for ingest ingest_up
wait_for gateway gateway_up
create_raw_audit
for t in "${quiet[@]}" warm-up $(seq -f 'flood-%g' "$n"); do token "$t" group_api >"$work/token-$t"; done
echo "== warm-up"
dotnet "$loadgen_dll" --out "$OUT/warm-up" --target "$gateway_url" --token-file "$work/token-warm-up" --model closed \
  --concurrency 16 --duration 10 >"$work/warm-up.log" 2>&1 || true

# Before each variant, up to 60 s for a quiet second of gateway, ingest and ClickHouse (the previous variant's drain and
# merges must not land in the next one's baseline).
hz=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$hz" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
settle() {
  for _ in $(seq 60); do
    local g0 i0 c0; g0=$(cpu_ms "${pid_of[gateway]}"); i0=$(cpu_ms "${pid_of[ingest]}"); c0=$(cpu_ms "${pid_of[clickhouse]}"); sleep 1
    [ $(( $(cpu_ms "${pid_of[gateway]}") - g0 )) -lt 50 ] && [ $(( $(cpu_ms "${pid_of[ingest]}") - i0 )) -lt 50 ] &&
      [ $(( $(cpu_ms "${pid_of[clickhouse]}") - c0 )) -lt 100 ] && break
  done
}

summary="$OUT/summary.md"
{
  echo "# Noisy neighbours, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo
  echo "| variant | load average before | quiet p50 alone → under the flood | quiet p99 alone → under the flood | p99 ratio | quiet refused | flood attempts/s, 429s | flood events acked/s (limit) | storage |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$summary"
status=0; n=0
for variant in $VARIANTS; do
  n=$((n + 1))
  case $variant in limit-500) limit=500 ;; *) limit=$FLOOD_LIMIT ;; esac
  extra=()
  case $variant in runaway) extra=(--flood-no-wait) ;; drop) extra=(--flood-no-retry) ;; esac
  settle
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "== $variant (load average $load)"
  dir="$OUT/$variant-$n"
  code=0
  dotnet "$loadgen_dll" flood --out "$dir" --target "$gateway_url" --flood-tenant "flood-$n" --flood-token-file "$work/token-flood-$n" \
    --flood-concurrency "$FLOOD_CONCURRENCY" --flood-events "$FLOOD_EVENTS" --flood-limit "$limit" --flood-burst $((limit * 2)) \
    ${extra[@]+"${extra[@]}"} --quiet-tenants "$quiet_csv" --quiet-token-dir "$work" --quiet-rate "$QUIET_RATE" \
    --quiet-events "$QUIET_EVENTS" --quiet-concurrency 256 --baseline "$PHASE" --duration "$PHASE" \
    --verify-clickhouse "$ch_url" --verify-database platform --verify-raw-table bench_audit.events_raw \
    --ingest-metrics "$ingest_url/metrics" >"$dir.log" 2>&1 || code=$?
  [ "$code" = 0 ] || status=1
  python3 - "$dir/flood.json" "$variant" "$load" "$limit" >>"$summary" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); q = d["quiet_all"]; f = d["flood"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {q['baseline_p50_ms']:.1f} → {q['flood_p50_ms']:.1f} ms | {q['baseline_p99_ms']:.0f} → {q['flood_p99_ms']:.0f} ms "
      f"| {q['p99_ratio']:.2f} | {q['refusals']} | {f['attempts'] / f['elapsed_s']:.1f}/s, {f['refused_429']} | "
      f"{f['events_acked'] / f['elapsed_s']:,.0f} ({sys.argv[4]}) | {d['storage_runs_passed']} of {d['storage_runs']} runs passed |")
PY
  tail -n 1 "$summary"
done
echo; cat "$summary"; echo "results: $OUT"
exit "$status"
