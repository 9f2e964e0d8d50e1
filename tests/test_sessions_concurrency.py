"""No lost updates: overlapping requests of one session, served by several gunicorn worker
processes, against a real SQLite file and a real Redis server.

Every client shares one session and increments its own key; the requests of different
clients overlap (the app waits a little between reading and answering, as real handlers do),
so with a whole-session write the last response would erase the others' increments. Each
store merges what one request changed, so every key ends at exactly the number of
increments. Also: values changed in place are saved on every store, and a session ended
while another request was running stays ended.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import pytest
import requests
from werkzeug.test import Client

from middleware.sessions import (
    MemoryStore,
    RedisStore,
    SessionMiddleware,
    SQLiteStore,
    get_session,
)
from redis_server import redis_server, redis_url  # noqa: F401
from servers import PYTHON, free_port, run_server

KEY = "concurrency-test-key-0123456789abcdef"
CLIENTS = 6
INCREMENTS = 15


def counter_app(environ, start_response):
    """``/start`` makes the session; ``/bump?key=k`` adds one to ``k``; ``/`` shows all."""
    session = get_session(environ)
    path = environ["PATH_INFO"]
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if path == "/start":
        session["owner"] = "shared"
    elif path == "/bump":
        value = session.get(args["key"], 0)
        # the read-modify-write window in which other requests land
        environ.get("test.pause", lambda: time.sleep(0.003))()
        session[args["key"]] = value + 1
    elif path == "/append":
        session.setdefault("cart", [])
        session["cart"].append(args["item"])  # in place: no assignment
    elif path == "/logout":
        session.invalidate()
    body = json.dumps({"data": dict(session), "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def gunicorn_app():
    """The gunicorn entry point: ``counter_app`` on the store URL in ``SESSION_STORE``."""
    return SessionMiddleware(counter_app, KEY, store=os.environ["SESSION_STORE"])


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sessions.db"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def gunicorn(store_url):
    """gunicorn, 2 workers, no --preload: each worker imports the app and opens its store."""
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
            "--pythonpath", os.path.dirname(__file__),
            "test_sessions_concurrency:gunicorn_app()"]
    with run_server(args, port, env={"SESSION_STORE": store_url}) as server:
        yield server.url


def test_parallel_clients_of_one_session_lose_no_update(gunicorn):
    start = requests.get(gunicorn + "/start", timeout=30)
    cookie = start.cookies["session"]
    barrier = threading.Barrier(CLIENTS)
    pids: set[int] = set()

    def client(number: int) -> None:
        barrier.wait()
        with requests.Session() as http:
            for _ in range(INCREMENTS):
                response = http.get(gunicorn + "/bump", params={"key": f"k{number}"},
                                    cookies={"session": cookie}, timeout=30)
                assert response.status_code == 200, response.text
                pids.add(response.json()["pid"])

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    final = requests.get(gunicorn + "/", cookies={"session": cookie},
                         timeout=30).json()["data"]
    expected = {f"k{n}": INCREMENTS for n in range(CLIENTS)}
    assert {k: v for k, v in final.items() if k.startswith("k")} == expected, pids
    assert final["owner"] == "shared"


@pytest.mark.parametrize("kind", ["cookie", "memory", "sqlite", "redis"])
def test_value_changed_in_place_is_saved_on_every_store(kind, tmp_path, request):
    store = {"cookie": lambda: "cookie", "memory": MemoryStore,
             "sqlite": lambda: SQLiteStore(tmp_path / "s.db"),
             "redis": lambda: RedisStore(request.getfixturevalue("redis_url"))}[kind]()
    c = Client(SessionMiddleware(counter_app, KEY, store=store))
    for item in ("book", "pen", "ink"):
        c.get("/append", query_string={"item": item})
    assert c.get("/").json["data"] == {"cart": ["book", "pen", "ink"]}


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_change_racing_a_logout_does_not_bring_the_session_back(kind, tmp_path, request):
    store = {"memory": MemoryStore, "sqlite": lambda: SQLiteStore(tmp_path / "s.db"),
             "redis": lambda: RedisStore(request.getfixturevalue("redis_url"))}[kind]()
    app = SessionMiddleware(counter_app, KEY, store=store)
    c = Client(app)
    c.get("/start")
    cookie = c.get_cookie("session").value
    slow = Client(app)
    slow.set_cookie("session", cookie)

    def log_out_meanwhile():  # the bump has read the session; the logout ends it now
        worker = threading.Thread(target=c.get, args=("/logout",))
        worker.start()
        worker.join(10)

    slow.get("/bump", query_string={"key": "late"},
             environ_overrides={"test.pause": log_out_meanwhile})
    assert c.get_cookie("session") is None
    replay = Client(app)
    replay.set_cookie("session", cookie)
    assert replay.get("/").json["data"] == {}
