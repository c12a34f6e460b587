"""bench/soak's SteadyLoad with a new connection per request (the cluster scenarios' load)
does not run out of ephemeral ports: each connection is reset once its answer is read, so
the client keeps no TIME_WAIT state. A plain close, at the same rate, does run out.

The client runs in a network namespace whose ephemeral range is 200 ports, the server in
another, joined by a veth pair: a few seconds of load open many more connections than
that. Both namespaces, and everything in them, go at the end.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PORTS = "40000 40199"
SERVER_IP, CLIENT_IP = "10.201.0.2", "10.201.0.1"

SERVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    request_queue_size = 512
    def handle_error(self, request, client_address):
        pass  # a reset after the answer was read

Server(("%s", 8000), Answer).serve_forever()
"""

CLIENT = """
import json, sys, time
from bench.soak import load
if sys.argv[1] == "close":
    load.reset = lambda conn: conn.close()
with load.SteadyLoad("http://%s:8000", "/", b"{}", threads=2, fresh_connections=True) as run:
    time.sleep(4)
print(json.dumps({"sent": run.result.sent, "statuses": run.result.statuses(),
                  "errors": sorted({a.error for a in run.result.answers if a.error})}))
"""


def _netns(name: str, *command: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", name, *command], text=True, **kwargs)


@pytest.fixture
def namespaces():
    """(client, server) network namespaces joined by a veth pair, the server listening."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    client, server = f"imgclf-load-c{os.getpid()}", f"imgclf-load-s{os.getpid()}"
    for name in (client, server):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "link", "add", "lc", "netns", client, "type", "veth",
                        "peer", "name", "ls", "netns", server], check=True)  # fmt: skip
        for name, link, ip in ((client, "lc", CLIENT_IP), (server, "ls", SERVER_IP)):
            setup = f"ip addr add {ip}/24 dev {link} && ip link set {link} up && ip link set lo up"
            _netns(name, "sh", "-ec", setup, check=True)
        _netns(client, "sysctl", "-qw", f"net.ipv4.ip_local_port_range={PORTS}", check=True)
        listening = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c",
                                      SERVER % SERVER_IP])  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while _netns(client, "bash", "-c", f"echo > /dev/tcp/{SERVER_IP}/8000",
                         capture_output=True).returncode != 0:  # fmt: skip
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
            yield client
        finally:
            listening.kill()
            listening.wait()
    finally:
        for name in (client, server):
            subprocess.run(["ip", "netns", "del", name], check=False)


def _load(client: str, closing: str) -> dict:
    result = _netns(client, sys.executable, "-c", CLIENT % SERVER_IP, closing, cwd=ROOT,
                    capture_output=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_fresh_connections_do_not_exhaust_the_ephemeral_ports(namespaces):
    reset = _load(namespaces, "reset")
    assert reset["sent"] > 400  # twice the client's ports
    assert reset["statuses"] == {"200": reset["sent"]}, reset["errors"]
    closed = _load(namespaces, "close")  # the same load, closing normally
    assert closed["statuses"]["200"] <= 200 < closed["sent"]
    assert any("Cannot assign requested address" in e for e in closed["errors"])
