"""A small full stack around a session counter, for the fault tests (importable by the helper
processes they start, so it lives in its own module)."""

from __future__ import annotations

import logging

from middleware import CompressionMiddleware, ErrorPageMiddleware, Pipeline, SessionMiddleware
from middleware.sessions import SQLiteStore, make_store

FAULT_KEY = "fault-injection-session-key-0b5d2c"


def quiet_logger(name: str) -> logging.Logger:
    """A logger that keeps the deliberate failures out of the test output."""
    logger = logging.getLogger(f"tests.faults.{name}")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def counter_app(environ, start_response):
    """Adds one to the session's ``visits`` and shows it."""
    session = environ["middleware.session"]
    session["visits"] = session.get("visits", 0) + 1
    body = b"<!doctype html><title>counter</title><p>visits=%d</p>" % session["visits"]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def counter_stack(store: str, timeout: float | None = None):
    """errors -> compression -> session (``store``) -> the counter."""
    if timeout is not None and store.startswith("sqlite:///"):
        backend = SQLiteStore(store[len("sqlite:///"):], timeout=timeout)
    else:
        backend = make_store(store)
    return (Pipeline()
            .use(ErrorPageMiddleware, logger=quiet_logger("errors"))
            .use(CompressionMiddleware)
            .use(SessionMiddleware, secret_key=FAULT_KEY, store=backend)
            .wrap(counter_app))


def full_stack(app):
    """Every middleware around ``app``: errors -> compression -> session -> auth (``/public/*``
    is public) -> debug (allowed for no client)."""
    from middleware import AuthMiddleware, BasicAuth, DebugMiddleware

    quiet = quiet_logger("stack")
    return (Pipeline()
            .use(ErrorPageMiddleware, logger=quiet)
            .use(CompressionMiddleware)
            .use(SessionMiddleware, secret_key=FAULT_KEY)
            .use(AuthMiddleware, backends=[BasicAuth(users={})], public_paths=["/public/*"],
                 throttle=None)
            .use(DebugMiddleware, allowed_ips=["192.0.2.1"], logger=quiet)
            .wrap(app))
