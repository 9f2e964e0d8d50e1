"""Reference middlewares built on the shared plumbing (``middleware.wsgi``) alone."""

from __future__ import annotations

from middleware.wsgi import call_app, hook_start_response
from registry import Case


def header_hook(app):
    """Adds a header through :func:`hook_start_response` (the cheap path)."""
    def hooked(environ, start_response):
        def add(status, headers):
            headers.add("X-Hooked", "1")
            return status
        return app(environ, hook_start_response(start_response, add))
    return hooked


def captured(app):
    """Captures with :func:`call_app` and sends the body through an identity transform."""
    def wrapped(environ, start_response):
        response = call_app(app, environ, start_response)
        response.headers["X-Captured"] = "1"
        return response.send(lambda chunks: (chunk for chunk in chunks))
    return wrapped


def captured_untouched(app):
    """Captures with :func:`call_app` and sends the body untouched."""
    def wrapped(environ, start_response):
        return call_app(app, environ, start_response).send()
    return wrapped


CASES = {
    "header_hook": Case(header_hook),
    "call_app_transform": Case(captured),
    "call_app_untouched": Case(captured_untouched),
}
