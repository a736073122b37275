#!/usr/bin/env python3
"""API benchmark: what the server answers per second, and how fast, against
the ceiling of the same server in the same run.

Builds the release binary, provisions a benchmark account, imports TICKETS
generated tickets (timed), starts `integrity serve` on loopback and drives
it with wrk (64 connections by default):

    healthz   GET /healthz: no database, no authentication, the ceiling
    get       GET /tickets/by_center/…/by_number/… on random tickets
    respond   POST …/ticket_responses on random tickets (each a durable commit)
    patch     PATCH a custom field on random tickets

Prints requests/s, p50 and p99 latency and the ratio to the ceiling for
each, the import rate, the server's peak RSS and the database size per
ticket. Needs wrk (Debian package `wrk`); otherwise the standard library.

    python3 bench/api.py [--tickets 100000] [--seconds 10] [--postgres URL]
    python3 bench/api.py --smoke        # 1,000 tickets, 2 s per endpoint

With --postgres the same run is made on a fresh PostgreSQL database too,
and the figures are printed side by side. INTEGRITY_BIN names another
binary than target/release/integrity.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from common import BIN, ROOT, build, database_bytes, free_port, integrity, request_json, wait_for, write_jsonl

KEY = "bench-api-admin-key-0000000001"
LUA = os.path.join(ROOT, "bench", "wrk", "api.lua")
ENDPOINTS = [
    ("healthz", "GET /healthz (ceiling)"),
    ("get", "GET ticket"),
    ("respond", "POST ticket response"),
    ("patch", "PATCH custom field"),
]
MANIFEST = {"accounts": [{
    "subdomain": "bench", "name": "Benchmark",
    "users": [{"name": "Bench Admin", "email": "bench@example.com", "role": "admin", "api_tokens": [KEY]}],
    "call_centers": [{
        "name": "Georgia 811", "state": "Georgia",
        "service_areas": [{"code": "GAUPC"}, {"code": "BXXX"}, {"code": "GWXXX"}],
        # Not a completing code: tickets stay open, every POST is an update.
        "response_codes": [{"code": "BENCH", "description": "Benchmark response", "completes": False}],
    }],
    "custom_fields": [{"name": "Bench note", "type_id": 1}],
}]}


class PeakMemory:
    """Samples a process's resident set while it runs; VmHWM at the end
    covers the moments between samples."""

    def __init__(self, pid):
        self.pid, self.peak_kib, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def read(self, field):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def sample(self):
        while self.running:
            self.peak_kib = max(self.peak_kib, self.read("VmRSS"))
            time.sleep(0.1)

    def stop(self):
        self.peak_kib = max(self.peak_kib, self.read("VmHWM"))
        self.running = False
        return self.peak_kib / 1024


def run_wrk(port, mode, args, center_id, field_id):
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "10s",
               "-s", LUA, f"http://127.0.0.1:{port}", "--", mode, KEY, str(center_id), str(args.tickets), str(field_id)]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.exit(f"wrk gave no result for {mode}:\n{done.stdout}\n{done.stderr}")


def create_postgres_database(server_url):
    """A fresh database on the server at `server_url`; returns its URL."""
    name = f"integrity_bench_{os.getpid()}"
    subprocess.run(["psql", "-q", "-c", f"CREATE DATABASE {name}", server_url], check=True)
    base = server_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per endpoint")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--postgres", metavar="URL",
                        help="also measure PostgreSQL: a server (postgres://USER:PASSWORD@HOST/postgres) on which "
                             "to create a fresh database; its figures are printed beside SQLite's")
    parser.add_argument("--smoke", action="store_true", help="1,000 tickets, 2 seconds per endpoint: proves the script works")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.tickets, args.seconds = 1_000, 2
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    if not args.no_build:
        build()

    work = tempfile.mkdtemp(prefix="integrity-api-bench-")
    try:
        write_jsonl(f"{work}/tickets.jsonl", args.tickets)
        with open(f"{work}/manifest.json", "w") as f:
            json.dump(MANIFEST, f)
        suites = [("sqlite", measure(args, work, f"sqlite://{work}/bench.db"))]
        if args.postgres:
            name, database = create_postgres_database(args.postgres)
            try:
                suites.append(("postgres", measure(args, work, database)))
            finally:
                subprocess.run(["psql", "-q", "-c", f"DROP DATABASE IF EXISTS {name}", args.postgres])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report(args, suites)
    failed = sum(r["failed"] + r["socket_errors"] for _, suite in suites for r in suite["results"].values())
    if failed:
        sys.exit(f"{failed} requests failed: the figures above are not to be trusted")


def measure(args, work, database):
    """Provisions, imports (timed), serves and drives one database."""
    integrity(["--database", database, "apply", f"{work}/manifest.json"])
    started = time.perf_counter()
    integrity(["--database", database, "import", "--account", "bench", f"{work}/tickets.jsonl"])
    import_rate = args.tickets / (time.perf_counter() - started)
    size = database_bytes(database)

    port = free_port()
    server = subprocess.Popen([BIN, "--database", database, "serve", "--no-relay", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        memory = PeakMemory(server.pid)
        wait_for(port, "/healthz")
        _, centers = request_json(port, "GET", "/call_centers", KEY)
        _, fields = request_json(port, "GET", "/custom_fields", KEY)
        center_id = centers[0]["id"]
        field_id = next(f["id"] for f in fields if f["name"] == "Bench note")
        results = {mode: run_wrk(port, mode, args, center_id, field_id) for mode, _ in ENDPOINTS}
        peak_mib = memory.stop()
        if server.poll() is not None:
            sys.exit(f"the server exited during the benchmark (status {server.returncode})")
    finally:
        server.terminate()
        server.wait()
    return {"import_rate": import_rate, "size": size, "peak_mib": peak_mib, "results": results}


def report(args, suites):
    print(f"tickets       {args.tickets:,}")
    print(f"load          wrk, {args.connections} connections, {args.threads} threads, {args.seconds} s per endpoint, loopback")
    print()
    header = f"{'endpoint':<24}"
    for name, _ in suites:
        header += f" | {name + ' req/s':>15} {'× ceiling':>9} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6}"
    print(header)
    for mode, title in ENDPOINTS:
        line = f"{title:<24}"
        for _, suite in suites:
            results = suite["results"]
            ceiling = results["healthz"]["requests"] / results["healthz"]["seconds"]
            r = results[mode]
            rate = r["requests"] / r["seconds"]
            line += (f" | {rate:>15,.0f} {rate / ceiling:>9.2f} {r['p50'] / 1000:>7.2f} {r['p99'] / 1000:>7.2f}"
                     f" {r['failed'] + r['socket_errors']:>6}")
        print(line)
    print()
    for name, suite in suites:
        print(f"{name:<9} import {suite['import_rate']:,.0f} tickets/s (JSON Lines, `integrity import`); "
              f"server RSS {suite['peak_mib']:.0f} MiB at peak", end="")
        if suite["size"] is not None:
            print(f"; database {suite['size'] / 2**20:,.1f} MiB after import, {suite['size'] / args.tickets:,.0f} bytes per ticket")
        else:
            print()


if __name__ == "__main__":
    main()
