#!/usr/bin/env bash
# Bounded loopback load through ingest (no gateway) on one backend, with insert batch sizes from ingest's debug log.
#   bash perf/IngestLoad/run.sh duckdb                       # DuckDB + in-memory dedup (the embedded defaults)
#   bash perf/IngestLoad/run.sh clickhouse [redis]           # ClickHouse (+ Redis dedup); starts its own servers
# Optional: REQUESTS=2000 EVENTS=100 CONCURRENCY=32 (each request has EVENTS distinct events).
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?duckdb or clickhouse}; dedup=${2:-inmemory}
requests=${REQUESTS:-2000}; events=${EVENTS:-100}; concurrency=${CONCURRENCY:-32}
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dotnet build -c Release -v q perf/IngestLoad/Platform.Perf.IngestLoad.csproj >/dev/null
dotnet build -c Release -v q ingest/Platform.Ingest.csproj >/dev/null
dotnet build -c Release -v q devtoken/Platform.DevToken.csproj >/dev/null

settings=(--Storage:DuckDb:DataDirectory="$work/duckdb")
if [ "$backend" = clickhouse ]; then
  ch_http=$(free_port); ch_tcp=$(free_port); mkdir -p "$work/ch"/{data,tmp,user_files}
  cat >"$work/ch/config.xml" <<XML
<yandex><logger><level>warning</level><console>1</console></logger><listen_host>127.0.0.1</listen_host>
<http_port>$ch_http</http_port><tcp_port>$ch_tcp</tcp_port><path>$work/ch/data/</path><tmp_path>$work/ch/tmp/</tmp_path>
<user_files_path>$work/ch/user_files/</user_files_path><users_config>users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database><mark_cache_size>268435456</mark_cache_size></yandex>
XML
  cat >"$work/ch/users.xml" <<XML
<yandex><profiles><default></default></profiles><users><default><password></password><networks><ip>127.0.0.1</ip></networks>
<profile>default</profile><quota>default</quota></default></users><quotas><default></default></quotas></yandex>
XML
  (cd "$work/ch" && exec clickhouse-server --config-file="$work/ch/config.xml" >"$work/ch.log" 2>&1) & pids+=($!)
  until curl -sf "http://127.0.0.1:$ch_http/?query=SELECT%201" >/dev/null; do sleep 0.2; done
  settings+=(--Storage:Backend=ClickHouse --Storage:ClickHouse:ConnectionString="Host=127.0.0.1;Port=$ch_http;Username=default;Password=" --Log:Directory="$work/ingest-log")
fi
if [ "$dedup" = redis ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --save "" --appendonly no --bind 127.0.0.1 --daemonize no >"$work/redis.log" 2>&1 & pids+=($!)
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done
  settings+=(--Dedup:Backend=Redis --Dedup:Redis:ConnectionString="127.0.0.1:$redis_port")
fi

port=$(free_port)
ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development \
  dotnet ingest/bin/Release/net10.0/Platform.Ingest.dll --urls "http://127.0.0.1:$port" \
  --Auth:Issuer=platform-dev --Auth:DevKeyDirectory="$work/keys" --Logging:LogLevel:Default=Warning \
  --Logging:LogLevel:Platform.Ingest.Writing.BatchWriter=Debug "${settings[@]}" >"$work/ingest.log" 2>&1 & pids+=($!)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/healthz/ready" >/dev/null || { echo "ingest did not become ready:"; tail -20 "$work/ingest.log"; exit 1; }
token=$(dotnet devtoken/bin/Release/net10.0/Platform.DevToken.dll --tenant load --key-dir "$work/keys")

echo "== $backend, dedup $dedup"
dotnet perf/IngestLoad/bin/Release/net10.0/Platform.Perf.IngestLoad.dll "http://127.0.0.1:$port" "$token" 200 "$events" "$concurrency" >/dev/null || true  # warm-up
lines_before=$(wc -l <"$work/ingest.log")
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.before"
dotnet perf/IngestLoad/bin/Release/net10.0/Platform.Perf.IngestLoad.dll "http://127.0.0.1:$port" "$token" "$requests" "$events" "$concurrency" || true
# (DuckDB's writer logs each insert; on ClickHouse the shipper does not, and the metrics below tell it instead.)
tail -n +"$((lines_before + 1))" "$work/ingest.log" | { grep -o 'Inserted [0-9]* events from [0-9]* requests in [0-9.]* ms' || true; } |
  awk '{ print $2, $8 }' | sort -n | awk '{ n++; e += $1; ms += $2; sizes[n] = $1 } END {
    if (n == 0) { print "no inserts logged"; exit }
    printf "inserts %d, events per insert: mean %.0f, median %d, max %d; mean insert time %.1f ms\n", n, e / n, sizes[int((n + 1) / 2)], sizes[n], ms / n }'

