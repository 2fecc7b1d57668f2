"""The servers under test: each writes its own config under the run's temp dir, starts in the
foreground from it (own pid, log and temp paths, 127.0.0.1 only, a free ephemeral port) and is
stopped by the pids we started. No system service, unit or port 80 is ever involved.

Every server logs errors to the run's log directory and keeps no access log, so none pays for
logging that the others skip. Keep-alive is unlimited wherever the server has a per-connection
request cap, so wrk's connections are not reopened by one server and kept by another, and every
server keeps an idle keep-alive connection for the same KEEP_ALIVE_SECONDS (the idle group).

When the run has a certificate (site.tls_cert), cgihost, lighttpd, nginx and nginx + fcgiwrap
also listen with TLS 1.3 only on a second port (Running.tls_port); Apache is left out of TLS.
"""

import os
import resource
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

STOP_TIMEOUT_SECONDS = 15
READY_TIMEOUT_SECONDS = 20
HELD_CAPACITY = 5200  # concurrent requests every server is configured to hold (scenario 5)
# Peers that cannot reasonably hold 5,000 CGI requests at once are held to this many (their
# held_limit): Apache's mod_cgid forks every script from its one cgid daemon and took minutes
# to answer 5,000 on 2 cores; fcgiwrap needs a preforked process per held request, and nginx
# answered 502 to most of 5,000 (fcgiwrap's socket queue overflows).
PEER_HELD_LIMIT = 1000
KEEP_ALIVE_SECONDS = 300  # long enough that the idle group's connections all stay open
IDLE_CAPACITY = 12000  # idle keep-alive connections every server in the idle group accepts


def fd_limit():
    """The descriptors a server may have: our hard limit, which the bench raised its soft limit
    to and which the servers inherit. A server running as root must not ask for more than this
    (setrlimit would fail: the sandbox may not grant CAP_SYS_RESOURCE). At most 65,536: nginx
    allocates its worker_connections up front, and a hard limit of a million would cost it
    half a GiB per worker before the first request."""
    return min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    """The run's temp dir: docroot, CGI dir, configs, logs and the servers' own runtime files."""

    def __init__(self, root, cgihost_binary):
        self.root = root
        self.docroot = os.path.join(root, "www")
        self.cgi_dir = os.path.join(root, "cgi-bin")
        self.logs = os.path.join(root, "logs")
        self.cgihost_binary = cgihost_binary
        self.static_floor_binary = None  # bench/static_floor.c, compiled by prepare_site
        self.tls_cert = self.tls_key = None  # set when the run has the tls group

    @property
    def tls(self):
        return self.tls_cert is not None

    def server_dir(self, name):
        path = os.path.join(self.root, "servers", name)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        return path


class Running:
    """Started processes of one server; stop() ends them by pid, last started first."""

    def __init__(self, name, port, processes, tls_port=None):
        self.name, self.port, self.processes = name, port, processes
        self.tls_port = tls_port  # None: this server was not started with TLS

    @property
    def root_pids(self):
        return [process.pid for process in self.processes]

    def alive(self):
        return all(process.poll() is None for process in self.processes)

    def stop(self):
        # Each server leads its own process group (start_new_session), so signalling the group
        # also ends what it forked: fcgiwrap's preforked children outlive their parent otherwise.
        for process in reversed(self.processes):
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _signal_group(process.pid, signal.SIGKILL)  # stragglers of a departed leader


def _signal_group(pgid, signal_number):
    try:
        os.killpg(pgid, signal_number)
    except ProcessLookupError:
        pass


def _start(argv, log_path, **kwargs):
    log = open(log_path, "ab")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, **kwargs)


def _wait_ready(running, log_path):
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    url = f"http://127.0.0.1:{running.port}/static/4k.bin"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if not running.alive():
            break
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return running
        except OSError:
            time.sleep(0.1)
    running.stop()
    raise RuntimeError(f"{running.name} did not start; see {log_path}")


