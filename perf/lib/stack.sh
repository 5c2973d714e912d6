# Shared by perf/Bench/run.sh and perf/Faults/run.sh (sourced, from the repository's root): builds the services in
# Release and starts Redis, ClickHouse 18.16 (config and data in $work/ch), ingest (ClickHouse storage, Redis dedup,
# write-ahead log in $work/ingest-log) and the gateway on free 127.0.0.1 ports, each restartable on the same data, and
# stops every process it started. The caller sets OUT (results, build log in $OUT/logs) and calls stack_init first.
# shellcheck shell=bash

# stack_init: the work directory, the process table and the cleanup on exit (the caller may chain its own stop first
# through stack_before_stop, a function it defines).
stack_init() {
  extra=()
  command -v curl >/dev/null 2>&1 || extra+=(curl)
  bash .ci/install-servers.sh ${extra[@]+"${extra[@]}"}
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
  mkdir -p "$OUT/logs"; OUT=$(cd "$OUT" && pwd)
  work=$(mktemp -d); pids=()
  declare -g -A pid_of=() run_pid=()
  trap stack_cleanup EXIT
  trap 'exit 130' INT TERM
}

# stack_build PROJECT...: builds in $CONFIGURATION (Release unless set), the log in $OUT/logs/build.log, then the paths
# of what was built. BUILD=0 skips the build and uses what is there (CI, right after `dotnet test Platform.sln` built
# every project in Debug).
stack_build() {
  CONFIGURATION=${CONFIGURATION:-Release}
  if [ "${BUILD:-1}" = 0 ]; then
    echo "not building: using the $CONFIGURATION build there is"
  else
    echo "building ($CONFIGURATION)"
    for project in "$@"; do
      dotnet build -c "$CONFIGURATION" -v q --nologo "$project" >"$OUT/logs/build.log" 2>&1 || { cat "$OUT/logs/build.log"; exit 1; }
    done
  fi
  ingest_dll=$(stack_bin ingest Platform.Ingest); gateway_dll=$(stack_bin gateway Platform.Gateway)
  devtoken_dll=$(stack_bin devtoken Platform.DevToken)
  # Each service runs from its output directory, as from its image's /app: the content root is the working directory,
  # and from anywhere else the service would start without its appsettings.json (and log every request at Information).
  ingest_dir=$(dirname "$ingest_dll"); gateway_dir=$(dirname "$gateway_dll")
  loadgen_dll=$(stack_bin perf/LoadGen Platform.Perf.LoadGen); bench_dll=$(stack_bin perf/Bench Platform.Perf.Bench)
}
stack_bin() { echo "$PWD/$1/bin/$CONFIGURATION/net10.0/$2.dll"; }

