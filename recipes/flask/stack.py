"""The middleware stack for the notes app, configured from the environment.

``SESSION_SECRET`` (required) signs the session cookie; ``SESSION_STORE`` picks the store
(default ``cookie``; ``redis://...`` or ``sqlite:////abs/path.db`` to keep sessions on the
server); ``HTPASSWD_FILE`` (required) lists who may open ``/account``. The app's
``flask.session`` is this stack's session (``use_suite_sessions`` in ``notes.py``).
"""

from __future__ import annotations

import os

from middleware import (
    AuthMiddleware,
    BasicAuth,
    CompressionMiddleware,
    ErrorPageMiddleware,
    Pipeline,
    SessionMiddleware,
)

#: Pages the stack's Basic auth leaves to the app (which has its own sign-in form);
#: ``/account`` asks for a Basic login.
PUBLIC_PATHS = ["/", "/notes", "/api/notes", "/login", "/logout", "/boom"]


def stack() -> Pipeline:
    """Errors, compression, sessions, auth: outermost first."""
    return (Pipeline()
            .use(ErrorPageMiddleware)
            .use(CompressionMiddleware)
            .use(SessionMiddleware, secret_key=os.environ["SESSION_SECRET"].split(","),
                 store=os.environ.get("SESSION_STORE", "cookie"))
            .use(AuthMiddleware, backends=[BasicAuth(htpasswd=os.environ["HTPASSWD_FILE"])],
                 realm="Notes", public_paths=PUBLIC_PATHS))
