#!/usr/bin/env bash
# What the cluster costs beside one server, measured in one run (see perf/README.md, "The cluster beside one server"):
#   bash perf/Cluster/run.sh
# Installs redis-server, clickhouse-server and zookeeper when missing, builds Release, then measures two setups one after
# the other on this machine, each with the same LoadGen bodies straight to ingest (Redis dedup, its write-ahead log):
#   single   one clickhouse-server 18.16 (perf/lib/stack.sh's, as the benchmark runs it)
#   cluster  the local cluster of tools/local-cluster: ZooKeeper, shard 1 with two replicas, shard 2 with one; ingest
#            with Storage:ClickHouse:Cluster (schema ON CLUSTER, Replicated tables behind Distributed ones), connected to
#            shard 1's first replica
# and in each: a warm-up, the closed-model peak (events/s acked, and stored end to end: over the load plus the log's
# drain) and an open-model run at one fixed rate for both setups (RATE, default half the first setup's end-to-end
# peak), so CPU per event compares at equal load. Every run is verified (every acked event stored, none counted twice)
# and its CPU window includes the drain, so each server's work on the run's events is charged to it. Writes
# $OUT/results.md and stops everything it started on exit.
#
# Knobs (environment), with defaults:
#   DURATION=20   seconds per measured run     WARMUP=5   seconds of warm-up per setup
#   CONCURRENCY=32  closed-model senders       OPEN_CONCURRENCY=256  open-model cap on requests in flight
#   RATE          requests/s (100 events each) of the fixed-rate runs (default: half the first setup's end-to-end peak)
#   ORDER=single,cluster  which setup runs first (the machine's load drifts: run both orders to see how much)
#   DRAIN_TIMEOUT=300  seconds a run waits for ingest's log to drain
#   OUT=perf-results/cluster-<time>
# With the defaults a run takes about 5 minutes here, build included.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20}; WARMUP=${WARMUP:-5}; CONCURRENCY=${CONCURRENCY:-32}; OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-256}
RATE=${RATE:-}; DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}; ORDER=${ORDER:-single,cluster}
OUT=${OUT:-perf-results/cluster-$(date -u +%Y%m%d-%H%M%S)}
EVENTS=100
command_line=""
for knob in DURATION WARMUP CONCURRENCY OPEN_CONCURRENCY RATE DRAIN_TIMEOUT ORDER OUT; do
  if printenv "$knob" >/dev/null; then command_line+="$knob=$(printf '%q' "${!knob}") "; fi
done
command_line+="bash perf/Cluster/run.sh"
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ); started_s=$SECONDS
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); dirty=$(git status --porcelain 2>/dev/null | wc -l)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)

[ -f /usr/share/java/zookeeper.jar ] || bash .ci/install-servers.sh zookeeper
# shellcheck source=../lib/stack.sh
source perf/lib/stack.sh
stack_init
stack_build ingest/Platform.Ingest.csproj devtoken/Platform.DevToken.csproj perf/LoadGen/Platform.Perf.LoadGen.csproj \
  perf/Bench/Platform.Perf.Bench.csproj tools/local-cluster/Platform.LocalCluster.csproj
cluster_dll=$(stack_bin tools/local-cluster Platform.LocalCluster)
stack_ports
start_redis
wait_for redis redis_up
stack_auth

