"""Medians, ratios to the best peer (and for static files to the evhttp floor), and the files of
a run: JSON, CSV, table and PNG chart."""

import csv
import json
import os
import shutil
import statistics
import subprocess

from . import servers

MIB = 1 << 20
OURS = "cgihost"
TRUSTING = "cgihost-1s"  # cgihost with --file-check-interval 1: informational
FLOOR = servers.FLOOR
# The issues' targets for cgihost's req/s, as (scenario, minimum ratio to the best peer).
TARGETS = [("hello-c32", 1.2), ("hello-c128", 1.2), ("nolibc-c32", 2.0), ("nolibc-c128", 2.0),
           ("post64k-c32", 1.2),
           ("tls-static4k-c32", 1.0), ("tls-static1m-c32", 1.0), ("tls-hello-c32", 1.0),
           ("tls-handshake-c32", 1.0)]
# Issue 14's static targets: (scenario, the server compared with, minimum ratio to it).
STATIC_TARGETS = [("static4k-c32", FLOOR, 0.95), ("static4k-c32", "lighttpd", 1.0),
                  ("static1m-c32", "lighttpd", 1.0)]
HELD_TARGET_REQUESTS = 5000
HELD_RSS_LIMIT = 64 * MIB
SLOW_GROWTH_LIMIT = 16 * MIB
# body-cpu: CPU per MiB at the largest body over that at the smallest. "The same" (issue 10,
# item 3), with room for the 10 ms clock tick and the per-request cost the small bodies carry.
BODY_CPU_RATIO_LIMIT = 1.5


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def wrk_medians(results):
    """{(server, scenario): {"requests_per_second": m, "p99_ms": m}} over the rounds."""
    grouped = {}
    for record in results["wrk"]:
        if "error" in record:
            continue
        grouped.setdefault((record["server"], record["scenario"]), []).append(record)
    return {key: {metric: _median([r[metric] for r in records])
                  for metric in ("requests_per_second", "p99_ms")}
            for key, records in grouped.items()}


def ceiling_medians(results):
    grouped = {}
    for record in results["ceiling"]:
        key = (record["payload"], record["method"], record["processes"])
        grouped.setdefault(key, []).append(record["spawns_per_second"])
    return {key: statistics.median(values) for key, values in grouped.items()}


def best_ceiling(ceilings, payload):
    """The ceiling a CGI figure is compared with: the best method on 2 processes."""
    values = [v for (p, _, n), v in ceilings.items() if p == payload and n == 2]
    return max(values) if values else None


def is_peer(name):
    """Peers are the other real servers: neither cgihost nor the evhttp floor."""
    return servers.BY_NAME[name].peer if name in servers.BY_NAME else False


def best_peer(medians, scenario, metric):
    """The best peer's figure: the highest rate or the lowest latency among the peers."""
    values = [m[metric] for (server, key), m in medians.items()
              if key == scenario and is_peer(server) and m[metric]]
    if not values:
        return None
    return min(values) if metric == "p99_ms" else max(values)


def summary_rows(results, scenarios):
    medians, ceilings = wrk_medians(results), ceiling_medians(results)
    rows = []
    for scenario in scenarios:
        for metric in ("requests_per_second", "p99_ms"):
            best = best_peer(medians, scenario.key, metric)
            ceiling = best_ceiling(ceilings, scenario.ceiling) if scenario.ceiling else None
            floor = (medians.get((FLOOR, scenario.key), {}).get(metric)
                     if metric == "requests_per_second" else None)
            for server in servers.ALL:
                figures = medians.get((server.name, scenario.key))
                if not figures or figures[metric] is None:
                    continue
                value = figures[metric]
                rows.append({
                    "scenario": scenario.key, "label": scenario.label, "metric": metric,
                    "server": server.name, "median": round(value, 3),
                    "ratio_to_best_peer": round(value / best, 3) if best else None,
                    "ratio_to_floor": round(value / floor, 3) if floor else None,
                    "fraction_of_spawn_ceiling": (round(value / ceiling, 3)
                                                  if ceiling and metric == "requests_per_second"
                                                  else None)})
    return rows


