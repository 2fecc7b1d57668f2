"""The measurements: wrk runs, the held-requests client, the idle keep-alive client, the slow
client and the spawn ceiling."""

import os
import re
import selectors
import socket
import ssl
import subprocess
import threading
import time

from . import procs

WRK_THREADS = 2  # one per core of the benchmark machine
WRK_TIMEOUT = "10s"
SAMPLE_INTERVAL_SECONDS = 0.25
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def run_wrk(url, connections, seconds, script=None, latency=True, headers=()):
    """Runs wrk and returns its figures: requests/s, p99 latency (ms), errors."""
    argv = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{seconds}s",
            f"--timeout={WRK_TIMEOUT}"]
    if latency:
        argv.append("--latency")
    if script:
        argv += ["-s", script]
    for header in headers:
        argv += ["-H", header]
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


def _client_tls_context(maximum=None):
    """A client context that takes the run's self-signed certificate (we check the protocol
    version, not who signed it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum:
        context.maximum_version = maximum
    return context


def tls_version(port):
    """The protocol a default client (one that offers TLS 1.2 and 1.3, as wrk's OpenSSL does)
    gets from the server: "TLSv1.3" expected, else the version or the error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with _client_tls_context().wrap_socket(raw) as connection:
                return connection.version()
    except OSError as error:
        return f"handshake failed: {error}"


def refuses_tls12(port):
    """True if a client that offers at most TLS 1.2 is refused (the servers are set to 1.3 only)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with _client_tls_context(ssl.TLSVersion.TLSv1_2).wrap_socket(raw):
                return False
    except (ssl.SSLError, ConnectionError):
        return True


def resumes_sessions(port, path):
    """True if the server resumes a TLS session (TLS 1.3: a ticket from the first connection
    offered on the second). wrk reuses its session on every reconnect (seen against
    `openssl s_server -www`: nearly every accept a session cache hit), so in the handshake test a
    server that resumes does the cheaper PSK handshake, one that does not the full one."""
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    context, session = _client_tls_context(), None
    try:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with context.wrap_socket(raw, session=session) as connection:
                    connection.sendall(request)
                    while _recv_to_close(connection):  # the tickets come after the handshake
                        pass
                    reused, session = connection.session_reused, connection.session
    except OSError:
        return False
    return reused


def check_response(port, method, path, body, expected, tls=False):
    """One request with a plain socket (HTTP/1.0, no proxy), over TLS if asked: returns None or
    what went wrong."""
    request = (f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/octet-stream\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            connection = _client_tls_context().wrap_socket(raw) if tls else raw
            connection.sendall(request)
            received = bytearray()
            while chunk := _recv_to_close(connection):
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


def _recv_to_close(connection):
    try:
        return connection.recv(1 << 20)
    except ssl.SSLEOFError:  # a TLS peer that closes without close_notify: the end all the same
        return b""


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


CONNECTING_AT_ONCE = 128  # connects in progress at a time (hold_requests, IdleClients)


def hold_requests(port, path, count, deadline_seconds, on_all_sent=None):
    """Opens count connections, each sending GET path (HTTP/1.0), and reads every reply to the
    end. Returns (answered with 200 and the expected body, failures by reason).

    At most CONNECTING_AT_ONCE connects are in progress at a time, the next ones as soon as
    those complete: thousands of SYNs at once overflow the listen queue, and the dropped ones
    come back after the kernel's 1, 3, 7, 15... s back-off, which then measures TCP, not the
    server. on_all_sent is called once every request has been sent."""
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    replies, failures = {}, {}
    opened, connecting = 0, 0
    ok = 0
    deadline = time.monotonic() + deadline_seconds
    while (opened < count or selector.get_map()) and time.monotonic() < deadline:
        while opened < count and connecting < CONNECTING_AT_ONCE:
            connection = socket.socket()
            connection.setblocking(False)
            connection.connect_ex(("127.0.0.1", port))
            replies[connection] = bytearray()
            selector.register(connection, selectors.EVENT_WRITE)
            opened, connecting = opened + 1, connecting + 1
        for key, events in selector.select(timeout=1):
            connection = key.fileobj
            try:
                if events & selectors.EVENT_WRITE:
                    connecting -= 1
                    if opened == count and connecting == 0 and on_all_sent:
                        on_all_sent()  # (this last request goes out just below)
                        on_all_sent = None
                    error = connection.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if error:
                        raise OSError(error, os.strerror(error))
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
    if on_all_sent:  # the deadline came first: still keep the caller's promise
        on_all_sent()
    for key in list(selector.get_map().values()):
        key.fileobj.close()
        failures["no reply before the deadline"] = failures.get(
            "no reply before the deadline", 0) + 1
    return ok, failures


class IdleClients:
    """The idle group's client: count keep-alive connections to one server, each of which has
    sent one GET (HTTP/1.1, so the connection stays open) and read the whole reply, and then
    sits idle. Non-blocking sockets under one selector; at most IN_FLIGHT connect or wait for
    their reply at a time, so no server's listen queue overflows into SYN retries that would
    measure the kernel's back-off rather than the server."""

    IN_FLIGHT = 256

    def __init__(self, port, path):
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        self.idle = []  # connections that were answered and are now idle
        self.failures = {}

    def _fail(self, reason):
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def open(self, count, deadline_seconds):
        """Opens count connections; returns how many were answered and are now idle."""
        selector = selectors.DefaultSelector()
        received = {}
        started, deadline = 0, time.monotonic() + deadline_seconds
        while (started < count or selector.get_map()) and time.monotonic() < deadline:
            while started < count and len(selector.get_map()) < self.IN_FLIGHT:
                connection = socket.socket()
                connection.setblocking(False)
                connection.connect_ex(("127.0.0.1", self.port))
                received[connection] = bytearray()
                selector.register(connection, selectors.EVENT_WRITE)
                started += 1
            for key, events in selector.select(timeout=1):
                self._advance(selector, key.fileobj, events, received)
        for key in list(selector.get_map().values()):
            selector.unregister(key.fileobj)
            key.fileobj.close()
            self._fail("no reply before the deadline")
        selector.close()
        return len(self.idle)

    def _advance(self, selector, connection, events, received):
        try:
            if events & selectors.EVENT_WRITE:
                error = connection.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise OSError(error, os.strerror(error))
                connection.sendall(self.request)  # a few dozen bytes: fits any buffer
                selector.modify(connection, selectors.EVENT_READ)
                return
            chunk = connection.recv(65536)
        except OSError as error:
            self._fail(error.strerror or type(error).__name__)
            selector.unregister(connection)
            connection.close()
            return
        reply = received[connection]
        reply += chunk
        complete = _complete_reply(reply)
        if chunk and complete is None:
            return  # more to come
        selector.unregister(connection)
        del received[connection]
        if chunk and complete:
            self.idle.append(connection)
        else:
            connection.close()
            self._fail(bytes(reply).split(b"\r\n", 1)[0].decode(errors="replace")
                       or "closed without a reply")

    def still_open(self):
        """How many idle connections the server has not closed (a peek that would block means
        open: nothing to read and no end of stream)."""
        open_count = 0
        for connection in self.idle:
            try:
                if connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                    continue  # unexpected bytes: not a clean idle connection
            except BlockingIOError:
                open_count += 1
            except OSError:
                pass
        return open_count

    def probe(self, how_many):
        """Sends a second request on how_many connections spread over the set; returns how many
        were answered (the server really still serves them, not only keeps the socket)."""
        step = max(1, len(self.idle) // max(1, how_many))
        answered = 0
        for connection in self.idle[::step][:how_many]:
            connection.setblocking(True)
            connection.settimeout(10)
            try:
                connection.sendall(self.request)
                reply = bytearray()
                while _complete_reply(reply) is None:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
                answered += bool(_complete_reply(reply))
            except OSError:
                pass
            connection.setblocking(False)
        return answered

    def close(self):
        for connection in self.idle:
            connection.close()
        self.idle = []


def _complete_reply(reply):
    """True: a whole 200 reply with a Content-Length body; False: a whole other reply;
    None: not all there yet."""
    head_end = reply.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(reply[:head_end]).decode(errors="replace").lower()
    match = re.search(r"^content-length:\s*(\d+)", head, re.M)
    if not match:
        return False
    if len(reply) < head_end + 4 + int(match.group(1)):
        return None
    return head.startswith("http/1.1 200")


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
