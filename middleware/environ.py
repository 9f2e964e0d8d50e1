"""The ``environ`` keys the layers share: one name per key, what sets it, who reads it.

Every layer of the suite leaves its per-request state in the WSGI ``environ`` under a key
starting with ``middleware.``. The keys are public API (their string values never change);
import them from here rather than spelling the strings, so a typo is an ``ImportError``
instead of a silently missing value::

    from middleware.environ import COMPRESSION_DISABLE, IDENTITY, SESSION

    def app(environ, start_response):
        identity = environ.get(IDENTITY)         # set by AuthMiddleware
        session = environ[SESSION]               # set by SessionMiddleware
        environ[COMPRESSION_DISABLE] = True      # this page holds a CSRF token: no BREACH
        ...

The older per-package names stay as aliases of these: ``middleware.sessions.ENVIRON_KEY``
(:data:`SESSION`), ``middleware.auth.IDENTITY_KEY`` (:data:`IDENTITY`),
``middleware.compression.DISABLE_KEY`` / ``ENCODING_KEY`` and
``middleware.errors.OPT_OUT_ENVIRON`` (:data:`ERROR_PAGE`).

This module imports nothing, so any layer can use it without an import cycle.
"""

from __future__ import annotations

__all__ = [
    "AUTH_LOGIN_URL",
    "AUTH_LOGOUT_URL",
    "COMPRESSION_DISABLE",
    "COMPRESSION_ENCODING",
    "COMPRESSION_REQUEST_ENCODING",
    "ERROR_PAGE",
    "ERRORS_LOGGED",
    "IDENTITY",
    "REQUEST_ID",
    "REQUEST_ID_HEADER",
    "SESSION",
    "SESSION_OVERSIZE",
]

# -- sessions ------------------------------------------------------------------------------

#: The request's :class:`~middleware.sessions.Session`. Set by ``SessionMiddleware`` on every
#: request (lazy: nothing is loaded until it is touched); read by the application
#: (``get_session``), by ``AuthMiddleware`` (the login form keeps its identity there) and by
#: the Flask and Django integrations.
SESSION = "middleware.session"

#: The size in bytes of a session cookie the browser would refuse (over 4 KiB), when
#: ``SessionMiddleware`` left the old cookie in place instead; for the application to notice.
SESSION_OVERSIZE = "middleware.session.oversize"

# -- authentication ------------------------------------------------------------------------

#: The :class:`~middleware.auth.Identity` (``user``, ``scheme``, ``claims``) of an identified
#: request. Set by ``AuthMiddleware`` (beside ``REMOTE_USER`` and ``AUTH_TYPE``); read by
#: the application.
IDENTITY = "middleware.identity"

#: The built-in login form's URLs, ``SCRIPT_NAME`` included, for the application to link to.
#: Set by ``AuthMiddleware`` when it has a ``login_url``; read by the application's pages.
AUTH_LOGIN_URL = "middleware.auth.login_url"
AUTH_LOGOUT_URL = "middleware.auth.logout_url"

# -- compression ---------------------------------------------------------------------------

#: Set to a true value (before or while answering) to send this response uncompressed: pages
#: that hold a secret beside reflected input (a CSRF token: BREACH). Set by the application
#: and by the login form; read by ``CompressionMiddleware``.
COMPRESSION_DISABLE = "middleware.compression.disable"

#: The content coding ``CompressionMiddleware`` applied to the response (``"br"``,
#: ``"zstd"``, ``"gzip"``). Set by ``CompressionMiddleware``; read by tests and logging.
COMPRESSION_ENCODING = "middleware.compression.encoding"

#: The content coding of a compressed request body that ``CompressionMiddleware`` decoded
#: (the application then reads the plain body). Set by ``CompressionMiddleware``.
COMPRESSION_REQUEST_ENCODING = "middleware.compression.request_encoding"

# -- error pages ---------------------------------------------------------------------------

#: Set to ``False`` to keep this response's own error body instead of the configured page.
#: Set by the application and by ``DebugMiddleware`` (its traceback page); read by
#: ``ErrorPageMiddleware``.
ERROR_PAGE = "middleware.error_page"

#: The request id (drawn on first use). Set by ``ErrorPageMiddleware`` (or an outer layer
#: that has one); read by every layer that logs, and by ``current_request_id(environ)``.
REQUEST_ID = "middleware.request_id"

#: The environ key of the header an incoming request id is taken from, when
#: ``ErrorPageMiddleware`` reads another one than ``X-Request-ID``; read by
#: ``current_request_id``.
REQUEST_ID_HEADER = "middleware.request_id.header"

#: The exception an error layer already logged for this request, so nested error layers log
#: it once. Set and read by ``ErrorPageMiddleware``'s reporter (internal).
ERRORS_LOGGED = "middleware.errors.logged"
