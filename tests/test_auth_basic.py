"""BasicAuth: htpasswd files written by Apache's tool, reload, cache, malformed headers."""

from __future__ import annotations

import base64
import gc
import logging
import os
import shutil
import subprocess

import bcrypt
import pytest
import webtest

from middleware.auth import AuthMiddleware, BasicAuth
from middleware.auth.base import MalformedCredentials

HTPASSWD = shutil.which("htpasswd")


def htpasswd(path, *args: str) -> None:
    """Run Apache's htpasswd (batch mode, bcrypt cost 4 unless a format flag is given)."""
    assert HTPASSWD, "Apache's htpasswd is missing: apt-get install apache2-utils"
    flags = list(args[:-2]) or ["-B", "-C", "4"]
    create = [] if os.path.exists(path) else ["-c"]
    subprocess.run([HTPASSWD, "-b", *create, *flags, str(path), *args[-2:]], check=True,
                   capture_output=True)


def who(environ, start_response):
    body = f"{environ.get('REMOTE_USER')}|{environ.get('AUTH_TYPE')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def basic(user: str | bytes, password: str | bytes) -> dict[str, str]:
    raw = (user if isinstance(user, bytes) else user.encode()) + b":" + (
        password if isinstance(password, bytes) else password.encode())
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.htpasswd"
    htpasswd(path, "alice", "wonderland")
    htpasswd(path, "-m", "bob", "builder")
    htpasswd(path, "-s", "carol", "singer")
    htpasswd(path, "jürgen", "pässwort")
    return path


@pytest.fixture
def client(users_file):
    return webtest.TestApp(AuthMiddleware(who, [BasicAuth(htpasswd=users_file,
                                                          reload_interval=0)], throttle=None))


@pytest.mark.parametrize(("user", "password"), [("alice", "wonderland"), ("bob", "builder"),
                                                ("carol", "singer"), ("jürgen", "pässwort")])
def test_users_from_an_apache_htpasswd_file_log_in(client, user, password):
    res = client.get("/", headers=basic(user, password))
    assert res.text == f"{user}|Basic"


@pytest.mark.parametrize(("user", "password"), [("alice", "Wonderland"), ("mallory", "x"),
                                                ("", ""), ("alice", "")])
def test_wrong_or_unknown_credentials_get_a_401_challenge(client, user, password):
    res = client.get("/", headers=basic(user, password), status=401)
    assert res.headers["WWW-Authenticate"] == 'Basic realm="Restricted", charset="UTF-8"'


def test_latin1_credentials_from_old_clients_still_match(client):
    client.get("/", headers=basic("jürgen".encode("latin-1"), "pässwort".encode("latin-1")))


@pytest.mark.parametrize("header", [
    "Basic", "Basic ", "Basic\t", "Basic !!!!", "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"al\nice:pw").decode(),
    "Basic " + base64.b64encode(b"alice:p\x00w").decode(),
    "Basic " + "é" * 12, "Basic YWxp Y2U6cHc=", "basic ====",
])
def test_malformed_basic_headers_get_400_never_500(client, header):
    res = client.get("/", headers={"Authorization": header}, status=400)
    assert "Malformed" in res.text


@pytest.mark.parametrize("header", ["Digest username=x", "Negotiate abc", "garbage"])
def test_other_schemes_and_junk_get_a_401_challenge(client, header):
    client.get("/", headers={"Authorization": header}, status=401)


def test_huge_authorization_header_gets_400(client):
    client.get("/", headers={"Authorization": "Basic " + "A" * 20_000}, status=400)


def test_bad_utf8_is_decoded_not_a_crash(client):
    client.get("/", headers=basic(b"\xff\xfe", b"\xc3"), status=401)


def test_a_new_user_added_to_the_file_can_log_in_without_restart(client, users_file):
    client.get("/", headers=basic("dave", "diver"), status=401)
    htpasswd(users_file, "dave", "diver")
    assert client.get("/", headers=basic("dave", "diver")).text == "dave|Basic"


def test_a_changed_password_stops_the_old_one_even_when_cached(client, users_file):
    client.get("/", headers=basic("alice", "wonderland"))
    htpasswd(users_file, "alice", "looking-glass")
    client.get("/", headers=basic("alice", "wonderland"), status=401)
    client.get("/", headers=basic("alice", "looking-glass"))


def test_a_removed_user_is_locked_out(client, users_file):
    client.get("/", headers=basic("alice", "wonderland"))
    subprocess.run([HTPASSWD, "-D", str(users_file), "alice"], check=True, capture_output=True)
    client.get("/", headers=basic("alice", "wonderland"), status=401)


def test_a_broken_reload_keeps_the_last_good_users(client, users_file, caplog):
    with open(users_file, "a") as f:
        f.write("eve:plaintext-password\n")
    with caplog.at_level(logging.ERROR, "middleware.auth"):
        client.get("/", headers=basic("alice", "wonderland"))
    assert "not reloaded" in caplog.text and "plaintext-password" not in caplog.text
    users_file.unlink()
    client.get("/", headers=basic("alice", "wonderland"))


def test_reload_is_checked_at_most_every_interval(users_file):
    backend = BasicAuth(htpasswd=users_file, reload_interval=3600)
    htpasswd(users_file, "dave", "diver")
    assert backend.lookup("dave") is None


