"""A WSGI application to serve with examples/python/wsgi.py under clusterd,
or with any WSGI server (gunicorn hello_wsgi:application): one fixed answer."""
import os
import time


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/slow"):
        time.sleep(float(environ["PATH_INFO"].partition("=")[2] or 2))  # a slow request
    body = f"hello from WSGI, pid {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
