#!/usr/bin/env python3
"""A small application worker in the Python standard library alone.

It serves HTTP on the sockets clusterd passes (LISTEN_FDS, from fd 3),
tells the manager when it is ready and that it is alive (sd_notify, over
NOTIFY_SOCKET), keeps a STATUS= line, answers messages from the manager on
CLUSTERD_IPC_FD, and finishes its requests on SIGTERM before it exits.
"""
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading
import time

WORKER = os.environ.get("CLUSTERD_WORKER_ID", "?")
served = 0


def notify(message):
    """sd_notify without libsystemd: one datagram to NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        global served
        if self.path == "/env":
            return self.answer(environment())
        if self.path.startswith("/slow"):
            time.sleep(float(self.path.partition("=")[2] or 2))
        self.answer(f"hello from worker {WORKER}, pid {os.getpid()}\n")
        served += 1

    def answer(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per request is the access log's job


def environment():
    """What clusterd gave this process: its variables and its open fds."""
    names = sorted(k for k in os.environ if k.startswith(("LISTEN_", "NOTIFY_", "WATCHDOG_", "CLUSTERD_")))
    lines = [f"{k}={os.environ[k]}" for k in names]
    lines.append(f"pid={os.getpid()}")
    lines.append("fds=" + " ".join(sorted(os.listdir("/proc/self/fd"), key=int)))
    return "\n".join(lines) + "\n"


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False  # SIGTERM waits for the requests in flight
    block_on_close = True


def serve_fd(fd):
    sock = socket.socket(fileno=fd)
    server = Server(sock.getsockname()[:2], Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def messages():
    """Lines from the manager: answer 'ping' with 'pong'."""
    fd = os.environ.get("CLUSTERD_IPC_FD")
    if not fd:
        return
    channel = socket.socket(fileno=int(fd))
    channel.sendall(f"worker {WORKER} says hello\n".encode())
    for line in channel.makefile("r", encoding="utf-8"):
        line = line.rstrip("\n")
        reply = "pong" if line == "ping" else f"got {line}"
        channel.sendall(f"{reply}\n".encode())


def main():
    listen_fds = int(os.environ.get("LISTEN_FDS", "0"))
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or listen_fds < 1:
        sys.exit("app.py: run me under clusterd --exec (no LISTEN_FDS for this process)")
    # stderr is the manager's: under systemd, the journal, with this pid
    print(f"app.py: worker {WORKER} pid {os.getpid()} serving {listen_fds} socket(s)",
          file=sys.stderr, flush=True)
    servers = [serve_fd(3 + i) for i in range(listen_fds)]
    threading.Thread(target=messages, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # the first WATCHDOG=1 with READY=1: hang detection from the start
    notify("READY=1\nWATCHDOG=1\nSTATUS=serving")
    interval = int(os.environ.get("WATCHDOG_USEC", "0")) / 2e6
    while not stop.wait(interval or None):
        notify(f"WATCHDOG=1\nSTATUS=served {served} requests")
    notify("STOPPING=1")
    for server in servers:
        server.shutdown()  # stop accepting
        server.server_close()  # and wait for the requests in flight
    sys.exit(0)


if __name__ == "__main__":
    main()
