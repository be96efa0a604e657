#!/usr/bin/env python3
"""Serves a WSGI application as a clusterd worker, with the standard library
alone: wsgiref on the socket at fd 3 (LISTEN_FDS), READY=1 and WATCHDOG=1 on
NOTIFY_SOCKET, and on SIGTERM the request in hand is finished first.

    clusterd --exec 'python3 examples/python/wsgi.py hello_wsgi:application'

MODULE:CALLABLE is looked up as gunicorn does, from the current directory and
this file's. wsgiref answers one request at a time and closes the connection
after it, like gunicorn's sync workers.
"""
import importlib
import os
import signal
import socket
import sys
import threading
import wsgiref.simple_server


def notify(message):
    """sd_notify without libsystemd: one datagram to NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), "\0" + address[1:] if address[0] == "@" else address)


class OneSendHandler(wsgiref.simple_server.ServerHandler):
    """wsgiref flushes after the status line, the headers and each piece of
    the body: a send() and a TCP segment each. The answer goes out whole
    when the request handler finishes instead."""

    def _flush(self):
        pass


class RequestHandler(wsgiref.simple_server.WSGIRequestHandler):
    wbufsize = 1 << 16  # buffered; StreamRequestHandler.finish() flushes it

    def handle(self):
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = OneSendHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(),
                                 multithread=False)
        handler.request_handler = self
        handler.run(self.server.get_app())

    def log_message(self, *args):
        pass  # one line per request is the access log's job


class Server(wsgiref.simple_server.WSGIServer):
    """A WSGIServer on a socket it was given rather than one it binds."""

    def __init__(self, sock, app):
        host, port = sock.getsockname()[:2]
        super().__init__((host, port), RequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_name, self.server_port = host, port
        self.setup_environ()
        self.set_app(app)


def load(spec):
    module, _, name = spec.partition(":")
    sys.path[:0] = [os.getcwd(), os.path.dirname(os.path.abspath(__file__))]
    return getattr(importlib.import_module(module), name or "application")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: wsgi.py MODULE:CALLABLE")
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
        sys.exit("wsgi.py: run me under clusterd --exec, with one socket (LISTEN_FDS=1)")
    server = Server(socket.socket(fileno=3), load(sys.argv[1]))
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    interval = int(os.environ.get("WATCHDOG_USEC", "0")) / 2e6
    notify("READY=1\nSTATUS=serving" + ("\nWATCHDOG=1" if interval else ""))
    while not stop.wait(interval or None):
        notify("WATCHDOG=1")
    notify("STOPPING=1")
    # shutdown() returns once the request in hand is answered; until then
    # the worker is alive, and says so, or a slow request gets it killed
    closing = threading.Thread(target=server.shutdown)
    closing.start()
    while closing.is_alive():
        closing.join(interval or None)
        if interval:
            notify("WATCHDOG=1")
    server.server_close()


if __name__ == "__main__":
    main()