def _cell(row):
    if row is None:
        return "-"
    if row["metric"] == "p99_ms":
        text = f"{row['median']:.1f}"
    else:
        text = f"{row['median']:,.0f}"
    if row["ratio_to_best_peer"] is not None:
        text += f" {row['ratio_to_best_peer']:.2f}x"
    if row["fraction_of_spawn_ceiling"] is not None:
        text += f" {row['fraction_of_spawn_ceiling']:.0%}"
    return text


WIDTH = 21  # of a server's column


def format_table(results, scenarios, rows):
    names = [s.name for s in servers.ALL if any(r["server"] == s.name for r in rows)]
    lines = ["Medians over the rounds. Each cell: figure, ratio to the best PEER in this run "
             "(for p99, lower is better),",
             "and for CGI req/s the fraction of the spawn ceiling (best method, 2 processes).",
             f"Peers: every server but cgihost and {FLOOR} (bench/static_floor.c, bare evhttp "
             "from memory); static req/s",
             f"also as a ratio to {FLOOR} (row \"x floor\"). TLS rows: TLS 1.3, ratio to the "
             "best TLS peer; Apache is not",
             "set up for TLS. TLS handshakes/s: every request on a new connection (wrk, "
             "Connection: close).",
             ""]
    header = f"{'scenario':26}{'metric':8}" + "".join(f"{n:>{WIDTH}}" for n in names)
    lines += [header, "-" * len(header)] if rows else ["(no wrk scenario was run)"]
    index = {(r["scenario"], r["metric"], r["server"]): r for r in rows}
    for scenario in scenarios:
        for metric, short in (("requests_per_second", "req/s"), ("p99_ms", "p99 ms")):
            cells = [index.get((scenario.key, metric, n)) for n in names]
            if not any(cells):
                continue
            lines.append(f"{scenario.label:26}{short:8}"
                         + "".join(f"{_cell(c):>{WIDTH}}" for c in cells))
            if any(c and c.get("ratio_to_floor") for c in cells):
                lines.append(f"{'':26}{'x floor':8}" + "".join(
                    f"{(format(c['ratio_to_floor'], '.2f') + 'x') if c else '-':>{WIDTH}}"
                    for c in cells))
            if scenario.key.endswith("static1m-c32") and metric == "requests_per_second":
                lines.append(f"{'':26}{'GB/s':8}" + "".join(
                    f"{format(c['median'] * MIB / 1e9, '.2f') if c else '-':>{WIDTH}}"
                    for c in cells))
    failed = [f"  {r['server']} {r['scenario']}: {r['error']}" for r in results["wrk"]
              if "error" in r]
    if failed:  # not measured at all: a wrong answer, or TLS below 1.3
        lines += ["", "FAILED checks (these scenarios were not measured):", *failed]
    sections = [format_tls_checks(results), format_ceiling(results), format_resources(results),
                format_idle(results), format_body_cpu(results), format_targets(results, rows)]
    for section in sections:
        if section:
            lines += ["", *section]
    return "\n".join(lines) + "\n"


def format_tls_checks(results):
    """What each TLS server negotiated, and whether the handshake test compares like with like:
    wrk resumes its session on reconnect, so a server that resumes does PSK handshakes."""
    checks = {r["server"]: r for r in results.get("tls", [])}  # the last round's
    if not checks:
        return []
    lines = ["TLS checks (a client offering TLS 1.2 and 1.3, as wrk does; then a 1.2-only client; "
             "then a second",
             "connection offering the first one's session):"]
    for name, r in checks.items():
        lines.append(f"  {name:16}{r['version']:10} 1.2-only client "
                     f"{'refused' if r['tls12_refused'] else 'accepted':9} sessions "
                     f"{'resumed' if r['resumes_sessions'] else 'not resumed'}")
    resumed = {r["resumes_sessions"] for r in checks.values()}
    if len(resumed) > 1:
        lines.append("  UNFAIR: some servers resume sessions and some do not; wrk resumes, so "
                     "handshakes/s compares PSK with full handshakes")
    else:
        lines.append("  Handshakes/s counts " + ("resumed (PSK, no certificate signature)"
                                                 if resumed.pop() else "full")
                     + " handshakes for every server alike.")
    return lines


def idle_ratios(results):
    """{server: its RSS bytes per idle connection / the best (lowest) peer's}."""
    records = [r for r in results.get("idle", []) if r["idle"]]
    peers = [r["rss_bytes_per_connection"] for r in records if is_peer(r["server"])]
    best = min(peers) if peers else None
    return {r["server"]: (r["rss_bytes_per_connection"] / best if best and best > 0 else None)
            for r in records}