def _wait_for_socket(path):
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def _wait_for_children(pid, count):
    """Waits until pid has count children (fcgiwrap preforks them after binding its socket)."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            if len(children.read().split()) >= count:
                return
        time.sleep(0.1)


class Cgihost:
    name = "cgihost"
    static, cgi = True, True
    held_limit = None  # holds as many sleepers as asked (--held)
    peer = False  # ours: compared with the peers, never one of them
    tls = True
    body_cpu = True  # takes max_body_bytes (the body-cpu scenario)
    extra_args = []

    def start(self, site, max_body_bytes=None):
        port = free_port()
        log_path = os.path.join(site.logs, "cgihost.log")
        argv = [site.cgihost_binary,
                "--listen", f"127.0.0.1:{port}",
                "--docroot", site.docroot,
                "--cgi-dir", site.cgi_dir,
                "--cgi-url", "/cgi-bin/",
                "--threads", "0",  # the default: one worker per core
                "--cgi-max-processes", str(HELD_CAPACITY * 2),
                # wrk's connections all come from 127.0.0.1: no per-client cap.
                "--cgi-max-per-client", "0",
                "--max-connections", str(max(IDLE_CAPACITY, HELD_CAPACITY)),
                "--keep-alive-timeout", str(KEEP_ALIVE_SECONDS),
                "--cgi-timeout", "300", "--cgi-max-time", "600", "--write-timeout", "300",
                "--access-log", "", "--error-log", log_path, "--log-level", "warn",
                "--shutdown-grace", "1"] + self.extra_args
        if max_body_bytes:
            argv += ["--max-body-size", str(max_body_bytes)]
        tls_port = None
        if site.tls:
            tls_port = free_port()
            # TLS 1.3 only, as the peers are set up.
            argv += ["--listen-tls", f"127.0.0.1:{tls_port}",
                     "--tls-cert", site.tls_cert, "--tls-key", site.tls_key,
                     "--tls-min-version", "1.3"]
        running = Running(self.name, port, [_start(argv, log_path)], tls_port)
        return _wait_ready(running, log_path)


class CgihostTrusting(Cgihost):
    """cgihost trusting a file's check for a second (--file-check-interval 1), the trade
    lighttpd's stat cache makes by default; cgihost's default checks every request. Static
    rows (plain and TLS) only, and not a peer: it shows what that trade is worth."""
    name = "cgihost-1s"
    static, cgi = True, False
    tls = True
    body_cpu = False
    extra_args = ["--file-check-interval", "1"]


class Apache:
    """Apache 2.4, mpm_event + mod_cgid, as Debian ships it, run from our own config."""
    name = "apache"
    static, cgi = True, True
    peer, tls = True, False  # no TLS: the tls group compares cgihost, lighttpd and nginx
    held_limit = PEER_HELD_LIMIT
    body_cpu = True
    modules = "/usr/lib/apache2/modules"

    def config(self, site, port, home, max_body_bytes=None):
        threads_per_child = 25
        server_limit = -(-HELD_CAPACITY // threads_per_child)  # rounded up
        return f"""ServerRoot "{home}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{home}/httpd.pid"
ErrorLog "{site.logs}/apache-error.log"
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module {self.modules}/mod_mpm_event.so
LoadModule authz_core_module {self.modules}/mod_authz_core.so
LoadModule alias_module {self.modules}/mod_alias.so
LoadModule mime_module {self.modules}/mod_mime.so
LoadModule cgid_module {self.modules}/mod_cgid.so
TypesConfig /etc/mime.types
ScriptSock "{home}/cgid.sock"
Mutex file:{home} default
# Enough threads to hold {HELD_CAPACITY} requests at once (scenario 5).
StartServers 2
ServerLimit {server_limit}
ThreadsPerChild {threads_per_child}
ThreadLimit {threads_per_child}
MaxRequestWorkers {server_limit * threads_per_child}
MinSpareThreads 25
MaxSpareThreads {server_limit * threads_per_child}
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout {KEEP_ALIVE_SECONDS}
Timeout 300
EnableSendfile On
LimitRequestBody {max_body_bytes or 1 << 30}
DocumentRoot "{site.docroot}"
<Directory "{site.docroot}">
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "{site.cgi_dir}/"
<Directory "{site.cgi_dir}">
    Require all granted