def texts_held_by(root: object) -> list[str]:
    """Every string and bytes value (bytes as latin-1) that ``root`` holds, however deep: through
    containers and objects of the ``middleware`` package, whatever their attributes are named."""
    todo, seen, texts = [root], set(), []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes)):
            texts.append(obj if isinstance(obj, str) else obj.decode("latin-1"))
        elif isinstance(obj, (dict, list, tuple, set, frozenset)) or (
                type(obj).__module__.startswith("middleware.")):
            todo.extend(gc.get_referents(obj))
    return texts


def test_successful_verification_is_cached_and_failures_are_not(users_file):
    backend = BasicAuth(htpasswd=users_file)
    good = backend.extract({"HTTP_AUTHORIZATION": basic("alice", "wonderland")["Authorization"]})
    bad = backend.extract({"HTTP_AUTHORIZATION": basic("alice", "wrong")["Authorization"]})
    assert backend.cached(good) is None
    assert backend.authenticate(good).user == "alice"
    assert backend.cached(good).user == "alice"
    assert backend.authenticate(bad) is None and backend.cached(bad) is None
    assert not any("wonderland" in text for text in texts_held_by(backend))  # an HMAC key


def test_cache_can_be_disabled(users_file):
    backend = BasicAuth(htpasswd=users_file, cache_ttl=0)
    good = backend.extract({"HTTP_AUTHORIZATION": basic("alice", "wonderland")["Authorization"]})
    assert backend.authenticate(good) and backend.cached(good) is None


def test_unknown_users_pay_a_dummy_hash_of_the_same_cost(users_file):
    backend = BasicAuth(htpasswd=users_file)
    assert not backend.check_password("nobody", "x")
    dummy = backend.dummy_hash()
    assert dummy.value.startswith("$2b$04$")  # alice's entry: bcrypt, cost 4
    assert backend.dummy_hash() is dummy  # made once, not per request


def test_weak_legacy_hashes_are_logged_at_start_up(users_file, caplog):
    with caplog.at_level(logging.WARNING, "middleware.auth"):
        BasicAuth(htpasswd=users_file)
    assert "'bob'" in caplog.text and "'carol'" in caplog.text and "'alice'" not in caplog.text


@pytest.mark.parametrize(("content", "message"), [
    ("eve:secret\n", "plaintext"), ("eve:rl0yNUZ5Xj3Ug\n", "crypt"), ("no-colon\n", "user:hash"),
])
def test_refused_formats_fail_at_start_up_naming_the_line(tmp_path, content, message):
    path = tmp_path / "bad.htpasswd"
    path.write_text("# comment\n\n" + content)
    with pytest.raises(ValueError, match=message) as info:
        BasicAuth(htpasswd=path)
    assert "line 3" in str(info.value) and "secret" not in str(info.value).replace(
        "plaintext", "")


def test_duplicate_users_first_entry_wins(tmp_path):
    first = bcrypt.hashpw(b"one", bcrypt.gensalt(4)).decode()
    second = bcrypt.hashpw(b"two", bcrypt.gensalt(4)).decode()
    path = tmp_path / "dup.htpasswd"
    path.write_text(f"u:{first}\nu:{second}\n")
    backend = BasicAuth(htpasswd=path)
    assert backend.check_password("u", "one") and not backend.check_password("u", "two")


def test_users_mapping_and_file_combine(users_file):
    from werkzeug.security import generate_password_hash
    backend = BasicAuth(users={"zed": generate_password_hash("z", method="pbkdf2:sha256:1000")},
                        htpasswd=users_file)
    assert backend.check_password("zed", "z") and backend.check_password("alice", "wonderland")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({}, ValueError, "users= .* or htpasswd="),
    ({"users": [("a", "b")]}, TypeError, "users"),
    ({"users": {"a": "plain"}}, ValueError, r"users\['a'\]"),
    ({"users": {"a:b": "x"}}, ValueError, "user name"),
    ({"htpasswd": "/nonexistent/file"}, ValueError, "htpasswd"),
    ({"htpasswd": "/dev/null", "cache_ttl": -1}, ValueError, "cache_ttl"),
    ({"htpasswd": "/dev/null", "reload_interval": "x"}, ValueError, "reload_interval"),
])
def test_invalid_options_fail_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        BasicAuth(**kwargs)


def test_repr_and_credentials_never_show_the_password(users_file):
    backend = BasicAuth(htpasswd=users_file)
    creds = backend.extract({"HTTP_AUTHORIZATION": basic("alice", "wonderland")["Authorization"]})
    assert "wonderland" not in repr(creds) and "wonderland" not in repr(backend)
    with pytest.raises(MalformedCredentials):
        backend.extract({"HTTP_AUTHORIZATION": "Basic @@"})


def test_an_edit_in_the_same_clock_tick_as_the_load_is_still_seen(users_file):
    backend = BasicAuth(htpasswd=users_file, reload_interval=0)
    before = os.stat(users_file)
    htpasswd(users_file, "alice", "queen-of-hearts")  # same size: a bcrypt hash again
    os.utime(users_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(users_file).st_size == before.st_size
    assert backend.check_password("alice", "queen-of-hearts")
    assert not backend.check_password("alice", "wonderland")
