"""Reading a server's processes from /proc: which they are, their memory and their CPU time.

A server's processes are the trees under the pids we started (for nginx + fcgiwrap both trees).
CGI children are left out: any process whose executable lies in the payload directory, or is a
shell (hello.sh), is a script, not the server. A child that has forked but not yet exec'd still
counts as the server for that instant, which is what it costs.
"""

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SHELLS = {"/usr/bin/dash", "/bin/dash", "/usr/bin/bash", "/bin/bash"}


def _parent_map():
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return parents


def _descendants(roots):
    parents = _parent_map()
    children = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], [pid for pid in roots if pid in parents]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _executable(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def _is_script(pid, payload_dir):
    executable = _executable(pid)
    return executable.startswith(payload_dir + "/") or executable in SHELLS


def split_processes(roots, payload_dir):
    """Returns (server pids, CGI child pids) of the trees under roots."""
    server, scripts = [], []
    for pid in _descendants(roots):
        (scripts if _is_script(pid, payload_dir) else server).append(pid)
    return server, scripts


def rss_bytes(pids):
    """Sum of VmRSS over pids (shared pages are counted once per process, as RSS does)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def pss_bytes(pids):
    """Sum of Pss over pids: shared pages divided among the processes sharing them, so a
    preforking server's copies of the same library are not counted again and again."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def spooled_bytes(pids, directory):
    """Bytes of the regular files under directory that pids hold open, unlinked ones included:
    what a server buffers on disk (lighttpd's and nginx's temp files) instead of in memory."""
    seen, total = set(), 0
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if not target.startswith(directory + "/"):
                    continue
                info = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen and info.st_mode & 0o170000 == 0o100000:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def cpu_seconds_by_pid(pids):
    """{pid: user + system CPU seconds so far} for the pids still alive."""
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return seconds


def cpu_seconds(pids):
    """User + system CPU time the live pids have used so far."""
    return sum(cpu_seconds_by_pid(pids).values())


def cpu_seconds_between(before, after):
    """CPU used between two cpu_seconds_by_pid readings by the pids alive at both: a pid that
    ended in between (a forked child that exec'd a script) would otherwise take its time away
    and could make the difference negative."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())
