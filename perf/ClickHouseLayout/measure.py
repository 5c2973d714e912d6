#!/usr/bin/env python3
"""ClickHouse layout cost on ingest's own DDL (the method: docs/decisions.md, "The first layout study").

For each (layout, B): a fresh clickhouse-server (own ports, wiped data directory), ingest's schema at version 1 ("v1":
events + group_traits + two membership views) or the latest ("v2": one row per event + current_traits + user_groups
view); N realistic events (5,000 groups, 50,000 users, 3-17 traits, JSON text values) inserted with RowBinary over
HTTP in blocks of B at ~RATE events/s, exactly as ClickHouseEventStore writes them (v1: trait rows then event rows;
v2: one insert into events); then wait until merges settle (system.merges empty, active part counts unchanged for
SETTLE seconds). CPU = utime+stime of clickhouse-server over insert + settled merges, per event. Then read latency
(median of 5) of the store's two hot reads: groups counted by current planName, and 50 groups whose current planName
is "Pro".

Usage: python3 perf/ClickHouseLayout/measure.py [--events 300000] [--blocks 2000,20000] [--layouts v1,v2] [--runs 1]
Layouts: v1, v2, v3 (v2 with the current state sorted by trait key), v2-no-memberships (v2 without the user_groups
view, to size what memberships cost).
Needs clickhouse-server on PATH and a built ingest (dotnet build Platform.sln): the DDL comes from `clickhouse-ddl`.
"""
import argparse
import json
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INGEST_DLL = os.path.join(ROOT, "ingest", "bin", "Debug", "net10.0", "Platform.Ingest.dll")
DB = "platform"
TENANT = "acme"
PLANS = ['"Free"', '"Pro"', '"Team"', '"Enterprise"']


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="chlayout-")
        self.http, self.tcp = free_port(), free_port()
        for d in ("data", "tmp", "user_files", "format_schemas"):
            os.makedirs(os.path.join(self.root, d))
        with open(os.path.join(self.root, "config.xml"), "w") as f:
            f.write(f"""<?xml version="1.0"?><yandex>
<logger><level>warning</level><console>1</console></logger>
<listen_host>127.0.0.1</listen_host><http_port>{self.http}</http_port><tcp_port>{self.tcp}</tcp_port>
<path>{self.root}/data/</path><tmp_path>{self.root}/tmp/</tmp_path>
<user_files_path>{self.root}/user_files/</user_files_path><format_schema_path>{self.root}/format_schemas/</format_schema_path>
<users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>268435456</mark_cache_size><uncompressed_cache_size>268435456</uncompressed_cache_size>
</yandex>""")
        with open(os.path.join(self.root, "users.xml"), "w") as f:
            f.write("""<?xml version="1.0"?><yandex><profiles><default></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>""")
        self.log = open(os.path.join(self.root, "server.log"), "w")
        self.process = subprocess.Popen(["clickhouse-server", f"--config-file={self.root}/config.xml"],
                                        cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                if self.sql("SELECT 1").strip() == "1":
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("clickhouse-server did not start")

    def sql(self, query, body=None):
        if body is None:
            request = urllib.request.Request(f"http://127.0.0.1:{self.http}/", data=query.encode())
        else:
            request = urllib.request.Request(f"http://127.0.0.1:{self.http}/?query=" + urllib.parse.quote(query), data=body)
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                return response.read().decode()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{error.code}: {error.read().decode()[:500]} in: {query[:300]}") from None

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def ddl(version):
    """Ingest's statements up to schema version `version` (split where that version is recorded)."""
    text = subprocess.run(["dotnet", INGEST_DLL, "clickhouse-ddl", f"--Storage:ClickHouse:Database={DB}"],
                          check=True, capture_output=True, text=True).stdout
    statements, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.endswith(";"):
            statement = "\n".join(current)[:-1].strip()
            current = []
            statements.append(statement)
            if statement.startswith("INSERT INTO `platform`.`schema_migrations`") and f"VALUES ({version}," in statement:
                return statements
    return statements


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def s(text):
    data = text.encode()
    return varint(len(data)) + data


def ns(text):
    return b"\x01" if text is None else b"\x00" + s(text)


def u64(n):
    return struct.pack("<Q", n)


def make_events(count, seed=7):
    rng = random.Random(seed)
    keys = ["planName", "seats", "region", "industry", "employees", "mrr", "website", "createdAt", "status", "tier",
            "owner", "country", "city", "source", "segment", "health", "renewal"]
    base = 1_700_000_000_000_000
    events = []
    for i in range(count):
        group = f"group-{rng.randrange(5000):05d}"
        user = f"user-{rng.randrange(50000):06d}"
        n = rng.randint(3, 17)
        traits = [("group_type", '"Account"'), ("planName", rng.choice(PLANS))]
        for key in rng.sample(keys[1:], n - 2):
            value = rng.choice([str(rng.randrange(100000)), json.dumps(f"{key}-{rng.randrange(1000)}"), None if rng.random() < 0.02 else "true"])
            traits.append((key, value))
        traits.sort()
        events.append({
            "event_id": f"{rng.getrandbits(128):032x}", "message_id": f"m-{i}", "group_id": group, "user_id": user,
            "event_us": base + rng.randrange(30 * 86400) * 1_000_000 + rng.randrange(1_000_000),
            "traits": traits, "context": '{"ip":"10.0.0.1","library":{"name":"analytics-node","version":"3.1.0"}}',
        })
    return events


def traits_json(traits):
    return "{" + ",".join(f'"{k}":{"null" if v is None else v}' for k, v in traits) + "}"


def v1_inserts(block, received):
    events, trait_rows = bytearray(), bytearray()
    for e in block:
        events += s(TENANT) + s(e["event_id"]) + ns(e["message_id"]) + s(e["group_id"]) + s(e["user_id"]) + u64(e["event_us"])
        events += s("company") + s(traits_json(e["traits"])) + ns(e["context"]) + u64(received)
        for k, v in e["traits"]:
            trait_rows += s(TENANT) + s(e["group_id"]) + s(k) + u64(e["event_us"]) + s(e["event_id"]) + s(v or "") + bytes([1 if v is None else 0])
    return [
        ("INSERT INTO platform.group_traits (tenant, group_id, trait_key, event_us, event_id, value_json, cleared) FORMAT RowBinary", bytes(trait_rows)),
        ("INSERT INTO platform.events (tenant, event_id, message_id, group_id, user_id, event_us, group_type, traits_json, context_json, received_us) FORMAT RowBinary", bytes(events)),
    ]


def v2_inserts(block, received):
    rows = bytearray()
    for e in block:
        rows += s(TENANT) + s(e["event_id"]) + ns(e["message_id"]) + s(e["group_id"]) + s(e["user_id"]) + u64(e["event_us"]) + s("company")
        rows += varint(len(e["traits"])) + b"".join(s(k) for k, _ in e["traits"])
        rows += varint(len(e["traits"])) + b"".join(s(v or "") for _, v in e["traits"])
        rows += ns(e["context"]) + u64(received)
    return [("INSERT INTO platform.events (tenant, event_id, message_id, group_id, user_id, event_us, group_type, trait_keys, trait_values, context_json, received_us) FORMAT RowBinary", bytes(rows))]


# The store's reads (ClickHouseEventStore.Queries.cs), per version.
def current_values(version, keys):
    key_list = ", ".join(f"'{k}'" for k in keys)
    if version == 1:
        return f"""SELECT group_id, trait_key, tupleElement(c, 1) AS v, tupleElement(c, 2) AS cl FROM (
            SELECT group_id, trait_key, argMax(tuple(value_json, cleared), tuple(event_us, event_id)) AS c
            FROM platform.group_traits WHERE tenant = '{TENANT}' AND group_id > '' AND trait_key IN ({key_list})
            GROUP BY group_id, trait_key)"""
    return f"""SELECT group_id, trait_key, v, toUInt8(v = '') AS cl FROM (
        SELECT group_id, trait_key, argMaxMerge(state) AS v
        FROM platform.{current_table(version)} WHERE tenant = '{TENANT}' AND group_id > '' AND trait_key IN ({key_list})
        GROUP BY group_id, trait_key)"""


def current_table(version):
    return "current_traits" if version == 2 else "current_traits_by_key"


def count_query(version):
    return f"""SELECT trait_value, count() AS group_count FROM (
        SELECT group_id, anyIf(v, trait_key = 'planName' AND cl = 0) AS trait_value, countIf(trait_key = 'planName' AND cl = 0) AS has_value
        FROM ({current_values(version, ['planName', 'group_type'])}) GROUP BY group_id
        HAVING countIf(trait_key = 'group_type' AND cl = 0) > 0)
        WHERE has_value > 0 GROUP BY trait_value ORDER BY group_count DESC, trait_value LIMIT 10 FORMAT JSONEachRow"""


def filter_query(version):
    page = f"""SELECT group_id FROM ({current_values(version, ['planName', 'group_type'])}) GROUP BY group_id
        HAVING countIf(trait_key = 'group_type' AND cl = 0) > 0 AND countIf(trait_key = 'planName' AND cl = 0 AND v = '"Pro"') > 0
        ORDER BY group_id LIMIT 50"""
    if version == 3:
        # Two round trips, as the store reads version 3: the page, then its groups by literal ids.
        def read(server):
            ids = [json.loads(line)["group_id"] for line in server.sql(page + " FORMAT JSONEachRow").splitlines()]
            return server.sql(f"""SELECT group_id, trait_key, v FROM (
                SELECT group_id, trait_key, argMaxMerge(state) AS v FROM platform.current_traits_by_key
                WHERE tenant = '{TENANT}' AND group_id IN ({", ".join("'" + i + "'" for i in ids)}) GROUP BY group_id, trait_key)
                WHERE v != '' ORDER BY group_id, trait_key FORMAT JSONEachRow""")
        return read
    if version == 1:
        return f"""SELECT group_id, trait_key, tupleElement(c, 1) AS v FROM (
            SELECT group_id, trait_key, argMax(tuple(value_json, cleared), tuple(event_us, event_id)) AS c
            FROM platform.group_traits WHERE tenant = '{TENANT}' AND group_id IN ({page}) GROUP BY group_id, trait_key)
            WHERE tupleElement(c, 2) = 0 ORDER BY group_id, trait_key FORMAT JSONEachRow"""
    return f"""SELECT group_id, trait_key, v FROM (
        SELECT group_id, trait_key, argMaxMerge(state) AS v FROM platform.current_traits
        WHERE tenant = '{TENANT}' AND group_id IN ({page}) GROUP BY group_id, trait_key)
        WHERE v != '' ORDER BY group_id, trait_key FORMAT JSONEachRow"""


def settle(server, quiet_seconds):
    last, stable_since = None, time.time()
    while True:
        merges = int(server.sql("SELECT count() FROM system.merges").strip())
        parts = server.sql("SELECT table, count() FROM system.parts WHERE active AND database = 'platform' GROUP BY table ORDER BY table")
        if merges == 0 and parts == last:
            if time.time() - stable_since >= quiet_seconds:
                return parts
        else:
            stable_since = time.time()
        last = parts
        time.sleep(0.5)


def run(layout, block, events, rate, quiet):
    version = {"v1": 1, "v3": 3}.get(layout, 2)
    server = Server()
    try:
        for statement in ddl(version):
            server.sql(statement)
        if layout == "v2-no-memberships":
            # What user_groups costs: version 2 without its view (the query API's "groups of a user" needs it).
            server.sql("DROP TABLE platform.user_groups_v2_mv")
        writer = v1_inserts if version == 1 else v2_inserts  # version 3 stores events as version 2 does
        received = 1_700_100_000_000_000
        before = server.cpu_seconds()
        start = time.time()
        latencies = []
        for i in range(0, len(events), block):
            due = start + i / rate
            if due > time.time():
                time.sleep(due - time.time())
            t = time.time()
            for query, body in writer(events[i:i + block], received):
                server.sql(query, body)
            latencies.append((time.time() - t) * 1000)
        inserted = time.time() - start
        parts = settle(server, quiet)
        cpu = server.cpu_seconds() - before
        reads = {}
        for name, query in (("count", count_query(version)), ("filter", filter_query(version))):
            execute = query if callable(query) else lambda server, sql=query: server.sql(sql)
            execute(server)  # warm
            times = []
            for _ in range(5):
                t = time.time()
                answer = execute(server)
                times.append((time.time() - t) * 1000)
            reads[name] = (statistics.median(times), answer)
        return {
            "layout": layout, "B": block, "events": len(events), "cpu_us_per_event": cpu * 1e6 / len(events),
            "insert_p50_ms": statistics.median(latencies), "insert_seconds": inserted,
            "count_ms": reads["count"][0], "filter_ms": reads["filter"][0],
            "count_answer": reads["count"][1].strip().replace("\n", " "), "filter_rows": len(reads["filter"][1].splitlines()),
            "parts": parts.strip().replace("\n", "; ").replace("\t", "="),
        }
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--blocks", default="2000,20000")
    parser.add_argument("--layouts", default="v1,v2")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--settle", type=float, default=5)
    args = parser.parse_args()
    events = make_events(args.events)
    for _ in range(args.runs):
        for block in (int(b) for b in args.blocks.split(",")):
            for layout in args.layouts.split(","):
                print(json.dumps(run(layout, block, events, args.rate, args.settle)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
