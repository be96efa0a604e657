#!/usr/bin/env python3
"""Turns the raw files of one bench/run into a table, CSV files, markdown and a chart.

    report.py metrics HOST PORT WORKERS
        Asks clusterd's /metrics over fresh connections until every worker
        answered once; prints "requests WORKER COUNT" and "connections WORKER
        COUNT" lines.

    report.py summarise RAW_DIR OUT_DIR CHART_SCRIPT [KEY=VALUE]...
        Reads RAW_DIR/ROUND/SCENARIO/SERVER/* as bench/run wrote them, prints
        the table, writes OUT_DIR/latest.{csv,md,png}, latest-rounds.csv and
        copies of both CSV files named after stamp=... if given. KEY=VALUE pairs describe the
        run (rounds, duration, workers, versions). Exits 1 when a server did
        not answer in some measurement, 0 otherwise; speed never fails it.
"""

import csv
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys

import peers

SERVERS = ("clusterd",) + peers.PEERS + ("node",)
CHART_SERVERS = ("clusterd", "nginx", "node")
LOAD_SCENARIOS = {
    "keepalive": "a keep-alive tiny file (wrk -c64)",
    "short": "b new connection per request (ab -c32)",
    "big": "c 1 MiB file (wrk -c16)",
    "idle": "d 2000 idle conns + keep-alive tiny (wrk -c64)",
    "pinned": "f 1 worker on one CPU, wrk -t1 -c64 on the other",
}
COLD_SCENARIO = "cold"
COLD_SERVERS = {
    "clusterd": "clusterd socket-activated: first connection to first byte",
    "clusterd-spawn": "clusterd standalone: spawn to first byte",
    "node": "node cluster: spawn to first byte",
}
SHORT_NAMES = {"keepalive": "keep-alive", "short": "new conn/req", "big": "1 MiB file", "idle": "2000 idle + load",
               "pinned": "1 worker, pinned"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
METRIC_RE = re.compile(r'^clusterd_worker_(requests_total|connections)\{worker="(\d+)"\}\s+(\d+)', re.M)
TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


# --- parsing the tools' output -------------------------------------------


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def wrk_time_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * TIME_UNITS[m.group(2)] if m else None


def parse_wrk(text):
    """Returns dict(rps, p50, p99, requests, errors) or None."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    total = re.search(r"^\s*(\d+) requests in ", text, re.M)
    if not rps or not total:
        return None
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = int(non2xx.group(1)) if non2xx else 0
    return {
        "rps": float(rps.group(1)),
        "p50": wrk_time_ms(p50.group(1)) if p50 else None,
        "p99": wrk_time_ms(p99.group(1)) if p99 else None,
        "requests": int(total.group(1)),
        "good": int(total.group(1)) - bad,
        "errors": errors + bad,
    }


def parse_ab(text, csv_text):
    rps = re.search(r"^Requests per second:\s+([\d.]+)", text, re.M)
    complete = re.search(r"^Complete requests:\s+(\d+)", text, re.M)
    if not rps or not complete:
        return None
    failed = re.search(r"^Failed requests:\s+(\d+)", text, re.M)
    non2xx = re.search(r"^Non-2xx responses:\s+(\d+)", text, re.M)
    bad = (int(failed.group(1)) if failed else 0) + (int(non2xx.group(1)) if non2xx else 0)
    pct = {}
    for line in (csv_text or "").splitlines()[1:]:
        key, _, value = line.partition(",")
        if key.isdigit():
            pct[int(key)] = float(value)
    return {
        "rps": float(rps.group(1)),
        "p50": pct.get(50),
        "p99": pct.get(99),
        "requests": int(complete.group(1)),
        "good": int(complete.group(1)) - bad,
        "errors": bad,
    }


def parse_pid_values(text):
    """Parses "PID VALUE..." lines into {pid: [values]}."""
    out = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = [int(x) for x in parts[1:]]
    return out


def parse_metrics(text):
    requests, conns = {}, {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "requests":
            requests[parts[1]] = int(parts[2])
        elif len(parts) == 3 and parts[0] == "connections":
            conns[parts[1]] = int(parts[2])
    return requests, conns


def spread(values, floor=1):
    """max/min of per-worker amounts; None when their sum is below floor, too
    little to judge; infinity when some worker got nothing at all."""
    if len(values) < 2 or sum(values) < floor:
        return None
    if min(values) <= 0:
        return float("inf")
    return max(values) / min(values)


# --- one measurement -------------------------------------------------------


def load_measurement(path, scenario):
    if scenario == "short":
        result = parse_ab(read(os.path.join(path, "ab.out")) or "", read(os.path.join(path, "ab.csv")))
    else:
        result = parse_wrk(read(os.path.join(path, "wrk.out")) or "")
    m = {"answered": bool(result and result["good"] > 0)}
    m.update(result or {"rps": None, "p50": None, "p99": None, "requests": 0, "good": 0, "errors": None})

    before = parse_pid_values(read(os.path.join(path, "cpu.before")))
    after = parse_pid_values(read(os.path.join(path, "cpu.after")))
    m["cpu_fair"] = None
    m["cpu_s"] = None
    if before and set(before) == set(after):
        deltas = {p: after[p][0] - before[p][0] for p in before}
        # fairness among the workers only, not the manager or helpers
        workers = (read(os.path.join(path, "workers")) or "").split() or list(deltas)
        m["cpu_fair"] = spread([deltas[p] for p in workers if p in deltas], floor=20)
        m["cpu_s"] = sum(deltas.values()) / CLOCK_TICKS
    # the workers' CPU time per answered request: what the server itself
    # spends, apart from the load generator that shares the CPUs
    m["cpu_us"] = m["cpu_s"] * 1e6 / m["requests"] if m["cpu_s"] is not None and m["requests"] else None

    rss = parse_pid_values(read(os.path.join(path, "rss.after")))
    m["rss_kib"] = statistics.median(v[0] for v in rss.values()) if rss else None
    m["pss_kib"] = statistics.median(v[1] for v in rss.values() if len(v) > 1) if rss else None

    req_before, _ = parse_metrics(read(os.path.join(path, "metrics.before")))
    req_after, _ = parse_metrics(read(os.path.join(path, "metrics.after")))
    m["req_fair"] = None
    if req_before and set(req_before) == set(req_after):
        m["req_fair"] = spread([req_after[w] - req_before[w] for w in req_before], floor=100)
    # In the idle scenario metrics.before is taken with the idle connections open.
    _, conns = parse_metrics(read(os.path.join(path, "metrics.before"))) if scenario == "idle" else (None, {})
    m["conn_fair"] = spread(list(conns.values())) if conns else None
    m["conns"] = "/".join(str(conns[w]) for w in sorted(conns, key=int)) if conns else ""

    idle = read(os.path.join(path, "idle.out")) or ""
    opened = re.search(r"open=(\d+)", idle)
    alive = re.findall(r"alive=(\d+)", idle)
    m["idle_open"] = int(opened.group(1)) if opened else None
    m["idle_alive"] = int(alive[-1]) if alive else None
    lingering = re.search(r"lingering=(\d+)", idle)
    m["idle_lingering"] = int(lingering.group(1)) if lingering else None
    m["idle_kib"] = peers.idle_kib_per_conn(parse_pid_values(read(os.path.join(path, "rss.idle-before"))),
                                            parse_pid_values(read(os.path.join(path, "rss.idle-open"))),
                                            m["idle_open"])
    return m


def load_cold(path):
    text = (read(os.path.join(path, "first-byte.ms")) or "").strip()
    try:
        value = float(text)
    except ValueError:
        value = None
    return {"answered": value is not None, "ms": value}


def load_baseline(raw_dir):
    """{server: (rss_kib, pss_kib)} per worker right after the warm-up."""
    out = {}
    for server in SERVERS:
        rss = parse_pid_values(read(os.path.join(raw_dir, "baseline", server, "rss.after")))
        if rss:
            out[server] = (statistics.median(v[0] for v in rss.values()),
                           statistics.median(v[1] for v in rss.values() if len(v) > 1))
    return out


def load_raw(raw_dir):
    """Returns [(round, scenario, server, measurement)] in run order."""
    rows = []
    for rnd in sorted(os.listdir(raw_dir), key=lambda r: int(r) if r.isdigit() else 0):
        rdir = os.path.join(raw_dir, rnd)
        if not rnd.isdigit() or not os.path.isdir(rdir):
            continue
        for scenario in list(LOAD_SCENARIOS) + [COLD_SCENARIO]:
            sdir = os.path.join(rdir, scenario)
            if not os.path.isdir(sdir):
                continue
            for server in sorted(os.listdir(sdir)):
                path = os.path.join(sdir, server)
                m = load_cold(path) if scenario == COLD_SCENARIO else load_measurement(path, scenario)
                rows.append((int(rnd), scenario, server, m))
    return rows


# --- summary ---------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def rounds_below(rows, scenario, key):
    """(k, n): in k of the n rounds where both answered, clusterd's figure was
    below nginx's in that same round. The medians alone hide how often the
    order flips from round to round."""
    by_round = {}
    for rnd, sc, sv, m in rows:
        if sc == scenario and sv in ("clusterd", "nginx") and m.get(key) is not None:
            by_round.setdefault(rnd, {})[sv] = m[key]
    pairs = [r for r in by_round.values() if len(r) == 2]
    return sum(1 for r in pairs if r["clusterd"] < r["nginx"]), len(pairs)


def summarise_rows(rows, baseline):
    summary = {}
    for server, (rss, pss) in baseline.items():
        summary[("baseline", server)] = {"rounds": 1, "failed": 0, "rss_kib": rss, "pss_kib": pss}
    for scenario in LOAD_SCENARIOS:
        for server in SERVERS:
            ms = [m for _, sc, sv, m in rows if sc == scenario and sv == server]
            if not ms:
                continue
            summary[(scenario, server)] = {
                "rounds": len(ms),
                "failed": sum(1 for m in ms if not m["answered"]),
                "rps": median(m["rps"] for m in ms),
                "p50": median(m["p50"] for m in ms),
                "p99": median(m["p99"] for m in ms),
                "errors": sum(m["errors"] or 0 for m in ms),
                "cpu_fair": median(m["cpu_fair"] for m in ms),
                "cpu_us": median(m["cpu_us"] for m in ms),
                "req_fair": median(m["req_fair"] for m in ms),
                "conn_fair": median(m["conn_fair"] for m in ms),
                "conns": ms[-1]["conns"],
                "rss_kib": median(m["rss_kib"] for m in ms),
                "pss_kib": median(m["pss_kib"] for m in ms),
                "idle_open": min((m["idle_open"] for m in ms if m["idle_open"] is not None), default=None),
                "idle_alive": min((m["idle_alive"] for m in ms if m["idle_alive"] is not None), default=None),
                "idle_lingering": max((m["idle_lingering"] for m in ms if m["idle_lingering"] is not None),
                                      default=None),
                "idle_kib": median(m.get("idle_kib") for m in ms),
            }
        c, n, o = (summary.get((scenario, s)) for s in CHART_SERVERS)
        if c:
            c["rps_vs_nginx"] = ratio(c["rps"], n and n["rps"])
            c["rps_vs_node"] = ratio(c["rps"], o and o["rps"])
            c["p99_vs_nginx"] = ratio(c["p99"], n and n["p99"])
            c["p99_vs_node"] = ratio(c["p99"], o and o["p99"])
            c["p99_rounds_below_nginx"] = rounds_below(rows, scenario, "p99")
    for server in COLD_SERVERS:
        ms = [m for _, sc, sv, m in rows if sc == COLD_SCENARIO and sv == server]
        if ms:
            summary[(COLD_SCENARIO, server)] = {
                "rounds": len(ms),
                "failed": sum(1 for m in ms if not m["answered"]),
                "ms": median(m["ms"] for m in ms),
            }
    c, o = summary.get((COLD_SCENARIO, "clusterd")), summary.get((COLD_SCENARIO, "node"))
    if c:
        c["ms_vs_node"] = ratio(c["ms"], o and o["ms"])
    return summary


def fmt(value, spec, unit=""):
    return "-" if value is None else f"{value:{spec}}{unit}"


def fmt_rps(value):
    return "-" if value is None else f"{value:,.0f}"


def fmt_mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def table_rows(summary):
    """The rows shared by the text and markdown tables."""
    rows = []
    for scenario, title in LOAD_SCENARIOS.items():
        for server in SERVERS:
            s = summary.get((scenario, server))
            if not s:
                continue
            rows.append([
                title if server == SERVERS[0] else "",
                server,
                fmt_rps(s["rps"]),
                fmt(s["p50"], ".2f"),
                fmt(s["p99"], ".2f"),
                fmt(s.get("rps_vs_nginx"), ".2f", "x") if server == "clusterd" else "",
                fmt(s.get("rps_vs_node"), ".2f", "x") if server == "clusterd" else "",
                fmt(s["cpu_us"], ".1f"),
                fmt(s["cpu_fair"], ".2f"),
                fmt(s["req_fair"], ".2f") if server == "clusterd" else "",
                fmt_mib(s["rss_kib"]),
                str(s["errors"]) + (f" ({s['failed']} failed)" if s["failed"] else ""),
            ])
    return rows


TABLE_HEAD = ["scenario", "server", "req/s", "p50 ms", "p99 ms", "vs nginx", "vs node",
              "cpu us/req", "cpu max/min", "req max/min", "RSS MiB/worker", "errors"]


def text_table(rows):
    widths = [max(len(r[i]) for r in rows + [TABLE_HEAD]) for i in range(len(TABLE_HEAD))]
    right = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
    out = []
    for row in [TABLE_HEAD] + rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  ".join(cells).rstrip())
    return out


def cold_lines(summary):
    lines = []
    for server, title in COLD_SERVERS.items():
        s = summary.get((COLD_SCENARIO, server))
        if s:
            failed = f" ({s['failed']} of {s['rounds']} failed)" if s["failed"] else ""
            lines.append((title, fmt(s["ms"], ".1f", " ms") + failed))
    c = summary.get((COLD_SCENARIO, "clusterd"))
    if c and c.get("ms_vs_node") is not None:
        lines.append(("clusterd/node (lower is faster)", f"{c['ms_vs_node']:.2f}x"))
    return lines


def memory_lines(summary):
    parts = []
    for server in SERVERS:
        s = summary.get(("baseline", server))
        if s:
            parts.append(f"{server} {fmt_mib(s['rss_kib'])} (PSS {fmt_mib(s['pss_kib'])})")
    return ["RSS MiB per worker after the warm-up, before the rounds: " + ", ".join(parts)] if parts else []


def idle_lines(summary):
    out = []
    for server in SERVERS:
        s = summary.get(("idle", server))
        if s and s["idle_open"] is not None:
            out.append(f"d, {server}: {s['idle_open']} idle connections opened, {fmt(s['idle_alive'], 'd')} still open"
                       f" after the load, {fmt(s['idle_lingering'], 'd')} not yet closed by the server 1 s after"
                       " the clients closed them (worst round)")
    c = summary.get(("idle", "clusterd"))
    if c and c["conns"]:
        out.append(f"d, clusterd connections per worker while the idle ones were open: {c['conns']}"
                   f" (max/min {fmt(c['conn_fair'], '.2f')})")
    return out


def target_lines(summary):
    """Each target of issue 5 with the measured figure and met / not met."""
    def get(scenario, server, key):
        s = summary.get((scenario, server))
        return s.get(key) if s else None

    def verdict(value, ok):
        return "n/a" if value is None else ("met" if ok(value) else "NOT met")

    out = []
    for label, value, goal, ok in (
        ("keep-alive tiny >= 1.2 x nginx", get("keepalive", "clusterd", "rps_vs_nginx"), "1.20x", lambda v: v >= 1.2),
        ("keep-alive tiny >= 2.5 x node", get("keepalive", "clusterd", "rps_vs_node"), "2.50x", lambda v: v >= 2.5),
        ("new conn per request >= 1.0 x nginx", get("short", "clusterd", "rps_vs_nginx"), "1.00x", lambda v: v >= 1.0),
        ("1 MiB file >= 1.0 x nginx", get("big", "clusterd", "rps_vs_nginx"), "1.00x", lambda v: v >= 1.0),
    ):
        out.append((label, fmt(value, ".2f", "x"), verdict(value, ok)))
    for scenario, name in SHORT_NAMES.items():
        c, n = get(scenario, "clusterd", "p99"), get(scenario, "nginx", "p99")
        value = ratio(c, n)
        below = get(scenario, "clusterd", "p99_rounds_below_nginx")
        rounds = f" (lower in {below[0]} of {below[1]} rounds)" if below and below[1] else ""
        out.append((f"p99 <= nginx's ({name})", f"{fmt(c, '.2f')} vs {fmt(n, '.2f')} ms{rounds}",
                    verdict(value, lambda v: v <= 1.0)))
    for when, scenario in (("after warm-up", "baseline"), ("after keep-alive load", "keepalive")):
        c, n = get(scenario, "clusterd", "rss_kib"), get(scenario, "nginx", "rss_kib")
        value = ratio(c, n)
        out.append((f"RSS per worker <= half of nginx's ({when})",
                    f"{fmt_mib(c)} vs {fmt_mib(n)} MiB ({fmt(value, '.2f', 'x')})", verdict(value, lambda v: v <= 0.5)))
    for scenario in ("keepalive", "short"):
        req, cpu = get(scenario, "clusterd", "req_fair"), get(scenario, "clusterd", "cpu_fair")
        judged = req if req is not None else cpu
        out.append((f"fairness <= 1.2 ({SHORT_NAMES[scenario]})", f"requests {fmt(req, '.2f')}, cpu {fmt(cpu, '.2f')}",
                    verdict(judged, lambda v: v <= 1.2)))
    return out


# --- output files ----------------------------------------------------------

SUMMARY_FIELDS = ["scenario", "server", "rounds", "failed_rounds", "requests_per_s", "p50_ms", "p99_ms",
                  "rps_vs_nginx", "rps_vs_node", "p99_vs_nginx", "p99_vs_node", "cpu_us_per_request",
                  "cpu_max_min", "requests_max_min", "conn_max_min", "rss_kib_per_worker", "pss_kib_per_worker", "errors", "idle_open", "idle_alive",
                  "idle_lingering", "first_byte_ms", "first_byte_vs_node"]
ROUND_FIELDS = ["round", "scenario", "server", "answered", "requests_per_s", "p50_ms", "p99_ms", "requests", "errors",
                "cpu_s", "cpu_us_per_request", "cpu_max_min", "requests_max_min", "conn_max_min", "connections_per_worker",
                "rss_kib_per_worker", "pss_kib_per_worker", "idle_open", "idle_alive", "idle_lingering", "first_byte_ms"]


def num(value, digits=3):
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def write_summary_csv(path, summary):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SUMMARY_FIELDS)
        for (scenario, server), s in summary.items():
            w.writerow([scenario, server, s["rounds"], s["failed"], num(s.get("rps"), 1), num(s.get("p50")),
                        num(s.get("p99")), num(s.get("rps_vs_nginx")), num(s.get("rps_vs_node")),
                        num(s.get("p99_vs_nginx")), num(s.get("p99_vs_node")), num(s.get("cpu_us"), 1),
                        num(s.get("cpu_fair")),
                        num(s.get("req_fair")), num(s.get("conn_fair")), num(s.get("rss_kib"), 0),
                        num(s.get("pss_kib"), 0), num(s.get("errors")), num(s.get("idle_open")),
                        num(s.get("idle_alive")), num(s.get("idle_lingering")), num(s.get("ms"), 2),
                        num(s.get("ms_vs_node"))])


def write_rounds_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(ROUND_FIELDS)
        for rnd, scenario, server, m in rows:
            w.writerow([rnd, scenario, server, int(m["answered"]), num(m.get("rps"), 1), num(m.get("p50")),
                        num(m.get("p99")), num(m.get("requests")), num(m.get("errors")), num(m.get("cpu_s"), 2),
                        num(m.get("cpu_us"), 1), num(m.get("cpu_fair")), num(m.get("req_fair")), num(m.get("conn_fair")), m.get("conns", ""),
                        num(m.get("rss_kib"), 0), num(m.get("pss_kib"), 0), num(m.get("idle_open")),
                        num(m.get("idle_alive")), num(m.get("idle_lingering")), num(m.get("ms"), 2)])


def write_markdown(path, meta, header, rows, summary):
    lines = [f"### clusterd vs nginx vs Node.js cluster ({meta.get('date', '')})", ""]
    lines += [f"- {line}" for line in header]
    lines += ["", "| " + " | ".join(TABLE_HEAD) + " |", "|" + "---|" * len(TABLE_HEAD)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    lines += ["", "| cold start | median |", "|---|---|"]
    lines += [f"| {title} | {value} |" for title, value in cold_lines(summary)]
    lines += [""] + [f"- {line}." for line in memory_lines(summary) + idle_lines(summary)]
    lines += ["", "| scenario | best peer by req/s | clusterd / it, req/s | clusterd / it, CPU per request |",
              "|---|---|---|---|"]
    lines += [f"| {' | '.join(cells)} |" for cells in peers.best_peer_cells(summary)]
    lines += ["", "| target (issue 13) | measured | |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {verdict} |" for label, value, verdict in peers.target_lines(summary)]
    lines += ["", "| target (issue 5) | measured | |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {verdict} |" for label, value, verdict in target_lines(summary)]
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_chart(out_dir, chart_script, summary, title):
    data = os.path.join(out_dir, "chart-rps.dat")
    with open(data, "w") as f:
        f.write("# scenario clusterd nginx node (req/s relative to nginx) then absolute req/s\n")
        for scenario, name in SHORT_NAMES.items():
            rps = [summary.get((scenario, s), {}).get("rps") for s in CHART_SERVERS]
            if rps[1] is None:
                continue
            rel = [(r / rps[1]) if r is not None else 0 for r in rps]
            absolute = [f"{r:.0f}" if r is not None else "0" for r in rps]
            f.write(f'"{name}" {rel[0]:.4f} {rel[1]:.4f} {rel[2]:.4f} {" ".join(absolute)}\n')
    cold = os.path.join(out_dir, "chart-cold.dat")
    with open(cold, "w") as f:
        f.write("# label first-byte-ms colour\n")
        for server, label, colour in (("clusterd", "clusterd\\n(socket)", 0x1F77B4),
                                      ("clusterd-spawn", "clusterd\\n(spawn)", 0x1F77B4),
                                      ("node", "node\\n(spawn)", 0xFF7F0E)):
            ms = summary.get((COLD_SCENARIO, server), {}).get("ms")
            if ms is not None:
                f.write(f'"{label}" {ms:.2f} {colour}\n')
    png = os.path.join(out_dir, "latest.png")
    result = subprocess.run(["gnuplot", "-e", f"rps_data='{data}'; cold_data='{cold}'; out='{png}'; chart_title='{title}'",
                             chart_script], capture_output=True, text=True)
    os.unlink(data)
    os.unlink(cold)
    if result.returncode != 0:
        print(f"report: gnuplot failed: {result.stderr.strip()}", file=sys.stderr)
        return None
    return png


def summarise(raw_dir, out_dir, chart_script, pairs):
    meta = dict(p.split("=", 1) for p in pairs if "=" in p)
    rows = load_raw(raw_dir)
    summary = summarise_rows(rows, load_baseline(raw_dir))
    header = [
        f"machine: {meta.get('cpus', '?')} CPUs, {meta.get('cpu_model', '?')}, Linux {meta.get('kernel', '?')}",
        f"run: {meta.get('rounds', '?')} alternating rounds x {meta.get('duration', '?')} s per measurement, "
        f"{meta.get('workers', '?')} workers per server, medians over rounds; date {meta.get('date', '?')}",
        f"versions: {meta.get('clusterd', 'clusterd ?')}, {meta.get('nginx', '?')}, node {meta.get('node', '?')}, "
        f"{meta.get('wrk', '?')}",
    ]
    trows = table_rows(summary)

    print()
    for line in header:
        print(line)
    print()
    for line in text_table(trows):
        print(line)
    print()
    print("e cold start, median ms to the first byte of the first answer")
    width = max((len(t) for t, _ in cold_lines(summary)), default=0)
    for title, value in cold_lines(summary):
        print(f"  {title.ljust(width)}  {value}")
    print()
    for line in memory_lines(summary) + idle_lines(summary):
        print(line)
    print()
    print("clusterd against the best peer of each scenario (nginx, nginx-nosendfile, lighttpd, h2o)")
    for line in peers.best_peer_lines(summary):
        print(f"  {line}")
    print()
    for title, targets in (("issue 13", peers.target_lines(summary)), ("issue 5", target_lines(summary))):
        print(f"targets of {title} (informational; nothing here fails the run)")
        w1 = max(len(t[0]) for t in targets)
        w2 = max(len(t[1]) for t in targets)
        for label, value, verdict in targets:
            print(f"  {label.ljust(w1)}  {value.ljust(w2)}  {verdict}")
        print()
    print("cpu us/req: all the server's processes' CPU time (user + system) over the load window per answered request;")
    print("cpu max/min: per-worker CPU time over the load window, busiest/idlest worker (all servers);")
    print("req max/min: per-worker request counts from clusterd's /metrics (clusterd only). 1.00 is perfectly even.")

    os.makedirs(out_dir, exist_ok=True)
    stamp = meta.get("stamp")  # empty: no time-stamped copies (quick runs)
    write_summary_csv(os.path.join(out_dir, "latest.csv"), summary)
    write_rounds_csv(os.path.join(out_dir, "latest-rounds.csv"), rows)
    if stamp:
        shutil.copyfile(os.path.join(out_dir, "latest.csv"), os.path.join(out_dir, f"{stamp}.csv"))
        shutil.copyfile(os.path.join(out_dir, "latest-rounds.csv"), os.path.join(out_dir, f"{stamp}-rounds.csv"))
    write_markdown(os.path.join(out_dir, "latest.md"), meta, header, trows, summary)
    title = f"{meta.get('workers', '?')} workers each, {meta.get('cpus', '?')} CPUs, {meta.get('date', '')}"
    if ("pinned", "clusterd") in summary:
        title = title.replace(" each,", " each (1 in the pinned one),", 1)
    png = write_chart(out_dir, chart_script, summary, title)
    print()
    print(f"written: {out_dir}/latest.csv, latest-rounds.csv, latest.md" + (", latest.png" if png else "")
          + (f", {stamp}.csv, {stamp}-rounds.csv" if stamp else ""))

    failed = sorted({(sc, sv) for _, sc, sv, m in rows if not m["answered"]})
    if failed:
        print("FAILED: no answer from " + ", ".join(f"{sv} in {sc}" for sc, sv in failed), file=sys.stderr)
        return 1
    return 0


# --- clusterd /metrics -----------------------------------------------------


def poll_metrics(host, port, workers, attempts=200):
    """Asks /metrics on fresh connections until every worker answered once."""
    requests, conns = {}, {}
    for _ in range(attempts):
        conn = http.client.HTTPConnection(host, port, timeout=2)
        try:
            conn.request("GET", "/metrics", headers={"Connection": "close"})
            body = conn.getresponse().read().decode(errors="replace")
        except (OSError, http.client.HTTPException):
            continue
        finally:
            conn.close()
        for kind, worker, value in METRIC_RE.findall(body):
            target = requests if kind == "requests_total" else conns
            target.setdefault(worker, int(value))
        if len(requests) >= workers:
            break
    for worker in sorted(requests, key=int):
        print(f"requests {worker} {requests[worker]}")
    for worker in sorted(conns, key=int):
        print(f"connections {worker} {conns[worker]}")
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "metrics":
        return poll_metrics(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) >= 4 and argv[0] == "summarise":
        return summarise(argv[1], argv[2], argv[3], argv[4:])
    sys.exit(__doc__.strip())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
