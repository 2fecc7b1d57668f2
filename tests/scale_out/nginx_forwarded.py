#!/usr/bin/env python3
"""nginx (TLS, X-Forwarded-For, X-Forwarded-Proto) in front of two cgihost instances.

The instances run with --trusted-proxies 127.0.0.1 and share one data directory; clients
connect to nginx over HTTPS from 127.0.0.7. Asserts: the env sample shows REMOTE_ADDR
127.0.0.7 (not nginx's 127.0.0.1), REQUEST_SCHEME https and HTTPS on; a client that reaches
an instance directly (an untrusted peer) cannot claim another address with X-Forwarded-For;
and uploads are read back identical through nginx, some from the other instance than stored
them (the access logs say which).

Exit status: 0 pass, 1 fail, 77 skip (no nginx). Everything it starts is stopped by pid.
"""

import argparse
import http.client
import html
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts in the source tree
from rolling_restart import (BOUNDARY, CLIENT_ADDRESS, HANG_GUARD, Instance, free_port,
                             make_shared_data_dir, multipart, stored_and_sent)

UPLOADS = 8


def make_certificate(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def fill_nginx_config(template, work, frontend_port, instances):
    cert, key = make_certificate(work)
    with open(template, encoding="utf-8") as source:
        text = source.read()
    servers = "\n".join(f"        server 127.0.0.1:{i.port};" for i in instances)
    for name, value in {"@WORK@": work, "@FRONTEND@": f"127.0.0.1:{frontend_port}",
                        "@SERVERS@": servers, "@CERT@": cert, "@KEY@": key}.items():
        text = text.replace(name, value)
    path = os.path.join(work, "nginx.conf")
    with open(path, "w", encoding="utf-8") as config:
        config.write(text)
    return path


def environment_of(body):
    rows = re.findall(r"<tr><td><code>([^<]*)</code></td><td><code[^>]*>([^<]*)</code>", body)
    return {name: html.unescape(value) for name, value in rows}


def exchange(connection, method, target, body=None, headers=None):
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def through_nginx(port, method, target, body=None, headers=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=HANG_GUARD,
                                             context=context,
                                             source_address=(CLIENT_ADDRESS, 0))
    return exchange(connection, method, target, body, headers)


def wait_for_port(port):
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        try:
            through_nginx(port, "GET", "/index.html")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not start")


def check(port, instances, report):
    status, body = through_nginx(port, "GET", "/cgi-bin/env")
    env = environment_of(body.decode("utf-8", "replace"))
    if status != 200 or env.get("REMOTE_ADDR") != CLIENT_ADDRESS or \
            env.get("REQUEST_SCHEME") != "https" or env.get("HTTPS") != "on":
        report.append(f"through nginx: {status}, REMOTE_ADDR={env.get('REMOTE_ADDR')}, "
                      f"REQUEST_SCHEME={env.get('REQUEST_SCHEME')}, HTTPS={env.get('HTTPS')}")
    direct = http.client.HTTPConnection("127.0.0.1", instances[0].port, timeout=HANG_GUARD,
                                        source_address=(CLIENT_ADDRESS, 0))
    status, body = exchange(direct, "GET", "/cgi-bin/env", None,
                            {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"})
    env = environment_of(body.decode("utf-8", "replace"))
    if env.get("REMOTE_ADDR") != CLIENT_ADDRESS or env.get("REQUEST_SCHEME") != "http":
        report.append(f"an untrusted peer was believed: {env.get('REMOTE_ADDR')} "
                      f"{env.get('REQUEST_SCHEME')}")
    for n in range(UPLOADS):
        name, data = f"n{n}.bin", os.urandom(1000 + 997 * n)
        status, _ = through_nginx(port, "POST", "/cgi-bin/upload?tag=" + name,
                                  multipart(name, data),
                                  {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
        if status != 200:
            report.append(f"upload {name}: {status}")
            continue
        status, read = through_nginx(port, "GET", "/cgi-bin/download?file=" + name)
        if status != 200 or read != data:
            report.append(f"download {name}: {status}, {len(read)} bytes, not what was stored")
    elsewhere = stored_and_sent(instances)
    if elsewhere == 0:
        report.append("no upload was read back from the other instance")
    return elsewhere


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cgihost", required=True)
    parser.add_argument("--cgi-dir", required=True)
    parser.add_argument("--docroot", required=True)
    parser.add_argument("--nginx-config", required=True)
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = parser.parse_args()
    if not os.access(args.nginx, os.X_OK):
        print("nginx not installed (scripts/install-deps --test): skipped")
        return 77
    work = tempfile.mkdtemp(prefix="cgihost-nginx-")
    make_shared_data_dir(work)
    options = ["--trusted-proxies", "127.0.0.1"]
    instances = [Instance(i, free_port(), args, work, options) for i in range(2)]
    nginx = None
    report = []
    try:
        for instance in instances:
            instance.start()
        port = free_port()
        config = fill_nginx_config(args.nginx_config, work, port, instances)
        nginx = subprocess.Popen([args.nginx, "-p", work, "-c", config, "-e",
                                  os.path.join(work, "nginx-error.log")])
        wait_for_port(port)
        elsewhere = check(port, instances, report)
        if not report:
            print(f"nginx in front of 2 instances: REMOTE_ADDR and REQUEST_SCHEME from "
                  f"X-Forwarded-For/-Proto; {UPLOADS} uploads read back, {elsewhere} from the "
                  f"other instance", flush=True)
    except (OSError, RuntimeError, http.client.HTTPException) as error:
        report.append(repr(error))
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=HANG_GUARD)
        for instance in instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.terminate()
                instance.process.wait(timeout=HANG_GUARD)
        if not report:
            shutil.rmtree(work, ignore_errors=True)
    for line in report:
        print("FAIL: " + line)
    if report:
        print(f"logs kept in {work}")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
