#!/usr/bin/env python3
"""Measures how long a freshly spawned server takes to send its first byte.

    first-byte.py HOST PORT PATH TIMEOUT_S -- COMMAND [ARG]...

Spawns COMMAND in its own session, then tries a GET on HOST:PORT every
millisecond until a response starts. Prints the milliseconds from spawn to
that first byte, then stops the server (SIGTERM to its main process, SIGKILL
to its whole group if it lingers). Exits 1 if no "200" answer came in time,
saying whether the server exited first and with what status.
"""

import os
import signal
import socket
import subprocess
import sys
import time

RETRY_INTERVAL = 0.001


def try_first_byte(host, port, path, deadline):
    """Returns the first chunk of the answer, or None if there is none yet."""
    try:
        sock = socket.create_connection((host, port), timeout=max(0.01, deadline - time.monotonic()))
    except (ConnectionRefusedError, socket.timeout):
        return None
    with sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        try:
            return sock.recv(64) or None
        except (ConnectionResetError, socket.timeout):
            return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def describe_exit(returncode):
    """Says how a process ended, from a Popen returncode."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def main(argv):
    if len(argv) < 6 or argv[4] != "--":
        sys.exit(__doc__.strip())
    host, port, path, timeout = argv[0], int(argv[1]), argv[2], float(argv[3])
    command = argv[5:]

    # bench/run stops this helper with SIGTERM; the server must go with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    start = time.monotonic()
    proc = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
    deadline = start + timeout
    first = None
    try:
        while first is None and time.monotonic() < deadline and proc.poll() is None:
            first = try_first_byte(host, port, path, deadline)
            if first is None:
                time.sleep(RETRY_INTERVAL)
        elapsed_ms = (time.monotonic() - start) * 1000.0
        # read before stop(), which ends the server itself
        exited = proc.poll()
    finally:
        stop(proc)

    if not first and exited is not None:
        print(f"first-byte: the server {describe_exit(exited)} after {elapsed_ms:.0f} ms, "
              f"before answering on {host}:{port}", file=sys.stderr)
        return 1
    if not first:
        print(f"first-byte: no answer from {host}:{port} within {timeout:g} s", file=sys.stderr)
        return 1
    if not first.startswith(b"HTTP/1.1 200") and not first.startswith(b"HTTP/1.0 200"):
        print(f"first-byte: unexpected answer {first[:20]!r}", file=sys.stderr)
        return 1
    print(f"{elapsed_ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
