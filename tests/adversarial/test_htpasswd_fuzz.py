"""htpasswd lines of any shape: parsing gives users or a ``ValueError`` naming the line; a file
that loads serves requests without a single exception; a garbled reload keeps the last good
users; and no stored hash, however odd, makes a login attempt raise."""

from __future__ import annotations

import base64
import hashlib
import os
import string
import tempfile

import bcrypt
import pytest
from fuzz_checks import check, fuzzed
from hypothesis import assume, given
from hypothesis import strategies as st

from middleware.auth import AuthMiddleware, BasicAuth
from middleware.auth.hashes import parse_hash
from middleware.auth.htpasswd import HtpasswdFile, parse_htpasswd

GOOD = "alice:" + bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: shapes parse_hash accepts whatever their content (verification then decides)
ACCEPTED_SHAPES = st.one_of(
    st.text(st.sampled_from(B64), min_size=53, max_size=53).map(lambda s: "$2y$04$" + s),
    st.text(st.sampled_from(B64), min_size=53, max_size=53).map(lambda s: "$2b$05$" + s),
    # few distinct parameter sets: each new one costs a dummy hash, up to ~130 ms
    st.tuples(st.sampled_from([0, 1, 3, 16, 100, 1024]), st.sampled_from([0, 1, 8]),
              st.sampled_from([0, 1, 2])).map(
        lambda t: f"scrypt:{t[0]}:{t[1]}:{t[2]}$salt$00ff"),
    st.tuples(st.sampled_from(["sha256", "sha1", "md4", "nope", "sha3_512"]),
              st.sampled_from([0, 1, 1000])).map(lambda t: f"pbkdf2:{t[0]}:{t[1]}$salt$abcdef"),
)
#: shapes that may or may not parse
OTHER_SHAPES = st.one_of(
    st.text(st.sampled_from(B64), max_size=30).map(lambda s: "$apr1$" + s[:8] + "$" + s),
    st.text(st.sampled_from(B64 + "+/="), max_size=40).map(lambda s: "{SHA}" + s),
    st.text(max_size=80),
)
HASHLIKE = st.one_of(ACCEPTED_SHAPES, OTHER_SHAPES)
#: real hashes of "pw" of each kind an htpasswd file may hold
GOOD_HASHES = [GOOD.split(":", 1)[1],
               "{SHA}" + base64.b64encode(hashlib.sha1(b"pw").digest()).decode(),
               "pbkdf2:sha256:1000$salt$" + hashlib.pbkdf2_hmac(
                   "sha256", b"pw", b"salt", 1000).hex()]
NAME = st.text(string.ascii_letters + string.digits + "._-@", min_size=1, max_size=12)
# Lines tagged with what parse_htpasswd must do with them: ("user", name) gives that user,
# ("skip", None) nothing, ("bad", None) a ValueError naming the line; ("any", None) may go
# either way (only the type of the outcome is checked).
USER_LINE = st.tuples(NAME, st.sampled_from(GOOD_HASHES), st.sampled_from(["", "  "])).map(
    lambda t: (f"{t[2]}{t[0]}:{t[1]}", ("user", t[0])))
SKIP_LINE = st.one_of(
    st.sampled_from(["", "   ", "\t"]),
    st.text(string.printable.strip(), max_size=30).map(lambda s: "#" + s),
).map(lambda line: (line, ("skip", None)))
BAD_LINE = st.one_of(
    NAME,                                                      # no ":"
    st.sampled_from(GOOD_HASHES).map(lambda h: ":" + h),       # no user
    NAME.map(lambda n: n + ":"),                               # no hash
    st.tuples(NAME, NAME).map(
        lambda t: f"{t[0]}:plain-{t[1]}"),                      # a plaintext password
).map(lambda line: (line, ("bad", None)))
ANY_LINE = st.one_of(
    st.tuples(st.text(max_size=20), st.sampled_from([":", "", "::"]), HASHLIKE).map("".join),
    st.text(max_size=120),
    st.sampled_from(["alice:", ":x", "alice", GOOD + ":extra:f"]),
).map(lambda line: (line, ("any", None)))
TAGGED = st.lists(st.one_of(USER_LINE, SKIP_LINE, BAD_LINE, ANY_LINE), max_size=8)
LINES = TAGGED.map(lambda lines: "\n".join(line for line, _ in lines))


def outcome(lines: list) -> list[str] | str:
    """What parsing the tagged ``lines`` must give: the users in order, ``"bad"`` or
    ``"any"``."""
    tags = [tag for _, (tag, _) in lines]
    if "bad" in tags:
        return "bad"
    if "any" in tags:
        return "any"
    return list(dict.fromkeys(name for _, (tag, name) in lines if tag == "user"))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(text: str | bytes) -> str:
    fd, path = tempfile.mkstemp(suffix=".htpasswd")
    with os.fdopen(fd, "wb") as file:
        file.write(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return path


@given(lines=TAGGED)
def test_parsing_gives_the_users_or_a_value_error_naming_the_line(lines):
    fuzzed("htpasswd lines")
    text, want = "\n".join(line for line, _ in lines), outcome(lines)
    if want == "bad":
        with pytest.raises(ValueError, match="line"):
            parse_htpasswd(text)
    elif want == "any":
        try:
            users = parse_htpasswd(text)
        except ValueError as exc:
            assert "line" in str(exc)
        else:
            assert all(isinstance(user, str) and user for user in users)
    else:
        assert list(parse_htpasswd(text)) == want


@given(lines=TAGGED, user=st.sampled_from(["alice", "bob", "", "nobody"]),
       password=st.sampled_from(["pw", "wrong", ""]))
def test_a_file_that_loads_serves_every_login_without_an_exception(lines, user, password):
    fuzzed("htpasswd lines")
    want = outcome(lines)
    path = _write(GOOD + "\n" + "\n".join(line for line, _ in lines))
    try:
        if want == "bad":
            with pytest.raises(ValueError):  # refused at start-up: a broken deployment
                BasicAuth(htpasswd=path, reload_interval=0)
            return
        try:
            backend = BasicAuth(htpasswd=path, reload_interval=0)
        except ValueError:
            assert want == "any", "a file of valid lines was refused"
            return
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


@given(stored=st.one_of(ACCEPTED_SHAPES.map(lambda h: (h, True)),
                        OTHER_SHAPES.map(lambda h: (h, False))),
       password=st.text(max_size=100))
def test_verifying_against_any_accepted_hash_never_raises(stored, password):
    fuzzed("htpasswd lines")
    value, must_parse = stored
    if must_parse:
        parsed = parse_hash(value)
    else:
        try:
            parsed = parse_hash(value)
        except ValueError:
            assume(False)  # refused: nothing to verify against
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