def format_idle(results):
    records = results.get("idle", [])
    if not records:
        return []
    lines = ["Idle keep-alive memory (idle): each connection served one small GET and then sat "
             "idle; server RSS and PSS",
             "(all its processes) before the first connect and after all were idle, per "
             "connection. open = still open at",
             "the end; probes = connections asked a second request then. nginx allocates its "
             "worker_connections array at",
             "startup (in its 'before').",
             f"{'server':16}{'answered':>13}{'open':>7}{'probes':>8}{'RSS MiB before':>16}"
             f"{'after':>8}{'KiB/conn':>10}{'PSS KiB/conn':>14}{'x best peer':>13}"]
    ratios = idle_ratios(results)
    for r in records:
        ratio = ratios.get(r["server"])
        lines.append(f"{r['server']:16}{str(r['idle']) + '/' + str(r['connections']):>13}"
                     f"{r['still_open']:>7}"
                     f"{str(r['probes_answered']) + '/' + str(r['probes']):>8}"
                     f"{r['rss_before_bytes'] / MIB:>16.1f}{r['rss_after_bytes'] / MIB:>8.1f}"
                     f"{r['rss_bytes_per_connection'] / 1024:>10.2f}"
                     f"{r['pss_bytes_per_connection'] / 1024:>14.2f}"
                     f"{format(ratio, '.2f') + 'x' if ratio is not None else '-':>13}")
    return lines


def format_ceiling(results):
    ceilings = ceiling_medians(results)
    if not ceilings:
        return []
    lines = ["Spawn ceiling (spawns/s: pipe, spawn, read to EOF, reap; median over rounds)",
             f"{'payload':16}{'method':14}{'1 process':>12}{'2 processes':>14}"]
    for payload, method in dict.fromkeys((p, m) for p, m, _ in ceilings):
        one, two = ceilings.get((payload, method, 1)), ceilings.get((payload, method, 2))
        lines.append(f"{payload:16}{method:14}{one if one else '-':>12}{two if two else '-':>14}")
    return lines


def format_resources(results):
    lines = []
    if results["held"]:
        lines += ["Held sleepers (scenario 5). RSS = sum of VmRSS over the server's own "
                  "processes (master, workers,",
                  "helpers such as Apache's cgid daemon and fcgiwrap's preforked processes), "
                  "NOT the CGI children.",
                  "PSS divides shared pages among the processes sharing them (fairer to "
                  "preforking servers).",
                  f"Apache and nginx+fcgiwrap hold at most {servers.PEER_HELD_LIMIT:,} "
                  "(they cannot reasonably hold 5,000 here: see servers.PEER_HELD_LIMIT).",
                  f"{'server':16}{'answered':>12}{'all in s':>10}{'RSS base MiB':>14}"
                  f"{'RSS peak MiB':>14}{'PSS peak MiB':>14}{'CPU % waiting':>15}"
                  f"{'children':>10}"]
        for r in results["held"]:
            lines.append(f"{r['server']:16}{str(r['ok']) + '/' + str(r['requests']):>12}"
                         f"{r['seconds_to_all_answers']:>10}"
                         f"{r['rss_baseline_bytes'] / MIB:>14.1f}{r['rss_peak_bytes'] / MIB:>14.1f}"
                         f"{r['pss_peak_bytes'] / MIB:>14.1f}"
                         f"{r['cpu_percent_while_waiting']:>15}{r['peak_cgi_children']:>10}")
    if results["slow"]:
        lines += ["", "Slow client (scenario 6): server RSS (same processes) while a CGI body "
                      "goes to a client reading at 10 MiB/s;",
                  "temp files = the peak size of files the server held open in its temp dir "
                  "(a response buffered on disk).",
                  f"{'server':16}{'MiB read':>10}{'complete':>10}{'seconds':>9}"
                  f"{'RSS base MiB':>14}{'RSS peak MiB':>14}{'growth MiB':>12}"
                  f"{'temp files MiB':>16}"]
        for r in results["slow"]:
            lines.append(f"{r['server']:16}{r['received_bytes'] / MIB:>10.0f}"
                         f"{str(r['complete']):>10}{r['seconds']:>9}"
                         f"{r['rss_baseline_bytes'] / MIB:>14.1f}{r['rss_peak_bytes'] / MIB:>14.1f}"
                         f"{r['rss_growth_bytes'] / MIB:>12.1f}"
                         f"{r.get('spooled_peak_bytes', 0) / MIB:>16.0f}")
    return lines


