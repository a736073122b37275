"""What the benchmark scripts share: where the binary is, building it,
running it, waiting for a server, generated tickets in the API's shape.
Standard library only."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The binary measured: the release build unless INTEGRITY_BIN names another
# (CI's smoke runs use the debug build it already has).
BIN = os.environ.get("INTEGRITY_BIN") or os.path.join(ROOT, "target", "release", "integrity")


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "integrity"], cwd=ROOT, check=True)


def integrity(args, **kwargs):
    """Runs the binary to completion; exits the script with its output if it fails."""
    done = subprocess.run([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"integrity {' '.join(args[:4])}… failed:\n{done.stdout}\n{done.stderr}")
    return done


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, path):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing answered on port {port}")


def request_json(port, method, path, key=None, body=None):
    """One API call; returns (status, parsed body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f'Token token="{key}"'
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)


def ticket_number(i):
    return f"240222-{i:07}"


def api_ticket(i):
    """Ticket `i` in the shape of `POST /tickets`, modelled on the Georgia 811
    sample: three service areas, a polygon, an excavator with contacts."""
    lng, lat = -84.167 + (i % 1000) * 1e-4, 33.988 + (i // 1000 % 1000) * 1e-4
    ring = [[lng, lat], [lng + 4e-4, lat], [lng + 4e-4, lat + 4e-4], [lng, lat + 4e-4], [lng, lat]]
    return {
        "ticket_number": ticket_number(i), "call_center": {"name": "Georgia 811"}, "sequence_number": i % 500,
        "ticket_type": "Normal", "ticket_action": "NEW", "ticket_source": "Voice",
        "service_area": "GAUPC", "additional_service_areas": ["BXXX", "GWXXX"],
        "taken_at": "2024-02-22T16:35:37.193-05:00", "work_start_at": "2024-02-27T07:00:00-05:00",
        "response_due_at": "2024-02-26T23:59:00-05:00", "remarks": "LOCATE THE FRONT AND BACK RIGHT OF HOUSE",
        "excavator": {"type": "Contractor", "name": "Example Septic Co", "address": "3400 Summit Ridge Pkwy, Duluth, GA 30096",
                      "phone": "5555550110", "contact": {"name": "Jane Doe", "phone": "5555550110", "email": "caller@example.com"},
                      "caller": {"name": "Jane Doe", "phone": "5555550110", "email": "caller@example.com"}},
        "work": {"type": "replacing septic field lines", "address": f"{3900 + i % 100} Tree Summit Pkwy, DULUTH, GWINNETT, GA",
                 "nearby_street": "Summit Ridge Pkwy", "duration": "2 weeks", "done_for": "Jane Doe",
                 "white_painted": False, "explosives": False, "tunneling_or_boring": False,
                 "area": {"type": "Polygon", "coordinates": [ring]}},
        "lat": lat, "lng": lng,
    }


def write_jsonl(path, count):
    with open(path, "w") as f:
        for i in range(count):
            f.write(json.dumps(api_ticket(i)) + "\n")


def database_bytes(database):
    """Size of the database on disk: the SQLite file and its WAL, or what
    PostgreSQL reports for the database (through psql), or None."""
    if database.startswith("sqlite://"):
        path = database[len("sqlite://"):].split("?")[0]
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    done = subprocess.run(["psql", "-tAc", "SELECT pg_database_size(current_database())", database],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None
