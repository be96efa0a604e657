"""clusterd against its peer static-file servers in one bench/run: the best
peer of each scenario, and the targets of issue 13 as ratios. Used by report.py."""

PEERS = ("nginx", "nginx-nosendfile", "lighttpd", "h2o")
SCENARIO_NAMES = {"keepalive": "a keep-alive tiny", "short": "b new conn/req", "big": "c 1 MiB file",
                  "idle": "d 2000 idle + load", "pinned": "f 1 worker, pinned"}


def idle_kib_per_conn(before, opened, count):
    """RSS added per idle connection: the sum over all the server's processes
    of VmRSS with the idle connections open, less the sum before, over their
    number. before and opened are {pid: [rss_kib, pss_kib]}."""
    if not before or not opened or not count:
        return None
    return (sum(v[0] for v in opened.values()) - sum(v[0] for v in before.values())) / count


def _get(summary, scenario, server, key):
    s = summary.get((scenario, server))
    return s.get(key) if s else None


def best_peer(summary, scenario, key="rps", lowest=False):
    """The peer with the highest (or lowest) figure in one scenario, or None."""
    found = [(p, _get(summary, scenario, p, key)) for p in PEERS]
    found = [(p, v) for p, v in found if v is not None]
    if not found:
        return None
    return (min if lowest else max)(found, key=lambda pv: pv[1])[0]


def _ratio(a, b):
    return a / b if a is not None and b else None


def _x(value):
    return "-" if value is None else f"{value:.2f}x"


def best_peer_cells(summary):
    """Per scenario: its best peer by req/s with its figures, clusterd's
    ratio to it in req/s (higher is better) and in CPU per request (lower is
    better)."""
    rows = []
    for scenario, name in SCENARIO_NAMES.items():
        if scenario == "idle":
            continue
        peer = best_peer(summary, scenario)
        if peer is None:
            continue
        rps, cpu = _get(summary, scenario, peer, "rps"), _get(summary, scenario, peer, "cpu_us")
        c_rps, c_cpu = _get(summary, scenario, "clusterd", "rps"), _get(summary, scenario, "clusterd", "cpu_us")
        cheapest = best_peer(summary, scenario, "cpu_us", lowest=True)
        rows.append([name, f"{peer} ({rps:,.0f} req/s, {'-' if cpu is None else f'{cpu:.1f}'} us)",
                     f"{_x(_ratio(c_rps, rps))} ({0 if c_rps is None else c_rps:,.0f} req/s)",
                     f"{_x(_ratio(c_cpu, cpu))} ({'-' if c_cpu is None else f'{c_cpu:.1f}'} us;"
                     f" least CPU: {cheapest})"])
    kib = {s: _get(summary, "idle", s, "idle_kib") for s in ("clusterd",) + PEERS}
    if any(v is not None for v in kib.values()):
        rows.append(["RSS KiB per idle connection", "", "",
                     ", ".join(f"{s} {'-' if v is None else f'{v:.1f}'}" for s, v in kib.items())])
    return rows


def best_peer_lines(summary):
    return [" | ".join(c for c in cells if c) for cells in best_peer_cells(summary)]


def target_lines(summary):
    """The speed and memory targets of issue 13, each with its figure and verdict."""
    def verdict(value, ok):
        return "n/a" if value is None else ("met" if ok(value) else "NOT met")

    out = []
    peer = best_peer(summary, "keepalive")
    value = _ratio(_get(summary, "keepalive", "clusterd", "rps"), _get(summary, "keepalive", peer, "rps"))
    out.append((f"keep-alive req/s >= best peer's ({peer})", _x(value), verdict(value, lambda v: v >= 1.0)))
    value = _ratio(_get(summary, "keepalive", "clusterd", "cpu_us"), _get(summary, "keepalive", peer, "cpu_us"))
    out.append((f"keep-alive CPU/request <= best peer's ({peer})", _x(value), verdict(value, lambda v: v <= 1.0)))
    value = _ratio(_get(summary, "short", "clusterd", "cpu_us"), _get(summary, "short", "h2o", "cpu_us"))
    out.append(("new conn CPU/request <= h2o's", _x(value), verdict(value, lambda v: v <= 1.0)))
    peer = best_peer(summary, "big")
    value = _ratio(_get(summary, "big", "clusterd", "rps"), _get(summary, "big", peer, "rps"))
    out.append((f"1 MiB req/s >= best peer's ({peer})", _x(value), verdict(value, lambda v: v >= 1.0)))
    value = _get(summary, "idle", "clusterd", "idle_kib")
    out.append(("RSS per idle keep-alive connection <= 8 KiB", "-" if value is None else f"{value:.1f} KiB",
                verdict(value, lambda v: v <= 8.0)))
    return out