def body_cpu_ratios(results):
    """{(server, framing): CPU ms/MiB at the largest body / at the smallest}, None if unknown."""
    by_key = {}
    for r in results.get("body_cpu", []):
        by_key.setdefault((r["server"], r["framing"]), {})[r["body_mib"]] = r["cpu_ms_per_mib"]
    ratios = {}
    for key, per_size in by_key.items():
        smallest, largest = per_size[min(per_size)], per_size[max(per_size)]
        ratios[key] = largest / smallest if smallest else None
    return ratios


def format_body_cpu(results):
    records = results.get("body_cpu", [])
    if not records:
        return []
    sizes = sorted({r["body_mib"] for r in records})
    lines = ["Request body CPU (body-cpu): server CPU (utime + stime of the server's own "
             "processes, not the scripts) per MiB",
             "of request body received, bodies posted one after another to a CGI that reads "
             "and discards them.",
             f"{'server':16}{'framing':9}" + "".join(f"{str(s) + ' MiB':>11}" for s in sizes)
             + f"{'largest/smallest':>18}"]
    ratios = body_cpu_ratios(results)
    index = {(r["server"], r["framing"], r["body_mib"]): r for r in records}
    for server, framing in dict.fromkeys((r["server"], r["framing"]) for r in records):
        cells = [index.get((server, framing, s)) for s in sizes]
        ratio = ratios.get((server, framing))
        lines.append(f"{server:16}{framing:9}"
                     + "".join(f"{c['cpu_ms_per_mib']:>11.3f}" if c else f"{'-':>11}"
                               for c in cells)
                     + (f"{ratio:>18.2f}" if ratio else f"{'-':>18}"))
    lines.append("(ms of CPU per MiB; failed bodies, if any, are in results.json)")
    return lines


