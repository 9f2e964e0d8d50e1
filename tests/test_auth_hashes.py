"""Password hash formats: real htpasswd output, known vectors, refused formats."""

from __future__ import annotations

import shutil
import subprocess

import bcrypt
import pytest
from werkzeug.security import generate_password_hash

from middleware.auth.hashes import UnsupportedHash, apr1_crypt, parse_hash

HTPASSWD = shutil.which("htpasswd")


def htpasswd_line(flag: str, user: str, password: str) -> str:
    """One ``user:hash`` line written by Apache's own htpasswd tool."""
    assert HTPASSWD, "Apache's htpasswd is missing: apt-get install apache2-utils"
    out = subprocess.run([HTPASSWD, "-nb", flag, user, password], capture_output=True,
                         text=True, check=True).stdout
    return out.strip()


# Independent implementations: `openssl passwd -apr1 -salt <salt> <password>`.
APR1_VECTORS = [
    (b"P@ssw0rd!", "TrAnSlT", "$apr1$TrAnSlT$J0GmaEjEeu2CblfgYJfwY."),
    (b"", "xxxxxxxx", "$apr1$xxxxxxxx$AL/DOdqyMUurcg0cPNW/P1"),
]


@pytest.mark.parametrize(("password", "salt", "expected"), APR1_VECTORS)
def test_apr1_matches_known_vectors(password, salt, expected):
    assert apr1_crypt(password, salt) == expected


@pytest.mark.parametrize("password", ["pw", "x" * 40, "pässwörd ü", "a:b:c"])
def test_apr1_verifies_hashes_written_by_apache_htpasswd(password):
    stored = parse_hash(htpasswd_line("-m", "u", password).split(":", 1)[1])
    assert stored.scheme == "apr1" and stored.weak
    assert stored.verify(password)
    assert not stored.verify(password + "x")


@pytest.mark.parametrize(("flag", "scheme", "weak"), [("-B", "bcrypt", False),
                                                      ("-s", "sha", True)])
def test_htpasswd_formats_verify_right_and_wrong_passwords(flag, scheme, weak):
    stored = parse_hash(htpasswd_line(flag, "u", "correct horse").split(":", 1)[1])
    assert (stored.scheme, stored.weak) == (scheme, weak)
    assert stored.verify("correct horse")
    assert not stored.verify("correct horsE")


@pytest.mark.parametrize("prefix", [b"2a", b"2b"])
def test_bcrypt_prefixes_all_verify(prefix):
    value = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4, prefix=prefix)).decode()
    assert parse_hash(value).verify("pw")
    assert parse_hash(value.replace("$2b$", "$2y$").replace("$2a$", "$2y$")).verify("pw")


def test_bcrypt_password_over_72_bytes_is_truncated_like_htpasswd_not_a_crash():
    long_password = "a" * 80
    stored = parse_hash(htpasswd_line("-B", "u", long_password).split(":", 1)[1])
    assert stored.verify(long_password)
    assert stored.verify("a" * 72 + "something else")  # bcrypt reads 72 bytes, as httpd does
    assert not stored.verify("a" * 71)


@pytest.mark.parametrize("method, weak", [
    ("scrypt:16384:8:1", False), ("pbkdf2:sha256:100000", False), ("pbkdf2:sha512", False),
    # weak parameters are flagged like {SHA}: a leaked file gives them away fast
    ("scrypt:1024:8:1", True), ("pbkdf2:sha256:1000", True), ("pbkdf2:md5:1000000", True),
    ("pbkdf2:sha1:1000000", True),
])
def test_werkzeug_hashes_verify_and_weak_parameters_are_flagged(method, weak):
    stored = parse_hash(generate_password_hash("pw", method=method))
    assert stored.scheme == "werkzeug" and stored.weak is weak
    assert stored.verify("pw") and not stored.verify("pW")


def test_malformed_werkzeug_parameters_fail_instead_of_raising():
    stored = parse_hash("pbkdf2:sha256:99999999999999999999999$salt$abcdef")
    assert stored.verify("pw") is False


@pytest.mark.parametrize("value", ["secret", "{PLAIN}secret", "", "$2x$05$" + "a" * 53])
def test_plaintext_and_unknown_formats_are_refused(value):
    with pytest.raises(UnsupportedHash, match="plaintext"):
        parse_hash(value)


@pytest.mark.parametrize("value", ["rl0yNUZ5Xj3Ug", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
                                   "$5$rounds=5000$abc$def", "$6$abc$def"])
def test_crypt_formats_are_refused(value):
    with pytest.raises(UnsupportedHash, match=r"crypt\(3\)"):
        parse_hash(value)


def test_refusal_message_never_contains_the_value():
    with pytest.raises(UnsupportedHash) as info:
        parse_hash("hunter2-plaintext")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("method", ["bcrypt", "werkzeug", "apr1", "sha"])
def test_dummy_hash_has_the_same_scheme_and_cost(method):
    value = {"bcrypt": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=5)).decode(),
             "werkzeug": generate_password_hash("pw", method="scrypt:1024:8:1"),
             "apr1": apr1_crypt(b"pw", "abcdefgh"),
             "sha": htpasswd_line("-s", "u", "pw").split(":", 1)[1]}[method]
    stored = parse_hash(value)
    dummy = stored.dummy()
    assert dummy.scheme == stored.scheme and dummy.value != stored.value
    # the cost parameters: bcrypt's "$2b$05$", werkzeug's "scrypt:1024:8:1", the markers
    same = {"bcrypt": 7, "werkzeug": len("scrypt:1024:8:1"), "apr1": 6, "sha": 5}[method]
    assert dummy.value[:same] == stored.value[:same]
    assert not dummy.verify("pw")
    assert "pw" not in repr(stored) and stored.value not in repr(stored)
