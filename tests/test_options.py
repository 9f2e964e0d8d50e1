"""One rule for options in every middleware: a value of the wrong type is a ``TypeError``, a
value of the right type that is not allowed a ``ValueError``, and the message names the option.

The same mistake is made against every middleware (and the stores and backends they take),
from Python and from a PasteDeploy ini file loaded by PasteDeploy itself.
"""

from __future__ import annotations

import logging

import pytest
from paste.deploy import loadapp
from werkzeug.security import generate_password_hash

from middleware.auth import AuthMiddleware, BasicAuth, BearerTokenAuth
from middleware.auth.throttle import Throttle
from middleware.compression import CompressionMiddleware
from middleware.debug import DebugMiddleware
from middleware.errors import ErrorPageMiddleware
from middleware.options import (
    check_bool,
    check_choice,
    check_int,
    check_keys,
    check_names,
    check_networks,
    check_number,
    check_str,
    check_strings,
)
from middleware.sessions import CookieStore, MemoryStore, SessionMiddleware

HASH = generate_password_hash("secret", method="pbkdf2:sha256:1000")


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def paste_app(global_conf, **local_conf):
    return app


#: how to build each middleware with its required options
BUILD = {
    "compression": lambda **kw: CompressionMiddleware(app, **kw),
    "session": lambda **kw: SessionMiddleware(app, **{"secret_key": "k", **kw}),
    "errors": lambda **kw: ErrorPageMiddleware(app, **kw),
    "auth": lambda **kw: AuthMiddleware(app, [BasicAuth(users={"alice": HASH})], **kw),
    "debug": lambda **kw: DebugMiddleware(app, logger=logging.getLogger("test.options"), **kw),
    "CookieStore": lambda **kw: CookieStore(**kw),
    "MemoryStore": lambda **kw: MemoryStore(**kw),
    "BasicAuth": lambda **kw: BasicAuth(users={"alice": HASH}, **kw),
    "BearerTokenAuth": lambda **kw: BearerTokenAuth(tokens={"t0ken-0123456789abcdef": "alice"}, **kw),
    "Throttle": lambda **kw: Throttle(**kw),
}

WHOLE_NUMBERS = [("compression", "min_size"), ("compression", "gzip_level"),
                 ("auth", "max_header_length"), ("debug", "max_tracebacks"),
                 ("session", "max_age"), ("CookieStore", "max_size"),
                 ("MemoryStore", "max_entries"), ("BasicAuth", "cache_size"),
                 ("BearerTokenAuth", "max_length"), ("Throttle", "max_failures")]
BOOLEANS = [("compression", "decompress_requests"), ("session", "httponly"),
            ("session", "partitioned"), ("errors", "intercept"), ("auth", "login_form"),
            ("debug", "evalex"), ("CookieStore", "compress"), ("Throttle", "fail_open")]
LISTS = [("compression", "exclude_paths"), ("compression", "mime_types"), ("errors", "scrub"),
         ("errors", "keep_headers"), ("auth", "public_paths"), ("auth", "public_methods"),
         ("auth", "trusted_proxies"), ("debug", "scrub"), ("debug", "allowed_ips"),
         ("debug", "trusted_proxies"), ("debug", "trusted_hosts")]
STRINGS = [("session", "cookie_name"), ("session", "path"), ("errors", "request_id_header"),
           ("auth", "realm"), ("auth", "login_url"), ("debug", "console_path"),
           ("debug", "pin"), ("BearerTokenAuth", "header")]
CALLABLES = [("errors", "notify"), ("auth", "allow"), ("auth", "authorize"),
             ("BearerTokenAuth", "verify")]
CHOICES = [("session", "samesite"), ("session", "secure"), ("auth", "protect")]
NETWORKS = [("auth", "trusted_proxies"), ("debug", "allowed_ips"), ("debug", "trusted_proxies")]
KEYS = [("session", "secret_key"), ("auth", "secret_key")]


def mistakes():
    """(middleware, option, value, error): one mistake against every option it applies to."""
    for where, option in WHOLE_NUMBERS:
        yield where, option, "500", TypeError  # a number as text
        yield where, option, True, TypeError  # a bool is not a number
        yield where, option, -1, ValueError  # a number out of range
    for where, option in BOOLEANS:
        yield where, option, "yes", TypeError
        yield where, option, 1, TypeError
    for where, option in LISTS:
        yield where, option, "one", TypeError  # a single string, not a list
        yield where, option, [3], TypeError  # an item that is not a string
    for where, option in STRINGS:
        yield where, option, 5, TypeError
        yield where, option, "", ValueError
        yield where, option, "a\r\nb", ValueError
    for where, option in CALLABLES:
        yield where, option, 3, TypeError
    for where, option in CHOICES:
        yield where, option, "sometimes", ValueError
        yield where, option, 2, TypeError
    for where, option in NETWORKS:
        yield where, option, ["not-an-address"], ValueError
    for where, option in KEYS:
        yield where, option, 42, TypeError
        yield where, option, [b"k", 3], TypeError
        yield where, option, [], ValueError


@pytest.mark.parametrize(("where", "option", "value", "error"),
                         [pytest.param(*m, id=f"{m[0]}-{m[1]}-{m[2]!r}") for m in mistakes()])
def test_the_same_mistake_gives_the_same_error_naming_the_option(where, option, value, error):
    with pytest.raises(error, match=option) as info:
        BUILD[where](**{option: value})
    assert type(info.value) is error


@pytest.mark.parametrize("where", sorted(BUILD))
def test_the_defaults_pass_the_checks(where):
    BUILD[where]()


# -- ini files: the converters make values, the constructors check them ----------------------

