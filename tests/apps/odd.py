#!/usr/bin/env python3
"""An application worker that misbehaves on purpose, for the tests.

odd.py exit          exits 3 at once
odd.py silent        serves nothing and never says READY=1
odd.py silent-id N   worker N never says READY=1; the others do, and answer
odd.py ready-after S says READY=1 only after S seconds, then answers
odd.py stray         says READY=1, and has a child of its own send READY=1 too
"""
import os
import socket
import sys
import threading
import time


def notify(message):
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), address)


def answer_forever():
    listener = socket.socket(fileno=3)
    while True:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            body = f"odd worker {os.environ['CLUSTERD_WORKER_ID']}\n".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))


def main():
    mode = sys.argv[1]
    me = os.environ.get("CLUSTERD_WORKER_ID")
    if mode == "exit":
        sys.exit(3)
    if mode == "silent" or (mode == "silent-id" and me == sys.argv[2]):
        time.sleep(3600)
    if mode == "ready-after":
        time.sleep(float(sys.argv[2]))
    threading.Thread(target=answer_forever, daemon=True).start()
    notify("READY=1\nSTATUS=odd and ready")
    if mode == "stray" and os.fork() == 0:
        notify("READY=1\nSTATUS=from a child, not the worker")
        os._exit(0)
    time.sleep(3600)


main()
