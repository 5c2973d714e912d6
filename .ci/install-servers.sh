#!/usr/bin/env bash
# Installs, with apt-get and only when missing, the servers the tests and the benchmark start for themselves:
# redis-server (with redis-cli) and clickhouse-server (Debian's 18.16). More Debian package names may be given as
# arguments (the caller's own needs, already found missing), so a fresh machine runs one apt-get update and one install.
#   bash .ci/install-servers.sh [package ...]
set -euo pipefail

need=("$@")
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v clickhouse-server >/dev/null 2>&1 || need+=(clickhouse-server)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