def format_targets(results, rows):
    lines = ["cgihost against the issues' targets"]
    index = {(r["scenario"], r["metric"], r["server"]): r for r in rows}
    for scenario, minimum in TARGETS:
        row = index.get((scenario, "requests_per_second", OURS))
        if row and row["ratio_to_best_peer"] is not None:
            verdict = "met" if row["ratio_to_best_peer"] >= minimum else "NOT met"
            lines.append(f"  {scenario:17} {row['ratio_to_best_peer']:.2f}x the best peer "
                         f"(target ≥ {minimum}x): {verdict}")
            trusting = index.get((scenario, "requests_per_second", TRUSTING))
            if trusting and trusting["ratio_to_best_peer"] is not None:
                lines.append(f"  {'':17} ({trusting['ratio_to_best_peer']:.2f}x with "
                             "--file-check-interval 1, lighttpd's one-second trust)")
    for scenario, other, minimum in STATIC_TARGETS:
        ours = index.get((scenario, "requests_per_second", OURS))
        theirs = index.get((scenario, "requests_per_second", other))
        if ours and theirs and theirs["median"]:
            ratio = ours["median"] / theirs["median"]
            verdict = "met" if ratio >= minimum else "NOT met"
            lines.append(f"  {scenario:17} {ratio:.2f}x {other} (target ≥ {minimum}x): {verdict}")
            trusting = index.get((scenario, "requests_per_second", TRUSTING))
            if trusting and other != FLOOR:
                lines.append(f"  {'':17} ({trusting['median'] / theirs['median']:.2f}x {other} "
                             f"with --file-check-interval 1, lighttpd's one-second trust)")
    ours = index.get(("hello-c128", "p99_ms", OURS))
    if ours and ours["ratio_to_best_peer"] is not None:
        verdict = "met" if ours["ratio_to_best_peer"] <= 1.0 else "NOT met"
        lines.append(f"  hello-c128        p99 {ours['median']:.1f} ms, "
                     f"{ours['ratio_to_best_peer']:.2f}x the best peer's (target ≤ 1.0x): {verdict}")
    ratio = idle_ratios(results).get(OURS)
    if ratio is not None:
        record = next(r for r in results["idle"] if r["server"] == OURS)
        verdict = "met" if ratio <= 1.0 and record["all_open"] else "NOT met"
        lines.append(f"  idle keep-alive   {record['rss_bytes_per_connection'] / 1024:.2f} KiB per "
                     f"connection, {ratio:.2f}x the best peer, "
                     f"{'all' if record['all_open'] else 'NOT all'} kept open "
                     f"(target ≤ 1.0x, all open): {verdict}")
    for r in results["held"]:
        if r["server"] == OURS:
            verdict = ("met" if r["ok"] == r["requests"] >= HELD_TARGET_REQUESTS
                       and r["rss_peak_bytes"] < HELD_RSS_LIMIT else "NOT met")
            lines.append(f"  held              {r['ok']}/{r['requests']} answered, RSS peak "
                         f"{r['rss_peak_bytes'] / MIB:.1f} MiB (target all of "
                         f"{HELD_TARGET_REQUESTS:,}, < 64 MiB): {verdict}")
    for r in results["slow"]:
        if r["server"] == OURS:
            verdict = ("met" if r["complete"] and r["rss_growth_bytes"] < SLOW_GROWTH_LIMIT
                       else "NOT met")
            lines.append(f"  slow client       RSS growth {r['rss_growth_bytes'] / MIB:.1f} MiB "
                         f"over "
                         f"{r['body_bytes'] / MIB:.0f} MiB (target < 16 MiB): {verdict}")
    for (server, framing), ratio in body_cpu_ratios(results).items():
        if server == OURS and ratio is not None:
            all_ok = all(r["ok"] == r["bodies"] for r in results["body_cpu"]
                         if r["server"] == OURS and r["framing"] == framing)
            verdict = "met" if ratio <= BODY_CPU_RATIO_LIMIT and all_ok else "NOT met"
            lines.append(f"  body CPU          {framing}: {ratio:.2f}x the CPU per MiB at the "
                         f"largest body as at the smallest (target ≤ {BODY_CPU_RATIO_LIMIT}x, "
                         f"every body answered): {verdict}")
    return lines if len(lines) > 1 else []  # nothing of cgihost's was measured


def write_csv(path, records, fields):
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


def _memory_chart_rows(results):
    """The chart's lower panel: memory as a ratio to the best (lowest) peer, per server."""
    rows = []
    ratios = idle_ratios(results)
    if ratios:
        rows.append(("idle keep-alive KiB/conn", ratios))
    # Only servers that held as many as the first (cgihost) did: RSS grows with the count.
    requests = results["held"][0]["requests"] if results["held"] else None
    held = {r["server"]: r["rss_peak_bytes"] for r in results["held"]
            if r["rss_peak_bytes"] and r["requests"] == requests}
    peers = [v for name, v in held.items() if is_peer(name)]
    if held and peers:
        rows.append((f"held {requests} RSS peak", {n: v / min(peers) for n, v in held.items()}))
    return rows


