"""Reference middlewares built on the shared plumbing (``middleware.wsgi``) alone."""

from __future__ import annotations

from middleware.wsgi import Response, call_app
from registry import Case


def header_hook(app):
    """Adds a header in ``on_start``, forwarded at once (the cheap path)."""
    def add(response):
        response.add("X-Hooked", "1")

    def hooked(environ, start_response):
        return app(environ, Response(start_response, add).start_response)
    return hooked


def captured(app):
    """Holds the response and sends the body through an identity transform."""
    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        app_iter = call_app(app, environ, response)
        response.set("X-Captured", "1")
        return response.send(app_iter, lambda chunks: (chunk for chunk in chunks))
    return wrapped


def captured_untouched(app):
    """Holds the response and sends the body untouched."""
    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        return response.send(call_app(app, environ, response))
    return wrapped


CASES = {
    "header_hook": Case(header_hook),
    "call_app_transform": Case(captured),
    "call_app_untouched": Case(captured_untouched),
}
