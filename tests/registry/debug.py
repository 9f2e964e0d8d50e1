"""DebugMiddleware: for an allowed client (the debug page), a remote one (plain 500), evalex."""

from __future__ import annotations

import logging

from middleware.debug import DebugMiddleware
from registry import Case

_QUIET = logging.getLogger("tests.debug.quiet")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())

CASES = {
    "allowed_client": Case(lambda app: DebugMiddleware(app, logger=_QUIET)),
    "remote_client": Case(lambda app: DebugMiddleware(app, logger=_QUIET),
                          environ={"REMOTE_ADDR": "203.0.113.9"}),
    "evalex": Case(lambda app: DebugMiddleware(app, evalex=True, logger=_QUIET)),
}
