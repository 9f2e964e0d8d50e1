"""Any ini option value, for every filter of the package: the PasteDeploy factory either
refuses it at construction with a ``ValueError``/``TypeError`` naming the option, or builds a
middleware that serves a request with every property holding (never a failure at the first
request). The converters alone are fuzzed in ``test_config_fuzz.py``."""

from __future__ import annotations

import os

import pytest
from fuzz_checks import BASIC, PASSWORD_HASH, SESSION_KEY, check, fuzzed
from hypothesis import given
from hypothesis import strategies as st

from middleware import auth, compression, debug, errors, sessions

FILTERS = {"compression": compression.filter_factory, "session": sessions.filter_factory,
           "auth": auth.filter_factory, "errors": errors.filter_factory,
           "debug": debug.filter_factory}
#: options left out: they open connections, create files in the working directory or import
#: modules named by the value (their own tests cover them with safe values)
UNSAFE = {("session", "store"), ("auth", "throttle_store"), ("errors", "notify"),
          ("errors", "logger")}
OPTIONS = sorted((name, option) for name, factory in FILTERS.items()
                 for option in factory.spec if (name, option) not in UNSAFE)
TYPED = st.sampled_from(["0", "1", "-1", "500", "99999999999999999999", "1.5", "nan", "inf",
                         "true", "false", "yes", "off", "", " ", "5m", "1h", "2d", "10 s",
                         "-5m", "none", "None", "gzip, br", "br,zstd,gzip,deflate", "x, , y",
                         "/", "/health, /static/*", "127.0.0.1, ::1", "10.0.0.0/8", "Lax",
                         "Strict", "auto", "text/*", "*/*", "a" * 300, "env:", "env:NOPE_UNSET",
                         "user:token", "user:sha256:" + "0" * 64, "%(here)s", "..", "\x00"])
VALUE = st.one_of(TYPED, st.text(max_size=60),
                  st.lists(TYPED, max_size=4).map(", ".join))


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    """A directory with an htpasswd file and an (empty) template directory."""
    path = tmp_path_factory.mktemp("ini-fuzz")
    (path / "users.htpasswd").write_text(f"alice:{PASSWORD_HASH}\n")
    (path / "pages").mkdir()
    return str(path)


def _base(name: str, here: str) -> dict[str, str]:
    """The options a filter needs to build at all."""
    if name == "session":
        return {"secret_key": SESSION_KEY}
    if name == "auth":
        return {"htpasswd": "users.htpasswd", "throttle": "false"}
    if name == "errors":
        return {"template_dir": "pages"}
    return {}


@given(picked=st.lists(st.tuples(st.sampled_from(OPTIONS), VALUE), min_size=1, max_size=3))
def test_any_ini_value_fails_at_construction_or_serves_cleanly(here, picked):
    fuzzed("ini option values")
    name = picked[0][0][0]
    local = _base(name, here)
    for (filter_name, option), value in picked:
        if filter_name == name:
            local[option] = value.replace("\x00", "")
    factory = FILTERS[name]
    global_conf = {"here": here, "__file__": os.path.join(here, "app.ini")}
    try:
        factory(lambda environ, start_response: [], global_conf, **local)
    except (ValueError, TypeError) as exc:
        # the auth filter's htpasswd and bearer_tokens build its ``backends``
        named = [*local, "backends"] if name == "auth" else local
        assert any(option in str(exc) for option in named), (local, str(exc))
        return

    check(lambda app: factory(app, global_conf, **local), HTTP_AUTHORIZATION=BASIC, REMOTE_ADDR="127.0.0.1", PATH_INFO="/public/x")


# Regression test for a defect the property above found (see docs/reliability.md).

@pytest.mark.parametrize("domain", ["\x1b", "\x80", "exa\x7fmple.org", "ex\u00e4mple..org"])
def test_a_session_domain_a_cookie_cannot_carry_is_refused_at_construction(domain):
    with pytest.raises(ValueError, match="domain"):
        sessions.SessionMiddleware(lambda environ, start_response: [], SESSION_KEY,
                                   domain=domain)


@pytest.mark.parametrize("option", ["max_age", "idle_timeout"])
@pytest.mark.parametrize("value", ["99999999999999999999", "inf", "nan"])
def test_a_session_lifetime_past_what_a_cookie_date_holds_is_refused_at_construction(option,
                                                                                   value):
    with pytest.raises(ValueError, match=option):
        sessions.filter_factory(lambda environ, start_response: [], {},
                                secret_key=SESSION_KEY, **{option: value})


def test_a_bad_bearer_token_in_the_ini_is_refused_naming_the_option(here):
    with pytest.raises(ValueError, match="bearer_tokens") as info:
        auth.filter_factory(lambda environ, start_response: [], {"here": here},
                            bearer_tokens="ci:short")
    assert "short" not in str(info.value)  # never echo a token
