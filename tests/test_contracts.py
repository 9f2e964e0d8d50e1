"""Extension points: a user's object that implements the Protocol is used, one that does not
is refused when the layer is built, with a message naming what it lacks."""

from __future__ import annotations

import logging
import time

import pytest
import webtest

from middleware.auth import (
    AuthBackend,
    AuthMiddleware,
    Credentials,
    Identity,
    PasswordBackend,
    Throttle,
    ThrottleCounter,
)
from middleware.contracts import protocol_methods, require
from middleware.errors import ErrorPageMiddleware, Notifier
from middleware.sessions import Record, SessionMiddleware, SessionStore

KEY = "contracts-test-key-0123456789abcdef0123456789"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def who(environ, start_response):
    body = f"{environ.get('REMOTE_USER')}|{environ.get('AUTH_TYPE')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# -- the shared helper -----------------------------------------------------------------------

def test_protocol_methods_lists_the_contract_in_order_including_inherited_ones():
    assert protocol_methods(AuthBackend) == ["extract", "cached", "authenticate", "challenge"]
    assert protocol_methods(PasswordBackend) == ["extract", "cached", "authenticate",
                                                 "challenge", "check_password", "fingerprint"]
    assert protocol_methods(SessionStore) == ["load", "save", "delete", "ping"]
    assert protocol_methods(ThrottleCounter) == ["get", "incr", "acquire", "release"]
    assert protocol_methods(Notifier) == ["__call__"]


def test_require_returns_the_object_itself():
    counter = _UserCounter()
    assert require(counter, ThrottleCounter, "store") is counter


def test_extra_optional_parameters_and_var_args_still_fit():
    class Loose:
        def get(self, keys, extra=None):
            return [(0, 0.0)]

        def incr(self, *args):
            return None

        def acquire(self, keys, limit, window, **options):
            return 0.0

        def release(self, keys, /):
            return None

    require(Loose(), ThrottleCounter, "store")


# -- AuthBackend -----------------------------------------------------------------------------

class GatewayAuth:
    """A user's backend: the gateway puts a token in its own header."""

    def extract(self, environ):
        token = environ.get("HTTP_X_GATEWAY_TOKEN")
        return Credentials("Gateway", None, token) if token else None

    def cached(self, credentials):
        return None

    def authenticate(self, credentials):
        return Identity("svc", "Gateway") if credentials.secret == "s3cret" else None

    def challenge(self, realm, error=None):
        return f'Gateway realm="{realm}"'


def test_a_conforming_auth_backend_is_accepted_and_used():
    app = webtest.TestApp(AuthMiddleware(who, [GatewayAuth()], throttle=None))
    assert app.get("/", headers={"X-Gateway-Token": "s3cret"}).text == "svc|Gateway"
    refused = app.get("/", status=401)
    assert refused.headers["WWW-Authenticate"] == 'Gateway realm="Restricted"'


def test_an_auth_backend_missing_methods_is_refused_naming_them():
    class HalfBackend:
        def extract(self, environ):
            return None

    with pytest.raises(TypeError, match=r"^backends\[1\]: HalfBackend does not implement "
                                        r"middleware\.auth\.AuthBackend: missing cached\(\), "
                                        r"authenticate\(\), challenge\(\)$"):
        AuthMiddleware(who, [GatewayAuth(), HalfBackend()])


def test_an_auth_backend_method_with_the_wrong_parameters_is_refused():
    class Forgetful(GatewayAuth):
        def authenticate():  # no self, no credentials
            return None

    with pytest.raises(TypeError, match=r"backends\[0\]: Forgetful does not implement "
                                        r".*authenticate\(\) cannot be called as "
                                        r"authenticate\(credentials\)"):
        AuthMiddleware(who, [Forgetful()])


class PinAuth(GatewayAuth):
    """A user's password backend: the login form can use it."""

    def check_password(self, user, password):
        return (user, password) == ("bob", "1234")

    def fingerprint(self, user):
        return "fp-bob" if user == "bob" else None


def test_a_user_password_backend_logs_in_through_the_form():
    assert isinstance(PinAuth(), PasswordBackend) and not isinstance(GatewayAuth(),
                                                                     PasswordBackend)
    auth = AuthMiddleware(who, [PinAuth()], login_url="/login", secret_key=KEY, throttle=None)
    client = webtest.TestApp(SessionMiddleware(auth, secret_key=KEY, store="memory"))
    form = client.get("/login", headers=BROWSER).forms[0]
    form["username"], form["password"] = "bob", "1234"
    form.submit(headers=BROWSER, status=303)
    assert client.get("/admin", headers=BROWSER).text == "bob|Form"


def test_the_login_form_counts_attempts_through_the_public_throttle_methods():
    throttle = Throttle(_UserCounter(), max_failures=1, window=60)
    auth = AuthMiddleware(who, [PinAuth()], login_url="/login", secret_key=KEY,
                          throttle=throttle)
    client = webtest.TestApp(SessionMiddleware(auth, secret_key=KEY, store="memory"))
    for password, status in (("wrong", 200), ("1234", 429)):
        form = client.get("/login", headers=BROWSER).forms[0]
        form["username"], form["password"] = "bob", password
        form.submit(headers=BROWSER, status=status)


