"""A WSGI application to serve with examples/python/wsgi.py under clusterd,
or with any WSGI server (gunicorn hello_wsgi:application): one fixed answer."""
import os


def application(environ, start_response):
    body = f"hello from WSGI, pid {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
