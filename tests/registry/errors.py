"""Error pages: the defaults, and interception switched off (the cheapest configuration)."""

from __future__ import annotations

import logging

from middleware.errors import ErrorPageMiddleware
from registry import Case

# The matrix raises on purpose; keep its tracebacks out of the test output.
_quiet = logging.getLogger("tests.registry.errors")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def errors_default(app):
    return ErrorPageMiddleware(app, logger=_quiet)


def errors_no_intercept(app):
    return ErrorPageMiddleware(app, intercept=False, logger=_quiet, request_id_header=None)


CASES = {
    "default": Case(errors_default),
    "no_intercept": Case(errors_no_intercept),
}