# -- ThrottleCounter -------------------------------------------------------------------------

class _UserCounter:
    """A user's counter store (a plain dict, no expiry handling beyond the window)."""

    def __init__(self):
        self.counts = {}

    def get(self, keys):
        return [(self.counts.get(k, 0), 60.0) for k in keys]

    def incr(self, keys, window):
        for k in keys:
            self.counts[k] = self.counts.get(k, 0) + 1

    def acquire(self, keys, limit, window):
        if any(self.counts.get(k, 0) >= limit for k in keys):
            return float(window)
        self.incr(keys, window)
        return 0.0

    def release(self, keys):
        for k in keys:
            self.counts[k] = max(0, self.counts.get(k, 0) - 1)


def test_a_conforming_throttle_counter_is_accepted_and_counts():
    counter = _UserCounter()
    throttle = Throttle(counter, max_failures=2, window=60)
    assert throttle.store is counter
    assert throttle.acquire("192.0.2.1", "eve") == 0
    assert throttle.acquire("192.0.2.1", "eve") == 0
    assert throttle.acquire("192.0.2.1", "eve") == 60


def test_a_throttle_counter_missing_methods_is_refused_naming_them():
    class ReadOnly:
        def get(self, keys):
            return []

    with pytest.raises(TypeError, match=r"^store: ReadOnly does not implement "
                                        r"middleware\.auth\.ThrottleCounter: missing incr\(\), "
                                        r"acquire\(\), release\(\)$"):
        Throttle(ReadOnly())


# -- SessionStore ----------------------------------------------------------------------------

class DictStore:
    """A user's server-side store in a dict (one process), merging as the protocol says."""

    def __init__(self):
        self.records = {}

    def load(self, session_id):
        return self.records.get(session_id)

    def save(self, session_id, changes, ttl, *, new):
        old = self.records.get(session_id)
        if old is None and not new:
            return None
        values = {} if new else dict(old.values)
        values.update(changes.set)
        for key in changes.deleted:
            values.pop(key, None)
        if not values:
            self.records.pop(session_id, None)
            return 0
        created = changes.created if new else old.created
        self.records[session_id] = Record(values, created, changes.last_seen)
        return len(values)

    def delete(self, session_id):
        self.records.pop(session_id, None)

    def ping(self):
        return None


def counting_app(environ, start_response):
    session = environ["middleware.session"]
    session["n"] = session.get("n", 0) + 1
    body = str(session["n"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def test_a_conforming_session_store_is_accepted_and_used():
    store = DictStore()
    client = webtest.TestApp(SessionMiddleware(counting_app, KEY, store=store))
    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
    assert len(store.records) == 1


def test_a_session_store_with_a_save_that_cannot_take_new_is_refused():
    class OldStore(DictStore):
        def save(self, session_id, changes, ttl):
            return 0

    with pytest.raises(TypeError, match=r"^store: OldStore does not implement "
                                        r"middleware\.sessions\.SessionStore: save\(session_id, "
                                        r"changes, ttl\) cannot be called as "
                                        r"save\(session_id, changes, ttl, \*, new\)$"):
        SessionMiddleware(counting_app, KEY, store=OldStore())


# -- Notifier --------------------------------------------------------------------------------

def boom(environ, start_response):
    raise RuntimeError("kaput")


def test_a_conforming_notify_hook_is_accepted_and_called():
    seen = []

    def report(exc_info, environ, request_id):
        seen.append((exc_info[0], request_id))

    app = ErrorPageMiddleware(boom, notify=report, logger=logging.getLogger("test.contracts"))
    res = webtest.TestApp(app).get("/", status=500)
    assert seen == [(RuntimeError, res.headers["X-Request-ID"])]


def test_a_notify_object_with_a_call_method_is_accepted():
    class Tracker:
        def __call__(self, exc_info, environ, request_id, *, level="error"):
            return None

    tracker = Tracker()
    assert ErrorPageMiddleware(boom, notify=tracker).notify is tracker


@pytest.mark.parametrize(("notify", "message"), [
    (42, r"^notify: int does not implement middleware\.errors\.Notifier: it is not callable$"),
    (lambda exc_info: None,
     r"^notify: function does not implement middleware\.errors\.Notifier: notify\(exc_info\) "
     r"cannot be called as notify\(exc_info, environ, request_id\)$"),
    ("time:monotonic", None),  # a builtin without a signature: not checked, accepted
])
def test_a_notify_hook_that_cannot_take_three_arguments_is_refused(notify, message):
    if message is None:
        assert ErrorPageMiddleware(boom, notify=notify).notify is time.monotonic
        return
    with pytest.raises(TypeError, match=message):
        ErrorPageMiddleware(boom, notify=notify)


def test_a_notify_hook_named_by_import_path_is_checked_too():
    with pytest.raises(TypeError, match=r"notify\(a, /\) cannot be called as notify\("):
        ErrorPageMiddleware(boom, notify="operator:not_")
