#!/usr/bin/env python3
"""A rolling restart behind HAProxy, on loopback.

HAProxy (conf/scale-out/haproxy.cfg, send-proxy-v2, health checks on --health-url) sits in
front of N cgihost instances that share one data directory. Clients connecting from
127.0.0.7 send a mix of static pages, a CGI hello, uploads each read back at once (from
whichever instance answers) and chat posts, while each instance in turn gets SIGTERM,
drains during --shutdown-delay, exits, and is started again on the same port; the next one
goes only once HAProxy sees it healthy again.

Asserts: no request failed; every upload read back identical, and some from another instance
than stored it (each instance's access log says which stored and which sent a file); every
chat message is seen through every instance directly; every access-log line names 127.0.0.7,
the client, not HAProxy's 127.0.0.1 (the PROXY header works). Prints the figures.

Exit status: 0 pass, 1 fail, 77 skip (no haproxy). Bounded: the load stops after --duration
seconds or when the restarts are done, whichever is later; everything it started is stopped by
pid.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

CLIENT_ADDRESS = "127.0.0.7"
SHUTDOWN_DELAY = "3"  # > HAProxy's detection time: inter 250 ms × fall 2
BOUNDARY = "scale-out-boundary-7d1e"
HANG_GUARD = 60  # seconds: a guard against hangs, never the property under test


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ProxiedConnection(http.client.HTTPConnection):
    """Straight to one cgihost instance: sends the PROXY header HAProxy would."""

    def connect(self):
        super().connect()
        source, source_port = self.sock.getsockname()[:2]
        self.sock.sendall(
            f"PROXY TCP4 {source} {self.host} {source_port} {self.port}\r\n".encode())


# What each instance behind HAProxy runs with besides its address, site and logs.
BEHIND_HAPROXY = ["--proxy-protocol", "true", "--health-url", "/healthz",
                  "--shutdown-delay", SHUTDOWN_DELAY, "--shutdown-grace", "20"]


class Instance:
    """One cgihost process of the pool, restartable on its port; logs per generation."""

    def __init__(self, index, port, args, work, options):
        self.index, self.port, self.args, self.work = index, port, args, work
        self.options = options
        self.generation = 0
        self.process = None

    def log(self, kind, generation):
        return os.path.join(self.work, f"{kind}-{self.index}-{generation}.log")

    def start(self):
        self.generation += 1
        command = [self.args.cgihost, "--listen", f"127.0.0.1:{self.port}",
                   "--docroot", self.args.docroot, "--cgi-dir", self.args.cgi_dir,
                   "--cgi-env-set", "CGIHOST_DATA_DIR=" + os.path.join(self.work, "data"),
                   "--cgi-env-set", "CGIHOST_CHAT_WAIT=1", "--threads", "2",
                   "--access-log", self.log("access", self.generation),
                   "--error-log", self.log("error", self.generation)] + self.options
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"instance {self.index} did not start: {line!r}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=HANG_GUARD)

    def access_lines(self):
        lines = []
        for generation in range(1, self.generation + 1):
            path = self.log("access", generation)
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as log:
                    lines += [line for line in log if line.strip()]
        return lines


def make_shared_data_dir(work):
    """Started as root, cgihost serves as www-data and runs scripts as yet another user: they
    must reach the work directory and write the data directory (as scripts/serve sets up)."""
    os.chmod(work, 0o755)
    os.makedirs(os.path.join(work, "data"))
    os.chmod(os.path.join(work, "data"), 0o1777)


def stored_and_sent(instances):
    """From the access logs: upload tag → the instance that stored it, and file name → the
    instances that sent it back."""
    stored_by, sent_by = {}, {}
    for instance in instances:
        for line in instance.access_lines():
            request = line.split('"')[1] if '"' in line else ""
            path = request.split(" ")[1] if request.count(" ") >= 2 else ""
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            if path.startswith("/cgi-bin/upload") and "tag" in query:
                stored_by[query["tag"][0]] = instance.index
            elif path.startswith("/cgi-bin/download") and "file" in query:
                sent_by.setdefault(query["file"][0], set()).add(instance.index)
    return sum(1 for name, where in stored_by.items() if sent_by.get(name, set()) - {where})


def multipart(name, data):
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def server_states(stats_socket):
    """HAProxy's view: server name → status ("UP", "DOWN", ...), from its stats socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(stats_socket)
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    states = {}
    for row in data.decode().splitlines():
        fields = row.split(",")
        if len(fields) > 17 and fields[0] == "cgihost" and fields[1] not in ("BACKEND",):
            states[fields[1]] = fields[17]
    return states


