#!/usr/bin/env python3
"""Import benchmark: tickets per second into a fresh database, peak memory
of the import process, database size per ticket.

Generates tickets from the real samples' shapes: JSON Lines in the API's
ticket shape (`--tickets`, default 100,000), and Open Ticket JSON and USA
North 811 XML documents, one per file (`--documents` of each, default
100,000). Uses only the Python standard library.

    python3 bench/import.py [--tickets N] [--documents N] [--database URL]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from common import BIN, ROOT, build, database_bytes, write_jsonl

FIXTURES = os.path.join(ROOT, "crates", "integrity-intake", "tests", "fixtures")
SAMPLE = os.path.join(FIXTURES, "ga811_open_ticket_normal_240222-001001.json")
USAN_XML = os.path.join(FIXTURES, "usan_ca_option3_2022041100005.xml")


def run(args, **kwargs):
    """Runs the binary; returns its wall time and its own peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])}… failed:\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest so far: report it only if this
    # run raised it, else "≤" the earlier figure.
    return seconds, peak / 1024, peak > before, done.stdout.strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--database", help="postgres://… of an empty database (default: SQLite in a temporary directory)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build()
    work = tempfile.mkdtemp(prefix="integrity-import-bench-")
    try:
        database = args.database or f"sqlite://{work}/bench.db"
        manifest = {"accounts": [{"subdomain": "bench", "name": "Bench",
                                  "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "GAUPC"}]}]}]}
        with open(f"{work}/manifest.json", "w") as f:
            json.dump(manifest, f)
        run(["--database", database, "apply", f"{work}/manifest.json"])

        write_jsonl(f"{work}/tickets.jsonl", args.tickets)
        seconds, rss, raised, summary = run(["--database", database, "import", "--account", "bench", f"{work}/tickets.jsonl"])
        print(f"database                {database.split('://')[0]}")
        print(f"jsonl: {args.tickets} tickets in {seconds:.1f} s = {args.tickets / seconds:8.0f} tickets/s, peak RSS {'' if raised else '≤ '}{rss:.0f} MiB")
        print(f"                        {summary}")

        if args.documents:
            sample = json.load(open(SAMPLE))
            docs = f"{work}/documents"
            os.mkdir(docs)
            for i in range(args.documents):
                sample["header"]["ticketNumber"] = f"240223-{i:06}"
                with open(f"{docs}/{i:06}.json", "w") as f:
                    json.dump(sample, f)
            seconds, rss, raised, summary = run(["--database", database, "import", "--account", "bench",
                                                 "--call-center", "Georgia 811", "--format", "open-ticket", docs])
            print(f"open-ticket: {args.documents} documents in {seconds:.1f} s = {args.documents / seconds:8.0f} tickets/s, peak RSS {'' if raised else '≤ '}{rss:.0f} MiB")

        if args.documents:
            template = open(USAN_XML).read()
            docs = f"{work}/usan"
            os.mkdir(docs)
            for i in range(args.documents):
                with open(f"{docs}/{i:06}.xml", "w") as f:
                    f.write(template.replace("<onecall:TicketNumber>2022041100005<", f"<onecall:TicketNumber>22{i:011}<"))
            seconds, rss, raised, summary = run(["--database", database, "import", "--account", "bench",
                                                 "--call-center", "Georgia 811", "--format", "usan-xml", docs])
            print(f"usan-xml: {args.documents} documents in {seconds:.1f} s = {args.documents / seconds:8.0f} tickets/s, peak RSS {'' if raised else '≤ '}{rss:.0f} MiB")

        size = database_bytes(database)
        if size is not None:
            print(f"database size           {size / 2**20:.1f} MiB, {size / (args.tickets + 2 * args.documents):.0f} bytes per ticket")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
