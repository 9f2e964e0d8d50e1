"""ErrorPageMiddleware under a real CGI server: the process environment is part of the environ.

``python -m http.server --cgi`` runs ``cgi-bin/app.py`` per request with ``os.environ`` copied
into the CGI variables, and ``wsgiref.handlers.CGIHandler`` builds the WSGI environ from them, as
Apache's mod_cgi and every CGI host do. So upper-case process secrets (``SESSION_SECRET``,
``DB_PASSWORD``) sit next to the request's headers; none may reach the ``notify`` hook or the
log in clear.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
import warnings

import pytest
import requests

from servers import PYTHON, free_port, run_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCESS_SECRETS = {
    "SESSION_SECRET": "cgi-session-secret-4f1e",
    "DB_PASSWORD": "cgi-db-password-9a7c",
    "DEBUG_PIN": "731-904-226",
    "Api_Token": "cgi-api-token-mixed-case",
    "DATABASE_URL": "postgres://app:cgi-url-password-55@db.internal/app",
}
REQUEST_SECRETS = {"cookie": "cgi-cookie-value-0b3d", "query": "cgi-query-token-e2e2"}

SCRIPT = """\
#!{python}
import json, logging, os, sys
sys.path.insert(0, {root!r})
from wsgiref.handlers import CGIHandler
from middleware import ErrorPageMiddleware

logging.basicConfig(stream=sys.stderr, level=logging.INFO)


def notify(exc_info, environ, request_id):
    with open(os.environ["NOTIFY_OUT"], "w") as out:
        json.dump({{str(k): str(v) for k, v in environ.items()}}, out)


def app(environ, start_response):
    raise RuntimeError("the app fails on purpose")


CGIHandler().run(ErrorPageMiddleware(app, notify=notify))
"""

# http.server's CGI drops to user "nobody" when run as root, who may not reach the virtualenv's
# interpreter; keep the test's own user, nothing else changes.
SERVER = """\
import http.server, os, sys
http.server.nobody_uid = os.getuid
http.server.test(HandlerClass=http.server.CGIHTTPRequestHandler, bind="127.0.0.1",
                 port=int(sys.argv[1]))
"""


@pytest.fixture
def cgi_server(tmp_path):
    if sys.version_info >= (3, 13):
        pytest.skip("http.server --cgi is gone from Python 3.13")
    bin_dir = tmp_path / "cgi-bin"
    bin_dir.mkdir()
    script = bin_dir / "app.py"
    script.write_text(textwrap.dedent(SCRIPT.format(python=PYTHON, root=ROOT)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    notify_out = tmp_path / "notify.json"
    port = free_port()
    env = {**PROCESS_SECRETS, "NOTIFY_OUT": str(notify_out)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        args = [PYTHON, "-W", "ignore::DeprecationWarning", "-c", SERVER, str(port)]
        with run_server(args, port, env=env, cwd=tmp_path) as server:
            yield server, notify_out


def test_cgi_process_secrets_never_reach_notify_or_the_log_in_clear(cgi_server):
    server, notify_out = cgi_server
    response = requests.get(
        f"{server.url}/cgi-bin/app.py?token={REQUEST_SECRETS['query']}&page=2",
        headers={"Cookie": f"sid={REQUEST_SECRETS['cookie']}",
                 "Accept": "application/problem+json"}, timeout=30)
    # http.server answers 200 and passes the script's CGI "Status:" line through as a header
    assert response.headers.get("Status", "").startswith("500"), server.log()
    assert response.headers["Content-Type"] == "application/problem+json"
    environ = json.loads(notify_out.read_text())
    # the hook really got the CGI environ: process variables next to the request's
    assert environ["REQUEST_METHOD"] == "GET" and "SERVER_SOFTWARE" in environ
    for name in ("SESSION_SECRET", "DB_PASSWORD", "DEBUG_PIN", "Api_Token", "HTTP_COOKIE"):
        assert environ[name] == "[scrubbed]", name
    assert environ["DATABASE_URL"] == "postgres://app:***@db.internal/app"
    assert environ["QUERY_STRING"] == "token=[scrubbed]&page=2"
    dumped = json.dumps(environ)
    # the CGI server's own access line quotes the request line: that one is not ours
    log = "\n".join(line for line in server.log().splitlines()
                    if not line.startswith("127.0.0.1 - - ["))
    assert "Unhandled exception" in log and "the app fails on purpose" in log
    for secret in [*PROCESS_SECRETS.values(), *REQUEST_SECRETS.values(), "cgi-url-password"]:
        if "://" in secret:
            secret = "cgi-url-password-55"
        assert secret not in dumped, secret
        assert secret not in log, secret
        assert secret not in response.text, secret