def wait_for(condition, what):
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError("gave up waiting for " + what)


class Load:
    """Client threads that go on sending requests through HAProxy until told to stop."""

    def __init__(self, frontend_port, threads):
        self.port = frontend_port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = []
        self.uploads = {}  # name → bytes
        self.chat_messages = []
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def exchange(self, method, target, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HANG_GUARD,
                                                source_address=(CLIENT_ADDRESS, 0))
        try:
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()
            with self.lock:
                self.requests += 1

    def check(self, what, condition):
        if not condition:
            with self.lock:
                self.failures.append(what)

    def upload_and_read_back(self, name, data):
        status, _ = self.exchange(
            "POST", "/cgi-bin/upload?tag=" + name, multipart(name, data),
            {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        self.check(f"upload {name}: {status}", status == 200)
        if status != 200:
            return
        with self.lock:
            self.uploads[name] = data
        status, read = self.exchange("GET", "/cgi-bin/download?file=" + name)
        self.check(f"download {name}: {status}, {len(read)} bytes", status == 200 and read == data)

    def post_chat(self, text):
        status, answer = self.exchange(
            "POST", "/cgi-bin/chat", "nick=load&message=" + urllib.parse.quote(text),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        self.check(f"chat post {text}: {status} {answer[:80]!r}",
                   status == 200 and b'"ok":true' in answer)
        if status == 200:
            with self.lock:
                self.chat_messages.append(text)

    def run(self, thread):
        rng = random.Random(thread)
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                choice = rng.randrange(10)
                if choice < 3:
                    status, body = self.exchange("GET", "/index.html")
                    self.check(f"static: {status}", status == 200 and len(body) > 0)
                elif choice < 6:
                    status, body = self.exchange("GET", "/cgi-bin/hello")
                    self.check(f"hello: {status}", status == 200)
                elif choice < 8:
                    size = rng.randrange(1, 8192)
                    self.upload_and_read_back(f"t{thread}-{n}.bin", rng.randbytes(size))
                else:
                    self.post_chat(f"m-{thread}-{n}")
            except (OSError, http.client.HTTPException) as error:
                self.check(f"thread {thread} request {n}: {error!r}", False)


def read_chat_directly(instance):
    connection = ProxiedConnection("127.0.0.1", instance.port, timeout=HANG_GUARD,
                                   source_address=(CLIENT_ADDRESS, 0))
    try:
        connection.request("GET", "/cgi-bin/chat?since=0")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"chat poll via instance {instance.index}: {response.status} "
                               f"{body[:200]!r}")
        answer = json.loads(body)
        return {message["text"] for message in answer["messages"]}
    finally:
        connection.close()


def fill_haproxy_config(template, work, frontend_port, instances):
    with open(template, encoding="utf-8") as source:
        text = source.read()
    servers = "\n".join(f"    server s{i.index} 127.0.0.1:{i.port}" for i in instances)
    text = (text.replace("@STATS_SOCKET@", os.path.join(work, "haproxy.sock"))
            .replace("@FRONTEND@", f"127.0.0.1:{frontend_port}")
            .replace("@SERVERS@", servers))
    path = os.path.join(work, "haproxy.cfg")
    with open(path, "w", encoding="utf-8") as config:
        config.write(text)
    return path


def roll(instances, stats_socket, report):
    for instance in instances:
        name = f"s{instance.index}"
        begun = time.monotonic()
        status = instance.stop()
        if status != 0:
            report.append(f"instance {instance.index} exited with {status}")
        instance.start()
        wait_for(lambda: server_states(stats_socket).get(name) == "UP",
                 f"HAProxy to see {name} UP again")
        print(f"  restarted instance {instance.index} in {time.monotonic() - begun:.1f} s",
              flush=True)


def verify(load, instances, report):
    report.extend(load.failures)
    for instance in instances:
        for line in instance.access_lines():
            if not line.startswith(CLIENT_ADDRESS + " "):
                report.append(f"instance {instance.index} logged another client: {line.strip()}")
    elsewhere = stored_and_sent(instances)
    if load.uploads and elsewhere == 0:
        report.append("no upload was read back from another instance than stored it")
    for instance in instances:
        seen = read_chat_directly(instance)
        missing = [text for text in load.chat_messages if text not in seen]
        if missing:
            report.append(f"instance {instance.index} does not show {len(missing)} chat "
                          f"messages, e.g. {missing[:3]}")
    return elsewhere


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cgihost", required=True)
    parser.add_argument("--cgi-dir", required=True)
    parser.add_argument("--docroot", required=True)
    parser.add_argument("--haproxy-config", required=True)
    parser.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    if not os.access(args.haproxy, os.X_OK):
        print("haproxy not installed (scripts/install-deps --test): skipped")
        return 77
    work = tempfile.mkdtemp(prefix="cgihost-scale-out-")
    # Started as root, cgihost serves as www-data and runs scripts as yet another user: they
    # must reach the work directory and write the data directory (as scripts/serve sets up).
    make_shared_data_dir(work)
    instances = [Instance(i, free_port(), args, work, BEHIND_HAPROXY)
                 for i in range(args.instances)]
    haproxy = None
    load = None
    report = []
    try:
        for instance in instances:
            instance.start()
        frontend_port = free_port()
        config = fill_haproxy_config(args.haproxy_config, work, frontend_port, instances)
        haproxy = subprocess.Popen([args.haproxy, "-db", "-f", config])
        stats_socket = os.path.join(work, "haproxy.sock")
        wait_for(lambda: os.path.exists(stats_socket) and
                 list(server_states(stats_socket).values()) == ["UP"] * len(instances),
                 "HAProxy to see every instance UP")
        load = Load(frontend_port, args.clients)
        begun = time.monotonic()
        for thread in load.threads:
            thread.start()
        time.sleep(1)
        roll(instances, stats_socket, report)
        while time.monotonic() - begun < args.duration:
            time.sleep(0.2)
        load.stop.set()
        for thread in load.threads:
            thread.join()
        duration = time.monotonic() - begun
        try:
            elsewhere = verify(load, instances, report)
        except (OSError, RuntimeError, ValueError, http.client.HTTPException) as error:
            report.append(f"checking the results: {error}")
            elsewhere = 0
        print(f"rolling restart of {len(instances)} instances behind HAProxy: "
              f"{load.requests} requests in {duration:.1f} s, {len(load.failures)} failed; "
              f"{len(load.uploads)} uploads read back identical, {elsewhere} of them from "
              f"another instance; {len(load.chat_messages)} chat messages seen through every "
              f"instance", flush=True)
    finally:
        if load is not None:
            load.stop.set()
        if haproxy is not None:
            haproxy.terminate()
            haproxy.wait(timeout=HANG_GUARD)
        for instance in instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.terminate()
                instance.process.wait(timeout=HANG_GUARD)
        if not report:
            shutil.rmtree(work, ignore_errors=True)
    for line in report[:20]:
        print("FAIL: " + line)
    if report:
        print(f"logs kept in {work}")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