</Directory>
"""

    def start(self, site, max_body_bytes=None):
        port = free_port()
        home = site.server_dir("apache")
        path = os.path.join(home, "httpd.conf")
        with open(path, "w") as config:
            config.write(self.config(site, port, home, max_body_bytes))
        log_path = os.path.join(site.logs, "apache-stdout.log")
        process = _start(["/usr/sbin/apache2", "-f", path, "-DFOREGROUND"], log_path,
                         env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"})
        return _wait_ready(Running(self.name, port, [process]), log_path)


class Lighttpd:
    """lighttpd 1.4 mod_cgi with 2 workers (server.max-worker = 2): two processes to match our
    two threads on a 2-core machine. Otherwise lighttpd's defaults (it buffers a CGI response
    to temp files when the client is slower than the script)."""
    name = "lighttpd"
    static, cgi = True, True
    peer, tls = True, True
    held_limit = None
    body_cpu = True
    workers = 2

    def config(self, site, port, home, max_body_bytes=None, tls_port=None):
        # server.max-request-size is in KiB and counts the head too: a KiB of room for it.
        max_request_kib = (max_body_bytes or 1 << 30) // 1024 + 1
        modules = '"mod_alias", "mod_cgi"' + (', "mod_openssl"' if tls_port else "")
        # Per worker process: every descriptor we may have, and connections to match (each
        # idle one costs one descriptor; a held CGI request costs about three).
        max_fds = fd_limit()
        return f"""server.modules = ({modules})
