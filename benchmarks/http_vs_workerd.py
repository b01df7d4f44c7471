#!/usr/bin/env python3
"""Helpers of http_vs_workerd.sh (plain python3 standard library).

  port                          prints a free TCP port on 127.0.0.1
  quiet SECONDS                 waits up to SECONDS for a mostly idle machine
  wrk PID WRK_ARGS..            runs wrk and prints
                                "req/s p99_us requests non2xx socket_errors
                                other_cpu_%" (other_cpu: the machine's CPU
                                used by neither wrk nor server PID, in % of
                                all cores: other work on a shared machine)
  sum PORT TEMPLATE N PREFIX    prints the sum of the counters PREFIX-0..N-1
  json ROUNDS_TSV OUT_FILE K=V.. writes the result JSON (K=V pairs are params)
"""

import http.client
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import time

UNITS = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
TICK = os.sysconf("SC_CLK_TCK")
BUSY = 10  # % of all CPUs taken by other work that marks a run as busy


def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def busy_ticks():
    """Clock ticks all cores spent in user and system mode (interrupts are
    left out: loopback traffic's softirq time is charged to no process)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[0] + f[1] + f[2]


def quiet(seconds):
    # Other work (builds, tests) on a 2-core machine skews both servers;
    # wait for a window of >= 90% idle, but never longer than asked.
    deadline = time.time() + float(seconds)
    while True:
        t0, b0 = os.times().elapsed, busy_ticks()
        time.sleep(2)
        busy = (busy_ticks() - b0) / TICK / (os.times().elapsed - t0) / os.cpu_count()
        if busy <= 0.1 or time.time() >= deadline:
            print("%.0f" % (100 * busy))
            return


def proc_ticks(pid):
    # utime and stime, after the ")" that ends the command name
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def run_wrk(pid, *args):
    t0, b0, p0 = os.times().elapsed, busy_ticks(), proc_ticks(pid)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(("wrk",) + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
    other = ((busy_ticks() - b0 - proc_ticks(pid) + p0) / TICK - wrk_cpu) / (
        (os.times().elapsed - t0) * os.cpu_count())
    if r.returncode:
        sys.exit("wrk failed:\n" + r.stdout)
    text = r.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
    done = re.search(r"^\s*(\d+) requests in", text, re.M)
    if not (rps and p99 and done):
        sys.exit("cannot parse wrk output:\n" + text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                     r"timeout (\d+)", text)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    print(rps.group(1), "%.0f" % (float(p99.group(1)) * UNITS[p99.group(2)]),
          done.group(1), int(non2xx.group(1)) if non2xx else 0, errors,
          "%.0f" % max(0, 100 * other))


def total(port_, template, n, prefix):
    # One keep-alive connection: 1000 GETs take well under a second.
    conn = http.client.HTTPConnection("127.0.0.1", int(port_), timeout=30)
    s = 0
    for i in range(int(n)):
        path = template % ("%s-%d" % (prefix, i))
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit("GET %s: status %d" % (path, r.status))
        s += int(body)
    print(s)


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
            "runs": xs}


def write_json(tsv, out, kvs):
    rows = [line.split() for line in open(tsv) if line.strip()]
    # columns: case round server rps p99_us requests non2xx sock_errors
    # other_cpu_%
    cases, flagged, busy = {}, [], []
    for name in ("single", "spread"):
        c = {}
        for server in ("ours", "workerd"):
            rs = [r for r in rows if r[0] == name and r[2] == server]
            if not rs:
                continue
            c[server] = {"rps": stats([float(r[3]) for r in rs]),
                         "p99_us": stats([float(r[4]) for r in rs]),
                         "requests": [int(r[5]) for r in rs],
                         "non2xx": [int(r[6]) for r in rs],
                         "socket_errors": [int(r[7]) for r in rs],
                         "other_cpu_pct": [int(r[8]) for r in rs]}
            flagged += ["%s round %s %s" % (name, r[1], server)
                        for r in rs if int(r[6]) or int(r[7])]
            busy += ["%s round %s %s: %s%%" % (name, r[1], server, r[8])
                     for r in rs if int(r[8]) >= BUSY]
        if "ours" in c and "workerd" in c:
            c["rps_ratio"] = c["ours"]["rps"]["median"] / c["workerd"]["rps"]["median"]
            c["p99_ratio"] = (c["workerd"]["p99_us"]["median"] /
                              c["ours"]["p99_us"]["median"])
        cases[name] = c
    single = cases["single"]
    figures = {}
    for name, c in cases.items():
        for server in ("ours", "workerd"):
            figures["%s_%s_rps" % (name, server)] = c[server]["rps"]["median"]
            figures["%s_%s_p99_us" % (name, server)] = c[server]["p99_us"]["median"]
        figures[name + "_rps_ratio"] = c["rps_ratio"]
        figures[name + "_p99_ratio"] = c["p99_ratio"]
    params = dict(kv.split("=", 1) for kv in kvs)
    result = dict(name="http_vs_workerd", unit="req/s",
                  **{k: single["ours"]["rps"][k] for k in ("median", "min", "max", "runs")},
                  baseline=dict(name="workerd (localDisk)", **single["workerd"]["rps"]),
                  ratio=single["rps_ratio"], quick=params.get("quick") == "1",
                  figures=figures, params=params, cases=cases, flagged=flagged,
                  busy=busy)
    text = json.dumps(result, indent=2)
    # Lists of numbers on one line, as the other benchmarks write them.
    text = re.sub(r"\[\s+([-\d.,\se+]*?)\s+\]",
                  lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
    with open(out, "w") as f:
        f.write(text + "\n")
    for name, c in cases.items():
        print("%-6s ours %9.0f req/s p99 %8.0f us | workerd %8.0f req/s p99 %8.0f us"
              " | req/s x%.2f, p99 x%.2f" % (
                  name, c["ours"]["rps"]["median"], c["ours"]["p99_us"]["median"],
                  c["workerd"]["rps"]["median"], c["workerd"]["p99_us"]["median"],
                  c["rps_ratio"], c["p99_ratio"]))
    if flagged:
        print("FLAGGED (errors or non-2xx): " + ", ".join(flagged))
    if busy:
        print("BUSY (other work took >= %d%% of the CPUs): %s"
              % (BUSY, ", ".join(busy)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"port": port, "quiet": quiet, "wrk": run_wrk, "sum": total,
     "json": lambda *a: write_json(a[0], a[1], a[2:])}[cmd](*args)