#: (filter, option, ini text, error); the text converts, the constructor refuses the value,
#: or the converter refuses the text
INI_MISTAKES = [
    ("compression", "min_size", "-1", ValueError),
    ("compression", "gzip_level", "12", ValueError),
    ("compression", "min_size", "five hundred", ValueError),
    ("compression", "decompress_requests", "maybe", ValueError),
    ("session", "max_age", "0", ValueError),
    ("session", "samesite", "sometimes", ValueError),
    ("session", "secure", "maybe", ValueError),
    ("session", "cookie_name", "a b", ValueError),
    ("errors", "intercept", "maybe", ValueError),
    ("errors", "request_id_header", "X Bad", ValueError),
    ("auth", "max_header_length", "100", ValueError),
    ("auth", "max_header_length", "lots", ValueError),
    ("auth", "protect", "sometimes", ValueError),
    ("auth", "trusted_proxies", "not-an-address", ValueError),
    ("debug", "max_tracebacks", "0", ValueError),
    ("debug", "max_tracebacks", "many", ValueError),
    ("debug", "console_path", "no-slash", ValueError),
    ("debug", "evalex", "maybe", ValueError),
]

#: options each filter needs to be built at all
REQUIRED = {"session": "secret_key = k\n", "auth": "bearer_tokens = alice:t0ken-0123456789abcdef\n"}


@pytest.mark.parametrize(("name", "option", "text", "error"), INI_MISTAKES,
                         ids=[f"{m[0]}-{m[1]}-{m[2]}" for m in INI_MISTAKES])
def test_ini_mistakes_fail_in_loadapp_naming_the_option(tmp_path, name, option,
                                                                      text, error):
    ini = tmp_path / f"{name}.ini"
    ini.write_text(f"""
[pipeline:main]
pipeline = layer app

[filter:layer]
use = egg:wsgi-middleware-suite#{name}
{REQUIRED.get(name, "")}{option} = {text}

[app:app]
paste.app_factory = test_options:paste_app
""")
    with pytest.raises(error, match=option) as info:
        loadapp(f"config:{ini}")
    assert type(info.value) is error


@pytest.mark.parametrize("name", ["compression", "session", "errors", "auth", "debug"])
def test_ini_and_python_refuse_an_out_of_range_value_alike(tmp_path, name):
    """The ini path ends in the same constructor check as Python code."""
    option, text, value = {
        "compression": ("gzip_level", "12", 12), "session": ("max_age", "0", 0),
        "errors": ("request_id_header", "X Bad", "X Bad"),
        "auth": ("max_header_length", "100", 100), "debug": ("max_tracebacks", "0", 0),
    }[name]
    with pytest.raises(ValueError) as from_python:
        BUILD[name](**{option: value})
    ini = tmp_path / "app.ini"
    ini.write_text(f"[filter-app:main]\nuse = egg:wsgi-middleware-suite#{name}\n"
                   f"next = app\n{REQUIRED.get(name, '')}{option} = {text}\n\n"
                   "[app:app]\npaste.app_factory = test_options:paste_app\n")
    with pytest.raises(ValueError) as from_ini:
        loadapp(f"config:{ini}")
    assert str(from_ini.value).endswith(str(from_python.value))


# -- the checks themselves ----------------------------------------------------------------------

@pytest.mark.parametrize(("check", "value", "error"), [
    (lambda v: check_int("n", v, low=1, high=9), 1.0, TypeError),
    (lambda v: check_int("n", v, low=1, high=9), 10, ValueError),
    (lambda v: check_number("n", v, positive=True), float("nan"), ValueError),
    (lambda v: check_number("n", v, positive=True), float("inf"), ValueError),
    (lambda v: check_number("n", v, positive=True), 0, ValueError),
    (lambda v: check_number("n", v), None, TypeError),
    (lambda v: check_bool("n", v), None, TypeError),
    (lambda v: check_str("n", v), b"bytes", TypeError),
    (lambda v: check_str("n", v), "  ", ValueError),
    (lambda v: check_choice("n", v, (True, False, "auto")), 1, TypeError),
    (lambda v: check_choice("n", v, (True, False, "auto")), "on", ValueError),
    (lambda v: check_strings("n", v), b"abc", TypeError),
    (lambda v: check_strings("n", v), 5, TypeError),
    (lambda v: check_names("n", v), ["a", " "], ValueError),
    (lambda v: check_networks("n", v), ["10.0.0.0/33"], ValueError),
    (lambda v: check_keys("n", v), "", ValueError),
])
def test_checks_follow_the_rule(check, value, error):
    with pytest.raises(error, match="^n[ :]"):
        check(value)


@pytest.mark.parametrize(("check", "value", "expected"), [
    (lambda v: check_int("n", v, optional=True), None, None),
    (lambda v: check_number("n", v, high=10), 2.5, 2.5),
    (lambda v: check_choice("n", v, (True, False, "auto")), "auto", "auto"),
    (lambda v: check_choice("n", v, (True, False, "auto")), False, False),
    (lambda v: check_strings("n", v), ["a", "b"], ("a", "b")),
    (lambda v: check_strings("n", v), iter(["a"]), ("a",)),
    (lambda v: check_names("n", v), [" X-A "], ("X-A",)),
    (lambda v: check_keys("n", v), b"k", [b"k"]),
    (lambda v: check_str("n", v, empty=True), "", ""),
])
def test_checks_return_the_value(check, value, expected):
    assert check(value) == expected


def test_a_secret_key_never_appears_in_the_error():
    with pytest.raises(TypeError) as info:
        check_keys("secret_key", ["s3cr3t-value", 1])
    assert "s3cr3t" not in str(info.value)