server.document-root = "{site.docroot}"
server.bind = "127.0.0.1"
server.port = {port}
server.pid-file = "{home}/lighttpd.pid"
server.errorlog = "{site.logs}/lighttpd-error.log"
server.upload-dirs = ("{home}")
server.max-worker = {self.workers}
server.max-fds = {max_fds}
server.max-connections = {max_fds // 2}
server.max-keep-alive-idle = {KEEP_ALIVE_SECONDS}
server.max-keep-alive-requests = 100000000  # 0 would turn keep-alive off
server.max-read-idle = 300
server.max-write-idle = 300
server.max-request-size = {max_request_kib}
server.network-backend = "sendfile"
mimetype.assign = (".html" => "text/html", "" => "application/octet-stream")
alias.url = ("/cgi-bin/" => "{site.cgi_dir}/")
$HTTP["url"] =~ "^/cgi-bin/" {{
    cgi.assign = ("" => "")
}}
""" + (self.tls_config(site, tls_port) if tls_port else "")

    @staticmethod
    def tls_config(site, tls_port):
        return f"""$SERVER["socket"] == "127.0.0.1:{tls_port}" {{
    ssl.engine = "enable"
    ssl.pemfile = "{site.tls_cert}"
    ssl.privkey = "{site.tls_key}"
    ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.3")
}}
"""

    def start(self, site, max_body_bytes=None):
        port = free_port()
        tls_port = free_port() if site.tls else None
        home = site.server_dir("lighttpd")
        path = os.path.join(home, "lighttpd.conf")
        with open(path, "w") as config:
            config.write(self.config(site, port, home, max_body_bytes, tls_port))
        log_path = os.path.join(site.logs, "lighttpd-stdout.log")
        process = _start(["/usr/sbin/lighttpd", "-D", "-f", path], log_path)
        return _wait_ready(Running(self.name, port, [process], tls_port), log_path)


def _nginx_config(site, port, home, cgi_socket=None, tls_port=None):
    tls = ""
    if tls_port:
        # nginx's defaults otherwise: no session cache (but TLS 1.3 tickets on, as lighttpd's
        # and cgihost's), so the handshake test measures the same full handshakes everywhere
        # as long as the client does not resume (wrk does not).
        tls = f"""
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {site.tls_cert};
        ssl_certificate_key {site.tls_key};
        ssl_protocols TLSv1.3;"""
    cgi = ""
    if cgi_socket:
        cgi = f"""
        location ~ ^/cgi-bin/([^/]+)$ {{
            fastcgi_pass unix:{cgi_socket};
            fastcgi_read_timeout 300s;
            fastcgi_param SCRIPT_FILENAME {site.cgi_dir}/$1;
            fastcgi_param SCRIPT_NAME $uri;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param SERVER_SOFTWARE nginx;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param REMOTE_PORT $remote_port;
            fastcgi_param SERVER_ADDR $server_addr;
            fastcgi_param SERVER_PORT $server_port;
            fastcgi_param SERVER_NAME $server_name;
        }}"""
    return f"""daemon off;
master_process on;
user root;
worker_processes 2;
worker_rlimit_nofile {fd_limit()};
pid {home}/nginx.pid;
error_log {site.logs}/nginx-error.log warn;
events {{
    worker_connections {fd_limit() - 100};
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout {KEEP_ALIVE_SECONDS}s;
    client_body_temp_path {home}/client_body;
    fastcgi_temp_path {home}/fastcgi;
    proxy_temp_path {home}/proxy;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};{tls}
        root {site.docroot};{cgi}
    }}
}}
"""


class Nginx:
    """nginx (Debian's nginx-light), 2 worker processes, for static files only."""
    name = "nginx"
    static, cgi = True, False
    peer, tls = True, True
    body_cpu = False

    def start(self, site):
        port = free_port()
        tls_port = free_port() if site.tls else None
        home = site.server_dir(self.name)
        path = os.path.join(home, "nginx.conf")
        with open(path, "w") as config:
            config.write(_nginx_config(site, port, home, tls_port=tls_port))
        log_path = os.path.join(site.logs, "nginx-stdout.log")
        process = _start(["/usr/sbin/nginx", "-c", path, "-p", home], log_path)
        return _wait_ready(Running(self.name, port, [process], tls_port), log_path)


class NginxFcgiwrap:
    """nginx + fcgiwrap for CGI. fcgiwrap serves one request per process at a time, so it gets
    as many preforked processes as requests it must hold at once (-c)."""
    name = "nginx+fcgiwrap"
    static, cgi = False, True
    peer, tls = True, True
    held_limit = PEER_HELD_LIMIT
    body_cpu = False  # not set up for 64 MiB bodies (client_max_body_size, temp files)

    def __init__(self, fcgiwrap_processes=256):
        self.fcgiwrap_processes = fcgiwrap_processes

    def start(self, site, fcgiwrap_processes=None):
        port = free_port()
        tls_port = free_port() if site.tls else None
        home = site.server_dir("nginx-fcgiwrap")
        cgi_socket = os.path.join(home, "fcgiwrap.sock")
        if os.path.exists(cgi_socket):
            os.unlink(cgi_socket)
        log_path = os.path.join(site.logs, "nginx-fcgiwrap-stdout.log")
        count = fcgiwrap_processes or self.fcgiwrap_processes
        wrapper = _start(["/usr/sbin/fcgiwrap", "-c", str(count), "-s", f"unix:{cgi_socket}"],
                         log_path)
        _wait_for_socket(cgi_socket)
        path = os.path.join(home, "nginx.conf")
        with open(path, "w") as config:
            config.write(_nginx_config(site, port, home, cgi_socket, tls_port))
        _wait_for_children(wrapper.pid, count)
        nginx = _start(["/usr/sbin/nginx", "-c", path, "-p", home], log_path)
        return _wait_ready(Running(self.name, port, [wrapper, nginx], tls_port), log_path)


class StaticFloor:
    """bench/static_floor.c: bare evhttp answering from memory, 2 threads. Not a peer: the
    static figures of every server are also given as a ratio to it."""
    name = "evhttp-floor"
    static, cgi = True, False
    peer, tls = False, False
    body_cpu = False

    def start(self, site):
        port = free_port()
        log_path = os.path.join(site.logs, "static-floor.log")
        process = _start([site.static_floor_binary, str(port)], log_path)
        return _wait_ready(Running(self.name, port, [process]), log_path)


ALL = [Cgihost(), CgihostTrusting(), Apache(), Lighttpd(), Nginx(), NginxFcgiwrap(), StaticFloor()]
FLOOR = StaticFloor.name
BY_NAME = {server.name: server for server in ALL}


def tool_versions():
    def first_line(argv):
        if not shutil.which(argv[0]):
            return "missing"
        result = subprocess.run(argv, capture_output=True, text=True)
        return (result.stdout + result.stderr).strip().splitlines()[0]
    return {"apache": first_line(["/usr/sbin/apache2", "-v"]),
            "lighttpd": first_line(["/usr/sbin/lighttpd", "-v"]),
            "nginx": first_line(["/usr/sbin/nginx", "-v"]),
            "wrk": first_line(["wrk", "-v"])}