hz=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$hz" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
field() { sed -n "s/^  \"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n 1; }
drain_of() { sed -n 's/^    "log_drain_wait_s": \([0-9.]*\).*/\1/p' "$1" | head -n 1; }
p99_of() { sed -n 's/^    "p99": \([0-9.]*\).*/\1/p' "$1" | head -n 1; }

# The processes measured in the current setup: name -> pid (ingest, redis, and the ClickHouse and ZooKeeper servers).
declare -A measured=()
declare -A before=()
window_start() { for name in "${!measured[@]}"; do before[$name]=$(cpu_ms "${measured[$name]}"); done; }
# window_end DIR: each process's CPU over the window into DIR/cpu.txt as name=ms.
window_end() {
  : >"$1/cpu.txt"
  for name in "${!measured[@]}"; do echo "$name=$(( $(cpu_ms "${measured[$name]}") - ${before[$name]} ))" >>"$1/cpu.txt"; done
}

# run SETUP NAME ARGS...: one verified LoadGen run straight to ingest as tenant SETUP-NAME, its CPU window around it.
run() {
  local setup=$1 name=$2; shift 2
  local dir="$OUT/$setup-$name" tenant="$setup-$name"
  mkdir -p "$dir"
  token "$tenant" group_api >"$work/token-$tenant"
  echo "== $setup $name"
  window_start
  local status=0
  dotnet "$loadgen_dll" --out "$dir/load" --target "$ingest_url" --token-file "$work/token-$tenant" --tenant "$tenant" \
    --events "$EVENTS" --verify-clickhouse "$verify_url" --verify-database platform --ingest-metrics "$ingest_url/metrics" \
    --drain-timeout "$DRAIN_TIMEOUT" "$@" >"$dir/load.log" 2>&1 || status=$?
  window_end "$dir"
  echo "exit=$status" >>"$dir/cpu.txt"
  grep -E '^\| (events acked|statuses|latency p99) ' "$dir/load.log" | sed 's/^/   /' || true
}

# setup SETUP: warm-up, the peak, the fixed-rate run.
measure() {
  local setup=$1
  token "$setup-warmup" group_api >"$work/token-$setup-warmup"
  dotnet "$loadgen_dll" --out "$OUT/$setup-warmup" --target "$ingest_url" --token-file "$work/token-$setup-warmup" \
    --model closed --concurrency "$CONCURRENCY" --duration "$WARMUP" >"$work/$setup-warmup.log" 2>&1 || true
  run "$setup" peak --model closed --concurrency "$CONCURRENCY" --duration "$DURATION"
  if [ -z "$RATE" ]; then
    # Half of what the first setup sustained end to end (acked events over the load plus the log's drain).
    local summary="$OUT/$setup-peak/load/summary.json"
    RATE=$(awk -v a="$(field "$summary" events_acked)" -v t="$(field "$summary" elapsed_s)" -v d="$(drain_of "$summary")" -v e="$EVENTS" \
      'BEGIN { s = (t + d > 0) ? a / (t + d) : 0; r = s / e / 2; if (r < 1) r = 1; printf "%.1f", r }')
    echo "   fixed rate for both setups: $RATE requests/s"
  fi
  run "$setup" rate --model open --rate "$RATE" --concurrency "$OPEN_CONCURRENCY" --duration "$DURATION"
}

# --- the setups ----------------------------------------------------------------------------------------------------------
single() {
  start_clickhouse
  wait_for clickhouse clickhouse_up
  start_ingest --Log:Directory="$work/ingest-log-single"
  wait_for ingest ingest_up
  verify_url="$ch_url/"
  measured=([ingest]=${pid_of[ingest]} [redis]=${pid_of[redis]} [clickhouse]=${pid_of[clickhouse]})
  measure single
  for name in ingest clickhouse; do
    kill "${pid_of[$name]}" 2>/dev/null || true; wait "${pid_of[$name]}" 2>/dev/null || true
  done
}

cluster() {
  rm -f "$work/cluster.env"
  dotnet "$cluster_dll" --dir "$work/cluster" --env-file "$work/cluster.env" >>"$work/cluster.log" 2>&1 &
  pids+=($!); pid_of[cluster]=$!
  for _ in $(seq 300); do [ -f "$work/cluster.env" ] && break; sleep 0.2; done
  [ -f "$work/cluster.env" ] || { echo "the local cluster did not come up:" >&2; tail -20 "$work/cluster.log" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$work/cluster.env"
  start_ingest --Log:Directory="$work/ingest-log-cluster" --Storage:ClickHouse:Cluster="$CLUSTER" \
    --Storage:ClickHouse:ConnectionString="Host=127.0.0.1;Port=$CH_0_HTTP;Username=default;Password="
  wait_for ingest ingest_up
  # The checks read through the Distributed tables; their IN subqueries over them must be GLOBAL.
  verify_url="http://127.0.0.1:$CH_0_HTTP/?distributed_product_mode=global"
  measured=([ingest]=${pid_of[ingest]} [redis]=${pid_of[redis]} [zookeeper]=$ZK_PID)
  for ((n = 0; n < CH_NODES; n++)); do
    name_var="CH_${n}_NAME"; pid_var="CH_${n}_PID"; measured[clickhouse-${!name_var}]=${!pid_var}
  done
  measure cluster
  for name in ingest cluster; do
    kill "${pid_of[$name]}" 2>/dev/null || true; wait "${pid_of[$name]}" 2>/dev/null || true
  done
}

for setup in ${ORDER//,/ }; do
  case "$setup" in single|cluster) "$setup" ;; *) echo "ORDER names single and cluster" >&2; exit 2 ;; esac
done

# --- report ---------------------------------------------------------------------------------------------------------
stop_all
{
  echo "# The cluster beside one server"
  echo
  echo "\`$command_line\` at $started_at, commit \`$commit\`$([ "$dirty" -gt 0 ] && echo " (+$dirty uncommitted files)"), $((SECONDS - started_s)) s."
  echo "$(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo);"
  echo "load average $loadavg_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (the machine is shared: other work runs beside this)."
  echo "$EVENTS events per request, straight to ingest; DURATION=$DURATION s, CONCURRENCY=$CONCURRENCY; fixed rate $RATE requests/s in both setups; order $ORDER."
  echo
  echo "| setup | run | events/s acked | events/s stored end to end | p99 ms | ingest µs/event | ClickHouse µs/event | ZooKeeper µs/event | all servers µs/event | checks |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for setup in ${ORDER//,/ }; do
    for run in peak rate; do
      dir="$OUT/$setup-$run"; summary="$dir/load/summary.json"
      acked=$(field "$summary" events_acked); elapsed=$(field "$summary" elapsed_s); drain=$(drain_of "$summary")
      p99=$(p99_of "$summary")
      awk -F= -v acked="${acked:-0}" -v elapsed="${elapsed:-0}" -v drain="${drain:-0}" -v setup="$setup" -v run="$run" -v p99="${p99:-?}" '
        /^exit=/ { status = $2; next }
        { cpu[$1] = $2 }
        END {
          per = (acked > 0) ? 1000 / acked : 0
          ch = 0; nodes = ""
          for (name in cpu) if (name ~ /^clickhouse/) {
            ch += cpu[name]
            if (name != "clickhouse") nodes = nodes sprintf("%s%s %.0f", (nodes == "") ? "" : ", ", substr(name, 12), cpu[name] * per)
          }
          all = 0; for (name in cpu) all += cpu[name]
          chText = sprintf("%.0f", ch * per); if (nodes != "") chText = chText " (" nodes ")"
          zk = "–"; if ("zookeeper" in cpu) zk = sprintf("%.0f", cpu["zookeeper"] * per)
          runText = (run == "peak") ? "peak (closed)" : "fixed rate (open)"
          ackedRate = (elapsed > 0) ? acked / elapsed : 0
          storedRate = (elapsed + drain > 0) ? acked / (elapsed + drain) : 0
          p99Text = (p99 == "?") ? "?" : sprintf("%.0f", p99)
          checks = (status == 0) ? "passed" : "FAILED (exit " status ")"
          printf "| %s | %s | %.0f | %.0f | %s | %.0f | %s | %s | %.0f | %s |\n", setup, runText, ackedRate, storedRate, p99Text,
            cpu["ingest"] * per, chText, zk, all * per, checks
        }' "$dir/cpu.txt"
    done
  done
  echo
  echo "CPU per event is each process's user + system CPU over the run and the log's drain after it, over the events acked;"
  echo "\"all servers\" adds Redis. LoadGen's own reports are in each run's load/ directory."
} >"$OUT/results.md"
cat "$OUT/results.md"
status=0
for setup in ${ORDER//,/ }; do for run in peak rate; do
  grep -q '^exit=0$' "$OUT/$setup-$run/cpu.txt" || { echo "FAILED: $setup $run (see $OUT/$setup-$run/load.log)" >&2; status=1; }
done; done
echo "results: $OUT/results.md"
exit "$status"
