"""The measurements: wrk runs, the held-requests client, the slow client and the spawn ceiling."""

import re
import selectors
import socket
import subprocess
import threading
import time

from . import procs

WRK_THREADS = 2  # one per core of the benchmark machine
WRK_TIMEOUT = "10s"
SAMPLE_INTERVAL_SECONDS = 0.25
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def run_wrk(url, connections, seconds, script=None, latency=True):
    """Runs wrk and returns its figures: requests/s, p99 latency (ms), errors."""
    argv = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{seconds}s",
            f"--timeout={WRK_TIMEOUT}"]
    if latency:
        argv.append("--latency")
    if script:
        argv += ["-s", script]
    argv.append(url)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    return parse_wrk(result.stdout + result.stderr)


def parse_wrk(output):
    figures = {"requests_per_second": None, "p99_ms": None, "requests": 0, "non_2xx": 0,
               "socket_errors": 0, "raw": output}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match:
        figures["requests_per_second"] = float(match.group(1))
    match = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    if match:
        figures["p99_ms"] = float(match.group(1)) * _UNITS[match.group(2)]
    match = re.search(r"(\d+) requests in", output)
    if match:
        figures["requests"] = int(match.group(1))
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        figures["non_2xx"] = int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      output)
    if match:
        # wrk counts a server closing an idle keep-alive connection as a read error; only
        # connect, write and timeout errors are failures of the server under test.
        figures["socket_errors"] = sum(int(match.group(i)) for i in (1, 3, 4))
        figures["read_errors"] = int(match.group(2))
    return figures


def check_response(port, method, path, body, expected):
    """One request with a plain socket (HTTP/1.0, no proxy): returns None or what went wrong."""
    request = (f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/octet-stream\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(request)
            received = bytearray()
            while chunk := connection.recv(1 << 20):
                received += chunk
    except OSError as error:
        return f"{method} {path}: {error}"
    head, _, payload = bytes(received).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200" not in status:
        return f"{method} {path}: {status!r}"
    if expected(payload):
        return None
    return f"{method} {path}: unexpected body {payload[:80]!r} ({len(payload)} bytes)"


class Sampler(threading.Thread):
    """Samples a server's RSS and PSS (CGI children left out), how many CGI children run and,
    given spool_dir, the bytes of temp files it holds open there."""

    def __init__(self, running, payload_dir, spool_dir=None):
        super().__init__(daemon=True)
        self.running, self.payload_dir, self.spool_dir = running, payload_dir, spool_dir
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_spooled = 0
        self.peak_children = 0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            server, scripts = procs.split_processes(self.running.root_pids, self.payload_dir)
            self.peak_rss = max(self.peak_rss, procs.rss_bytes(server))
            self.peak_pss = max(self.peak_pss, procs.pss_bytes(server))
            if self.spool_dir:
                self.peak_spooled = max(self.peak_spooled,
                                        procs.spooled_bytes(server, self.spool_dir))
            self.peak_children = max(self.peak_children, len(scripts))
            self._done.wait(SAMPLE_INTERVAL_SECONDS)

    def stop(self):
        self._done.set()
        self.join()


def hold_requests(port, path, count, deadline_seconds, on_all_sent=None):
    """Opens count connections at once, each sending GET path (HTTP/1.0), and reads every
    reply to the end. Returns (answered with 200 and the expected body, failures by reason)."""
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    replies, failures = {}, {}
    for _ in range(count):
        connection = socket.socket()
        connection.setblocking(False)
        connection.connect_ex(("127.0.0.1", port))
        replies[connection] = bytearray()
        selector.register(connection, selectors.EVENT_WRITE)
    if on_all_sent:
        on_all_sent()
    ok = 0
    deadline = time.monotonic() + deadline_seconds
    while selector.get_map() and time.monotonic() < deadline:
        for key, events in selector.select(timeout=1):
            connection = key.fileobj
            try:
                if events & selectors.EVENT_WRITE:
                    connection.sendall(request)  # 50 bytes: fits any socket buffer
                    selector.modify(connection, selectors.EVENT_READ)
                    continue
                chunk = connection.recv(65536)
            except OSError as error:
                failures[error.strerror] = failures.get(error.strerror, 0) + 1
                selector.unregister(connection)
                connection.close()
                continue
            if chunk:
                replies[connection] += chunk
                continue
            selector.unregister(connection)
            connection.close()
            reply = bytes(replies[connection])
            if reply.startswith(b"HTTP/1.") and b" 200 " in reply[:16] and b"slept" in reply:
                ok += 1
            else:
                reason = reply.split(b"\r\n", 1)[0].decode(errors="replace") or "empty reply"
                failures[reason] = failures.get(reason, 0) + 1
    for key in list(selector.get_map().values()):
        key.fileobj.close()
        failures["no reply before the deadline"] = failures.get(
            "no reply before the deadline", 0) + 1
    return ok, failures


def read_slowly(port, path, rate_bytes_per_second, deadline_seconds):
    """GET path and read the reply at rate_bytes_per_second. Returns (bytes read, complete)."""
    chunk_size = 64 * 1024
    received = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        while time.monotonic() - started < deadline_seconds:
            chunk = connection.recv(chunk_size)
            if not chunk:
                return received, True
            received += len(chunk)
            ahead = received / rate_bytes_per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    return received, False


def spawn_ceiling(binary, method, processes, seconds, program):
    result = subprocess.run([binary, method, str(processes), str(seconds), program],
                            capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"spawns_per_second=(\d+)", result.stdout)
    if not match:
        raise RuntimeError(f"spawn_ceiling failed: {result.stdout}{result.stderr}")
    return int(match.group(1))


def post_bodies(port, path, body_bytes, count, chunked, timeout_seconds):
    """POSTs count bodies of body_bytes (a whole number of MiB) one after another, each on its
    own connection, framed by Content-Length or as 64 KiB chunks, and reads each reply to the
    end. Returns (replies that are 200 with `count=<body_bytes>`, failures by reason)."""
    mib, chunk = 1 << 20, 64 * 1024
    block = b"x" * mib
    if chunked:
        framing = b"Transfer-Encoding: chunked\r\n"
        piece = b"".join(b"%x\r\n" % chunk + block[at:at + chunk] + b"\r\n"
                         for at in range(0, mib, chunk))
    else:
        framing = f"Content-Length: {body_bytes}\r\n".encode()
        piece = block
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/octet-stream\r\n").encode() + framing + b"\r\n"
    expected = f"count={body_bytes}\n".encode()
    ok, failures = 0, {}
    for _ in range(count):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout_seconds) as c:
                c.sendall(head)
                for _ in range(body_bytes // mib):
                    c.sendall(piece)
                if chunked:
                    c.sendall(b"0\r\n\r\n")
                reply = bytearray()
                while data := c.recv(65536):
                    reply += data
        except OSError as error:
            reason = error.strerror or type(error).__name__
            failures[reason] = failures.get(reason, 0) + 1
            continue
        status = bytes(reply).split(b"\r\n", 1)[0]
        if b" 200 " in status + b" " and expected in reply:
            ok += 1
        else:
            reason = status.decode(errors="replace") or "empty reply"
            failures[reason] = failures.get(reason, 0) + 1
    return ok, failures
