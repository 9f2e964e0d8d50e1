"""htpasswd lines of any shape: parsing gives users or a ``ValueError`` naming the line; a file
that loads serves requests without a single exception; a garbled reload keeps the last good
users; and no stored hash, however odd, makes a login attempt raise."""

from __future__ import annotations

import base64
import os
import tempfile

import bcrypt
import pytest
from fuzz_checks import check, fuzzed
from hypothesis import given
from hypothesis import strategies as st

from middleware.auth import AuthMiddleware, BasicAuth
from middleware.auth.hashes import parse_hash
from middleware.auth.htpasswd import HtpasswdFile, parse_htpasswd

GOOD = "alice:" + bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HASHLIKE = st.one_of(
    st.text(st.sampled_from(B64), min_size=53, max_size=53).map(lambda s: "$2y$04$" + s),
    st.text(st.sampled_from(B64), min_size=53, max_size=53).map(lambda s: "$2b$05$" + s),
    # few distinct parameter sets: each new one costs a dummy hash, up to ~130 ms
    st.tuples(st.sampled_from([0, 1, 3, 16, 100, 1024]), st.sampled_from([0, 1, 8]),
              st.sampled_from([0, 1, 2])).map(
        lambda t: f"scrypt:{t[0]}:{t[1]}:{t[2]}$salt$00ff"),
    st.tuples(st.sampled_from(["sha256", "sha1", "md4", "nope", "sha3_512"]),
              st.sampled_from([0, 1, 1000])).map(lambda t: f"pbkdf2:{t[0]}:{t[1]}$salt$abcdef"),
    st.text(st.sampled_from(B64), max_size=30).map(lambda s: "$apr1$" + s[:8] + "$" + s),
    st.text(st.sampled_from(B64 + "+/="), max_size=40).map(lambda s: "{SHA}" + s),
    st.text(max_size=80),
)
LINE = st.one_of(
    st.tuples(st.text(max_size=20), st.sampled_from([":", "", "::"]), HASHLIKE).map("".join),
    st.text(max_size=120),
    st.sampled_from(["", "#comment", "   ", "alice:", ":x", "alice", GOOD, GOOD + ":extra:f"]),
)
LINES = st.lists(LINE, max_size=8).map("\n".join)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(text: str | bytes) -> str:
    fd, path = tempfile.mkstemp(suffix=".htpasswd")
    with os.fdopen(fd, "wb") as file:
        file.write(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return path


@given(text=LINES)
def test_parsing_gives_users_or_a_value_error(text):
    fuzzed("htpasswd lines")
    try:
        users = parse_htpasswd(text)
    except ValueError as exc:
        assert "line" in str(exc)
        return
    assert all(isinstance(user, str) and user for user in users)


@given(text=LINES, user=st.sampled_from(["alice", "bob", "", "nobody"]),
       password=st.sampled_from(["pw", "wrong", ""]))
def test_a_file_that_loads_serves_every_login_without_an_exception(text, user, password):
    fuzzed("htpasswd lines")
    path = _write(GOOD + "\n" + text)
    try:
        try:
            backend = BasicAuth(htpasswd=path, reload_interval=0)
        except ValueError:
            return  # refused at start-up: a broken deployment does not start
        app = AuthMiddleware
        for who, secret in ((user, password), ("alice", "pw")):
            result = check(lambda a: app(a, [backend], throttle=None),
                           HTTP_AUTHORIZATION=_basic(who, secret), PATH_INFO="/private")
            assert result.status[:3] in {"200", "401"}
        assert result.status.startswith("200")  # alice's first line always wins
    finally:
        os.unlink(path)


@given(text=st.one_of(LINES, st.binary(max_size=200)))
def test_a_garbled_reload_keeps_the_last_good_users(text):
    fuzzed("htpasswd lines")
    path = _write(GOOD + "\n")
    try:
        table = HtpasswdFile(path, reload_interval=0)
        with open(path, "wb") as file:
            file.write(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        users = table.users()
        try:
            expected = parse_htpasswd((text if isinstance(text, bytes) else text.encode(
                "utf-8", "surrogatepass")).decode("utf-8"))
        except ValueError:
            expected = None
        if expected is None:
            assert set(users) == {"alice"}
        else:
            assert set(users) == set(expected)
    finally:
        os.unlink(path)


@given(stored=HASHLIKE, password=st.text(max_size=100))
def test_verifying_against_any_accepted_hash_never_raises(stored, password):
    fuzzed("htpasswd lines")
    try:
        parsed = parse_hash(stored)
    except ValueError:
        return
    assert parsed.verify(password) in (True, False)
    # BasicAuth makes one dummy per kind of hash (for unknown users): so does this test, and
    # checks it once, as a dummy of werkzeug's default kind costs ~65 ms to make and to check
    kind = parsed.value[:7] if parsed.scheme == "bcrypt" else parsed.value.split("$", 1)[0]
    if kind not in _DUMMIES:
        _DUMMIES[kind] = parsed.dummy()
        assert _DUMMIES[kind].verify(password) in (True, False)


_DUMMIES: dict = {}


# Regression tests for the defects the properties above found (see docs/reliability.md).

@pytest.mark.parametrize("stored", [
    "$2y$04$" + "A" * 53,             # bcrypt shape, salt bytes bcrypt refuses: "Invalid salt"
])
def test_a_bcrypt_hash_bcrypt_refuses_is_a_failed_login_not_an_exception(stored):
    assert parse_hash(stored).verify("pw") is False


@pytest.mark.parametrize("stored", [
    "pbkdf2:md4$salt$00ab",           # a digest OpenSSL does not offer
    "pbkdf2:sha256:0$salt$00",        # zero iterations
    "scrypt:0:0:0$salt$00",           # N not a power of two
    "scrypt:999999999:8:1$salt$00",
])
def test_an_unknown_user_with_an_unusable_werkzeug_hash_in_the_file_gets_a_401(stored):
    path = _write(f"u:{stored}\n")
    try:
        app = lambda a: AuthMiddleware(a, [BasicAuth(htpasswd=path)], throttle=None)  # noqa: E731
        for user in ("u", "nobody"):
            result = check(app, HTTP_AUTHORIZATION=_basic(user, "pw"), PATH_INFO="/private")
            assert result.status.startswith("401")
    finally:
        os.unlink(path)