# The same run as ingest's own metrics tell it (scraped before and after the measured run): they must agree with the
# load tool's report above, so an operator reading only /metrics sees the same events/s, error mix and batch sizes.
# On ClickHouse the load's events are acked from the write-ahead log; the shipper's work (and its garbage) belongs to
# the run too, so wait for the log to drain before the second scrape.
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^platform_ingest_log_bytes{[^}]*} 0$\|^platform_ingest_log_bytes 0$' && break
  [ "$backend" = clickhouse ] || break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.after"
awk '
  { line = $0; sub(/ [0-9]+$/, "", line) }                       # drop a trailing timestamp, if any
  FNR == 1 { file++ }
  /^#/ { next }
  {
    name = $1; labels = ""
    if (index(name, "{") > 0) { labels = substr(name, index(name, "{")); name = substr(name, 1, index(name, "{") - 1) }
    value = $2 + 0; sign = (file == 1) ? -1 : 1
    if (name == "platform_ingest_events_accepted_total") accepted += sign * value
    if (name == "platform_ingest_events_deduplicated_total") duplicates += sign * value
    if (name == "platform_ingest_events_rejected_total") { match(labels, /reason="[a-z_]+"/); rejected[substr(labels, RSTART + 8, RLENGTH - 9)] += sign * value }
    if (name == "platform_ingest_insert_events_count") inserts += sign * value
    if (name == "platform_ingest_insert_events_sum") inserted += sign * value
    if (name == "platform_ingest_insert_duration_seconds_bucket") { match(labels, /le="[^"]+"/); le = substr(labels, RSTART + 4, RLENGTH - 5); bucket[le] += sign * value }
    if (name == "dotnet_gc_heap_total_allocated_bytes_total") allocated += sign * value
    if (name == "dotnet_gc_pause_time_seconds_total") paused += sign * value
    if (name == "dotnet_gc_collections_total") { match(labels, /gc_heap_generation="gen[0-9]"/); collections[substr(labels, RSTART + 20, RLENGTH - 21)] += sign * value }
  }
  END {
    # The runtime view of the same run: garbage per event and what collecting it cost, the shipper included.
    printf "gc: %.0f bytes allocated per accepted event, %.2f s paused, collections gen0 %d gen1 %d gen2 %d\n",
      (accepted ? allocated / accepted : 0), paused, collections["gen0"], collections["gen1"], collections["gen2"]
    printf "metrics: events accepted %d, deduplicated %d, rejected", accepted, duplicates
    for (r in rejected) printf " %s=%d", r, rejected[r]
    printf "; inserts %d, events per insert mean %.0f", inserts, (inserts ? inserted / inserts : 0)
    total = bucket["+Inf"]; n = 0
    for (le in bucket) if (le != "+Inf") bounds[++n] = le + 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (bounds[j] < bounds[i]) { t = bounds[i]; bounds[i] = bounds[j]; bounds[j] = t }
    for (i = 1; i <= n; i++) { key = bounds[i] ""; for (le in bucket) if (le + 0 == bounds[i]) key = le; if (bucket[key] >= 0.99 * total) { printf "; p99 insert <= %s s\n", key; exit } }
    printf "; p99 insert > %s s\n", bounds[n]
  }' "$work/metrics.before" "$work/metrics.after"
