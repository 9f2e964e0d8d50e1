"""AuthMiddleware in its common configurations: Basic, Bearer, a public path, and refusals.

The browser redirect to ``login_url`` is not here: werkzeug's lint still wants an absolute
``Location`` (RFC 2616), and the middleware deliberately sends a relative one (RFC 9110 allows
it, and an absolute one would have to trust the ``Host`` header). ``test_auth_login.py`` covers it.
"""

from __future__ import annotations

import base64

import bcrypt

from middleware.auth import AuthMiddleware, BasicAuth, BearerTokenAuth
from registry import Case

_HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
_TOKEN = "conformance-token-0123456789"


def _auth(app, **options):
    backends = [BasicAuth(users={"alice": _HASH}), BearerTokenAuth(tokens={_TOKEN: "bot"})]
    return AuthMiddleware(app, backends, public_paths=["/", "/static/*"] if options.pop(
        "public", False) else (), **options)


CASES = {
    "basic": Case(_auth, environ={
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:s3cret").decode()}),
    "bearer": Case(_auth, environ={"HTTP_AUTHORIZATION": "Bearer " + _TOKEN}),
    "public_path": Case(lambda app: _auth(app, public=True)),
    "public_path_identified": Case(lambda app: _auth(app, public=True), environ={
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:s3cret").decode()}),
    "public_path_bad_credentials": Case(lambda app: _auth(app, public=True), environ={
        "HTTP_AUTHORIZATION": "Basic %%%"}),
    "protect_listed_unlisted_path": Case(lambda app: _auth(app, protect="listed",
                                                           protected_paths=["/admin/*"])),
    "unauthenticated_401": Case(_auth),
    "malformed_400": Case(_auth, environ={"HTTP_AUTHORIZATION": "Basic %%%"}),
}
