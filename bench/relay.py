#!/usr/bin/env python3
"""End-to-end relay benchmark: positive responses posted to the API, timed
until the (simulated) call center acknowledges them.

Builds the release binary, starts the call-center simulator and a server on
loopback, takes in tickets, posts RESPONSES responses from several client
threads, and prints the API's write rate, the relay's delivery throughput,
and the time from each API call to the center's acknowledgement (p50, p99,
max). Uses only the Python standard library.

    python3 bench/relay.py [--responses 10000] [--clients 16] [--database URL]
"""

import argparse
import datetime
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

from common import BIN, build, free_port, request_json, wait_for

KEY = "bench-admin-key-000000000001"
AREAS = 10


def get_json(port, path):
    return request_json(port, "GET", path)[1]


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--database", help="postgres://… (default: SQLite in a temporary directory)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    tickets = -(-args.responses // AREAS)

    if not args.no_build:
        build()
    work = tempfile.mkdtemp(prefix="integrity-bench-")
    database = args.database or f"sqlite://{work}/bench.db"
    sim_port, api_port = free_port(), free_port()
    processes = []
    try:
        processes.append(subprocess.Popen([BIN, "call-center-sim", "--listen", f"127.0.0.1:{sim_port}"],
                                          stdout=subprocess.DEVNULL))
        wait_for(sim_port, "/stats")

        areas = [f"BENCH{i:02}" for i in range(AREAS)]
        manifest = {"accounts": [{"subdomain": "bench", "name": "Bench",
            "users": [{"name": "Bench", "email": "bench@example.com", "role": "admin", "api_tokens": [KEY]}],
            "call_centers": [{"name": "Bench 811", "facilities": ["Gas"],
                "service_areas": [{"code": a} for a in areas],
                "response_codes": [{"code": "1A", "description": "Marked", "completes": True}],
                "relay": {"enabled": True, "url": f"http://127.0.0.1:{sim_port}"}}]}]}
        with open(f"{work}/manifest.json", "w") as f:
            json.dump(manifest, f)
        base = [BIN, "--database", database]
        subprocess.run(base + ["apply", f"{work}/manifest.json"], check=True, stdout=subprocess.DEVNULL)
        with open(f"{work}/tickets.jsonl", "w") as f:
            for t in range(tickets):
                f.write(json.dumps({"ticket_number": f"B-{t:06}", "call_center": {"name": "Bench 811"},
                                    "service_area": areas[0], "additional_service_areas": areas[1:]}) + "\n")
        subprocess.run(base + ["import", "--account", "bench", f"{work}/tickets.jsonl"], check=True,
                       stdout=subprocess.DEVNULL)

        processes.append(subprocess.Popen(base + ["serve", "--listen", f"127.0.0.1:{api_port}"],
                                          stdout=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"}))
        wait_for(api_port, "/healthz")
        center = request_json(api_port, "GET", "/call_centers", KEY)[1][0]["id"]

        jobs = [(f"B-{t:06}", area) for t in range(tickets) for area in areas][: args.responses]
        posted = {}
        errors = []
        lock = threading.Lock()

        def client(share):
            conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
            for number, area in share:
                body = json.dumps({"ticket_response": {"service_area": area, "code": "1A"}})
                conn.request("POST", f"/tickets/by_center/{center}/by_number/{number}/ticket_responses", body,
                             {"Authorization": f'Token token="{KEY}"', "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                done = time.time()
                with lock:
                    if response.status == 200:
                        posted[(number, area)] = done
                    else:
                        errors.append(response.status)

        started = time.time()
        threads = [threading.Thread(target=client, args=(jobs[i :: args.clients],)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api_seconds = time.time() - started

        deadline = time.time() + 600
        while get_json(sim_port, "/stats")["accepted"] < len(posted) and time.time() < deadline:
            time.sleep(0.2)
        accepted = get_json(sim_port, "/responses")
        latencies, last = [], started
        for a in accepted:
            at = datetime.datetime.fromisoformat(a["received_at"].replace("Z", "+00:00")).timestamp()
            last = max(last, at)
            sent = posted.get((a["ticket_number"], a["member_code"]))
            if sent is not None:
                latencies.append(max(0.0, at - sent))
        latencies.sort()
        delivery_seconds = last - started

        print(f"database            {database.split('://')[0]}")
        print(f"responses posted    {len(posted)} ({len(errors)} errors) by {args.clients} clients")
        print(f"API write rate      {len(posted) / api_seconds:8.0f} responses/s")
        print(f"delivered           {len(accepted)} (each once: {len({(a['ticket_number'], a['member_code']) for a in accepted}) == len(accepted)})")
        print(f"delivery throughput {len(accepted) / delivery_seconds:8.0f} responses/s (ratio to API rate {len(accepted) / delivery_seconds / (len(posted) / api_seconds):.2f})")
        print(f"API call → center   p50 {percentile(latencies, 50) * 1000:7.1f} ms   p99 {percentile(latencies, 99) * 1000:7.1f} ms   max {latencies[-1] * 1000 if latencies else float('nan'):7.1f} ms")
    finally:
        for p in processes:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
