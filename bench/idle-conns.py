#!/usr/bin/env python3
"""Holds many idle keep-alive HTTP connections open for bench/run.

    idle-conns.py HOST PORT COUNT [PATH]

Opens COUNT connections, sends one GET on each, reads the whole response and
keeps the connection open. Prints "open=N failed=M" once they are up. Each
line "check" on stdin is answered with "alive=K", the number the server has
not closed. End of stdin closes everything and exits.
"""

import asyncio
import sys

CONNECT_PARALLEL = 100  # connection attempts in flight at once
CONNECT_TIMEOUT = 10.0  # seconds for one connect plus its first response
SETUP_TIMEOUT = 60.0  # seconds for all of them


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if not status.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected status {status!r}")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
            raise ConnectionError("server closes the connection")
    await reader.readexactly(length)


async def open_one(host, port, path, gate):
    async with gate:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await asyncio.wait_for(read_response(reader), CONNECT_TIMEOUT)
        except BaseException:
            writer.close()
            raise
    return reader, writer


async def wait_closed(reader):
    """Returns once the server closes the connection (or sends anything)."""
    try:
        await reader.read(1)
    except (ConnectionError, OSError):
        pass


async def main(host, port, count, path):
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    attempts = [asyncio.ensure_future(open_one(host, port, path, gate)) for _ in range(count)]
    done, pending = await asyncio.wait(attempts, timeout=SETUP_TIMEOUT)
    for task in pending:
        task.cancel()
    conns = [t.result() for t in done if not t.cancelled() and t.exception() is None]
    print(f"open={len(conns)} failed={count - len(conns)}", flush=True)

    watchers = [asyncio.ensure_future(wait_closed(reader)) for reader, _ in conns]
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while True:
        line = await stdin.readline()
        if not line:
            break
        if line.strip() == b"check":
            alive = sum(1 for w in watchers if not w.done())
            print(f"alive={alive}", flush=True)

    for w in watchers:
        w.cancel()
    for _, writer in conns:
        writer.close()


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip())
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) == 5 else "/tiny.txt"))
