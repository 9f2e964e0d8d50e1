"""Real frameworks and a real browser using sessions through SessionMiddleware: a Flask app, a
Django app (minimal in-test settings) and headless Chromium."""

from __future__ import annotations

import html
import json
import logging
import socket

import pytest
from werkzeug.test import Client

from browser import dump_dom
from django_support import configure_django
from middleware.sessions import MemoryStore, RedisStore, SessionMiddleware, get_session
from middleware.sessions.middleware import ID_SALT
from middleware.sessions.signing import SignedSerializer
from servers import free_port, serve_in_thread

KEY = "framework-test-key-0123456789abcdef"


# -- Flask ------------------------------------------------------------------------------------

def make_flask_app():
    from flask import Flask, jsonify, redirect, request

    app = Flask("sessions_flask_test")

    @app.post("/login")
    def login():
        session = get_session(request.environ)
        session["user"] = request.form["user"]
        session.regenerate()
        return redirect("/me", code=303)

    @app.get("/me")
    def me():
        session = get_session(request.environ)
        return jsonify(user=session.get("user"), new=session.new)

    @app.post("/cart")
    def add_to_cart():
        session = get_session(request.environ)
        session["cart"] = [*session.get("cart", []), request.form["item"]]
        return jsonify(cart=session["cart"])

    @app.post("/logout")
    def logout():
        get_session(request.environ).invalidate()
        return "", 204

    return app


@pytest.mark.parametrize("store", ["cookie", "memory"])
def test_flask_app_reads_and_writes_the_session(store):
    c = Client(SessionMiddleware(make_flask_app(), KEY, store=store))
    assert c.get("/me").json == {"user": None, "new": True}
    response = c.post("/login", data={"user": "alice"})
    assert response.status_code == 303 and "Set-Cookie" in response.headers
    c.post("/cart", data={"item": "book"})
    assert c.post("/cart", data={"item": "pen"}).json == {"cart": ["book", "pen"]}
    assert c.get("/me").json == {"user": "alice", "new": False}
    assert c.post("/logout").status_code == 204
    assert c.get("/me").json == {"user": None, "new": True}


def test_flask_store_outage_becomes_our_503_not_flasks_500(caplog):
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.5)
    c = Client(SessionMiddleware(make_flask_app(), KEY, store=store))
    c.set_cookie("session", SignedSerializer([KEY], ID_SALT).sign("q" * 43))
    with caplog.at_level(logging.ERROR):
        response = c.get("/me")  # Flask catches the error and renders its own 500
    assert response.status_code == 503
    assert b"Sessions are temporarily unavailable" in response.get_data()
    assert any("session store unavailable" in r.getMessage() for r in caplog.records)


# -- Django -----------------------------------------------------------------------------------

def django_login(request):
    from django.http import HttpResponseRedirect

    session = get_session(request.environ)
    session["user"] = request.POST["user"]
    session.regenerate()
    return HttpResponseRedirect("/me")


def django_me(request):
    from django.http import JsonResponse

    session = get_session(request.META)  # Django's META is the WSGI environ
    session["views"] = session.get("views", 0) + 1
    return JsonResponse({"user": session.get("user"), "views": session["views"]})


def _urls():
    from django.urls import path

    return [path("login", django_login), path("me", django_me)]


urlpatterns: list = []


@pytest.fixture(scope="module")
def django_app():
    configure_django()
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    urlpatterns[:] = _urls()
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], MIDDLEWARE=[]):
        yield get_wsgi_application()


@pytest.mark.parametrize("store", ["cookie", "memory"])
def test_django_app_reads_and_writes_the_session(django_app, store):
    c = Client(SessionMiddleware(django_app, KEY, store=store))
    assert c.get("/me").json == {"user": None, "views": 1}
    response = c.post("/login", data={"user": "bob"})
    assert response.status_code == 302 and "Set-Cookie" in response.headers
    assert c.get("/me").json == {"user": "bob", "views": 2}
    assert "Cookie" in response.headers.get("Vary", "")


# -- a real browser ---------------------------------------------------------------------------

def browser_app(environ, start_response):
    """``/login`` sets the session and redirects; ``/whoami`` shows it and what JS can see."""
    session = get_session(environ)
    if environ["PATH_INFO"] == "/login":
        session["user"] = "alice"
        session.regenerate()
        start_response("303 See Other", [("Location", "/whoami"), ("Content-Length", "0")])
        return []
    user = html.escape(json.dumps(session.get("user")))
    page = (f"<!doctype html><title>who</title><p id=server>user={user}</p>"
            "<p id=js></p><script>document.getElementById('js').textContent="
            "'js-cookies=[' + document.cookie + ']'</script>").encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(page)))])
    return [page]


@pytest.mark.slow
def test_chromium_keeps_the_session_and_scripts_cannot_read_the_httponly_cookie():
    with serve_in_thread(SessionMiddleware(browser_app, KEY, store=MemoryStore())) as url:
        dom = dump_dom(url + "/login")
    assert "user=&quot;alice&quot;" in dom or 'user="alice"' in dom
    assert "js-cookies=[]" in dom


def test_raw_non_utf8_cookie_bytes_from_a_real_client_give_a_fresh_session():
    """``Cookie: session=\\x80`` straight off the wire: werkzeug.http.parse_cookie raises
    UnicodeDecodeError on it; the middleware must answer 200 with a fresh session."""
    def app(environ, start_response):
        body = json.dumps(dict(get_session(environ))).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    with serve_in_thread(SessionMiddleware(app, KEY)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; session=\x80\xff; b=\xc3\r\n"
                         b"Connection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"{}")