def draw_chart(results, rows, scenarios, out_dir):
    """Clustered bars (gnuplot, PNG): on top req/s as a ratio to the best peer (static and TLS
    included, the evhttp floor as its own bar), below it memory as a ratio to the best peer."""
    memory = _memory_chart_rows(results)
    if not rows and not memory:
        return None
    if not shutil.which("gnuplot"):
        return "gnuplot missing: no chart"
    names = [s.name for s in servers.ALL
             if any(r["server"] == s.name for r in rows) or any(s.name in m for _, m in memory)]
    index = {(r["scenario"], r["server"]): r for r in rows if r["metric"] == "requests_per_second"}
    speed = os.path.join(out_dir, "chart.dat")
    with open(speed, "w") as file:
        file.write('"scenario" ' + " ".join(f'"{n}"' for n in names) + "\n")
        for scenario in scenarios:
            cells = [index.get((scenario.key, n)) for n in names]
            if not any(cells):
                continue
            values = [f"{c['ratio_to_best_peer']}" if c and c["ratio_to_best_peer"] else "-"
                      for c in cells]
            file.write(f'"{scenario.label}" ' + " ".join(values) + "\n")
    memory_data = os.path.join(out_dir, "chart-memory.dat")
    with open(memory_data, "w") as file:
        file.write('"what" ' + " ".join(f'"{n}"' for n in names) + "\n")
        for label, ratios in memory:
            values = [f"{ratios[n]:.3f}" if ratios.get(n) is not None else "-" for n in names]
            file.write(f'"{label}" ' + " ".join(values) + "\n")
    columns = len(names) + 1
    script = os.path.join(out_dir, "chart.gp")
    with open(script, "w") as file:
        file.write(f"""set terminal pngcairo size 1500,{1000 if memory else 700} font ",11"
set output "{os.path.join(out_dir, 'chart.png')}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing "-"
set key top right
set yrange [0:*]
set grid ytics
set xtics rotate by 25 right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2
""")
        if memory:
            file.write("set multiplot layout 2,1\nset size 1,0.68\nset origin 0,0.32\n")
        if rows:
            file.write('set title "req/s relative to the best peer in the same run (medians; '
                       '1.0 = best peer; higher is better)"\n'
                       f'plot for [i=2:{columns}] "{speed}" using i:xtic(1) '
                       'title columnheader(i)\n')
        if memory:
            file.write('set size 1,0.32\nset origin 0,0\nset xtics norotate\n'
                       'set title "server memory relative to the best peer (lower is better)"\n'
                       f'plot for [i=2:{columns}] "{memory_data}" using i:xtic(1) '
                       'title columnheader(i)\nunset multiplot\n')
    result = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    # A server with no bar in a panel (e.g. Apache in the memory panel) makes gnuplot warn that
    # its column has no valid points: expected, so not worth printing.
    problems = [line for line in result.stderr.splitlines()
                if line.strip() and "no valid points" not in line]
    return "\n".join(problems) or None


def write_all(results, scenarios, out_dir):
    rows = summary_rows(results, scenarios)
    with open(os.path.join(out_dir, "results.json"), "w") as file:
        json.dump(dict(results, summary=rows), file, indent=1, default=str)
    write_csv(os.path.join(out_dir, "wrk.csv"), results["wrk"],
              ["round", "server", "scenario", "requests_per_second", "p99_ms", "requests",
               "non_2xx", "socket_errors", "read_errors", "error"])
    write_csv(os.path.join(out_dir, "ceiling.csv"), results["ceiling"],
              ["round", "payload", "method", "processes", "spawns_per_second"])
    write_csv(os.path.join(out_dir, "held.csv"), results["held"],
              ["server", "requests", "sleep_seconds", "ok", "seconds_to_all_answers",
               "rss_baseline_bytes", "rss_peak_bytes", "pss_peak_bytes", "peak_cgi_children",
               "cpu_percent_while_waiting", "failures"])
    write_csv(os.path.join(out_dir, "slow.csv"), results["slow"],
              ["server", "body_bytes", "received_bytes", "complete", "seconds",
               "rss_baseline_bytes", "rss_peak_bytes", "rss_growth_bytes", "pss_peak_bytes",
               "spooled_peak_bytes"])
    write_csv(os.path.join(out_dir, "body_cpu.csv"), results.get("body_cpu", []),
              ["server", "framing", "body_mib", "bodies", "ok", "cpu_seconds", "seconds",
               "cpu_ms_per_mib", "failures"])
    write_csv(os.path.join(out_dir, "idle.csv"), results.get("idle", []),
              ["server", "connections", "idle", "still_open", "probes", "probes_answered",
               "seconds_to_open", "rss_before_bytes", "rss_after_bytes", "pss_before_bytes",
               "pss_after_bytes", "rss_bytes_per_connection", "pss_bytes_per_connection",
               "all_open", "failures"])
    write_csv(os.path.join(out_dir, "tls.csv"), results.get("tls", []),
              ["round", "server", "version", "tls12_refused", "resumes_sessions"])
    write_csv(os.path.join(out_dir, "summary.csv"), rows,
              ["scenario", "label", "metric", "server", "median", "ratio_to_best_peer",
               "ratio_to_floor", "fraction_of_spawn_ceiling"])
    table = format_table(results, scenarios, rows)
    with open(os.path.join(out_dir, "table.txt"), "w") as file:
        file.write(table)
    print()
    print(table)
    problem = draw_chart(results, rows, scenarios, out_dir)
    if problem:
        print(f"chart: {problem}")