# Only our own children are signalled: a pid whose process ended may have been reused by someone else's process.
ours() { [ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$$" ]; }
stop_all() {
  if declare -F stack_before_stop >/dev/null; then stack_before_stop; fi
  local live=() p alive
  for p in "${pids[@]}" "${run_pid[@]}"; do
    # A paused process ignores SIGTERM until it runs again.
    ours "$p" && { live+=("$p"); kill -CONT "$p" 2>/dev/null || true; }
  done
  for p in "${live[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0; for p in "${live[@]}"; do ours "$p" && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.2
  done
  for p in "${live[@]}"; do ours "$p" && kill -9 "$p" 2>/dev/null; done
  pids=(); run_pid=()
}
stack_cleanup() {
  stop_all
  for log in "$work"/*.log; do if [ -f "$log" ]; then cp "$log" "$OUT/logs/" || true; fi; done
  rm -rf "$work"
}

# stack_ports: five free loopback ports for Redis, ClickHouse HTTP and native, ingest and the gateway.
stack_ports() {
  mapfile -t ports < <(dotnet "$bench_dll" free-ports 5)
  redis_port=${ports[0]}; ch_http=${ports[1]}; ch_tcp=${ports[2]}; ingest_port=${ports[3]}; gateway_port=${ports[4]}
  ingest_url="http://127.0.0.1:$ingest_port"; gateway_url="http://127.0.0.1:$gateway_port"; ch_url="http://127.0.0.1:$ch_http"
}

# start_redis [ARG...]: redis-server on its port, no persistence unless the arguments ask for it.
start_redis() {
  redis-server --port "$redis_port" --save "" --appendonly no --bind 127.0.0.1 --daemonize no --dir "$work" "$@" \
    >>"$work/redis.log" 2>&1 &
  pids+=($!); pid_of[redis]=$!
}

# start_clickhouse: its own config and data directory under $work, the same on every start.
start_clickhouse() {
  if [ ! -f "$work/ch/config.xml" ]; then
    mkdir -p "$work/ch"/{data,tmp,user_files,format_schemas}
    cat >"$work/ch/config.xml" <<XML
<?xml version="1.0"?>
<yandex><logger><level>warning</level><console>1</console></logger><listen_host>127.0.0.1</listen_host>
<http_port>$ch_http</http_port><tcp_port>$ch_tcp</tcp_port><path>$work/ch/data/</path><tmp_path>$work/ch/tmp/</tmp_path>
<user_files_path>$work/ch/user_files/</user_files_path><format_schema_path>$work/ch/format_schemas/</format_schema_path>
<users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>268435456</mark_cache_size><uncompressed_cache_size>268435456</uncompressed_cache_size></yandex>
XML
    cat >"$work/ch/users.xml" <<XML
<?xml version="1.0"?>
<yandex><profiles><default></default></profiles><users><default><password></password><networks><ip>127.0.0.1</ip></networks>
<profile>default</profile><quota>default</quota></default></users><quotas><default></default></quotas></yandex>
XML
  fi
  (cd "$work/ch" && exec clickhouse-server --config-file="$work/ch/config.xml" >>"$work/clickhouse.log" 2>&1) &
  pids+=($!); pid_of[clickhouse]=$!; echo "$!" >"$work/clickhouse.pid"
}

ch() { curl -sS --fail-with-body "http://127.0.0.1:$ch_http/" --data-binary "$1"; }
wait_for() { # what, command...: up to 60 s
  local what=$1; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$what did not come up; its log:" >&2; tail -20 "$work/$what.log" >&2; exit 1
}
redis_up() { redis-cli -p "$redis_port" ping; }
clickhouse_up() { curl -sf "$ch_url/?query=SELECT%201"; }
# Redis (arguments go to start_redis) and ClickHouse, started together and waited for.
start_storage() { start_redis "$@"; start_clickhouse; wait_for redis redis_up; wait_for clickhouse clickhouse_up; }
ingest_up() { curl -sf "$ingest_url/healthz/ready"; }
gateway_up() { curl -sf "$gateway_url/healthz/ready"; }

# Tokens: devtoken creates the key pair on first use; both services trust its public key (Production, no dev keys).
token() { dotnet "$devtoken_dll" --key-dir "$work/keys" --tenant "$1" --scope "$2" --lifetime 2h; }
auth=()
stack_auth() { token stack-keys group_api >/dev/null; auth=(--Auth:Issuer=platform-dev --Auth:PublicKeyFiles:0="$work/keys/dev.pem"); }

# start_ingest [ARG...]: ClickHouse storage, Redis dedup and cluster-wide event limits in the same Redis, its write-ahead
# log in $work/ingest-log (the same directory on every start, so a restarted ingest ships what the previous one logged).
start_ingest() {
  (cd "$ingest_dir" && exec dotnet "$ingest_dll" --urls "$ingest_url" "${auth[@]}" \
    --Storage:Backend=ClickHouse --Storage:ClickHouse:ConnectionString="Host=127.0.0.1;Port=$ch_http;Username=default;Password=" \
    --Dedup:Backend=Redis --Dedup:Redis:ConnectionString="127.0.0.1:$redis_port" --Redis:ConnectionString="127.0.0.1:$redis_port" \
    --Log:Directory="$work/ingest-log" "$@" \
    >>"$work/ingest.log" 2>&1) &
  pids+=($!); pid_of[ingest]=$!
}

# start_gateway [ARG...]: in front of ingest, rate limits in the same Redis (the arguments set tenants' limits).
start_gateway() {
  (cd "$gateway_dir" && exec dotnet "$gateway_dll" --urls "$gateway_url" "${auth[@]}" \
    --Proxy:IngestAddresses:0="$ingest_url" --Redis:ConnectionString="127.0.0.1:$redis_port" "$@" \
    >>"$work/gateway.log" 2>&1) &
  pids+=($!); pid_of[gateway]=$!
}

# A plain MergeTree copy of every event row ingest inserts (a materialized view never collapses anything), so the
# "none stored twice" check counts raw rows even after ReplacingMergeTree has merged duplicates away.
create_raw_audit() {
  ch "CREATE DATABASE IF NOT EXISTS bench_audit" >/dev/null
  ch "CREATE MATERIALIZED VIEW IF NOT EXISTS bench_audit.events_raw ENGINE = MergeTree() ORDER BY (tenant, event_id)
      AS SELECT tenant, event_id, message_id FROM platform.events" >/dev/null
}
