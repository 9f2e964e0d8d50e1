"""ini strings to typed options: booleans, numbers, durations, lists, paths, env:NAME."""

from __future__ import annotations

import os

import pytest

from middleware.config import (
    as_bool,
    as_int,
    as_list,
    as_optional,
    as_path,
    as_seconds,
    coerce_options,
    filter_app_factory,
    resolve_env,
)


@pytest.mark.parametrize("text,expected", [
    ("true", True), ("Yes", True), (" on ", True), ("1", True),
    ("false", False), ("NO", False), ("off", False), ("0", False),
])
def test_booleans_use_pastedeploy_words(text, expected):
    assert as_bool(text) is expected


@pytest.mark.parametrize("text", ["", "enabled", "2", "truee"])
def test_anything_else_is_not_silently_false(text):
    with pytest.raises(ValueError, match="boolean"):
        as_bool(text)


def test_ints_accept_underscores_and_refuse_words():
    assert as_int(" 1_000 ") == 1000
    with pytest.raises(ValueError, match="whole number"):
        as_int("ten")


@pytest.mark.parametrize("text,seconds", [
    ("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("14d", 1209600), ("2w", 1209600),
    ("1.5m", 90), ("0.5", 0.5),
])
def test_durations_take_a_unit(text, seconds):
    assert as_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5", "5y"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="duration"):
        as_seconds(text)


def test_lists_split_on_commas_and_new_lines():
    assert as_list("br, gzip\n zstd,,\n") == ["br", "gzip", "zstd"]


def test_optional_maps_empty_and_none_to_none():
    optional_int = as_optional(as_int)
    assert optional_int("") is None and optional_int("None") is None
    assert optional_int("5") == 5


def test_env_values_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MW_TEST_SECRET", "s3cr%t")
    assert resolve_env("env:MW_TEST_SECRET", "secret_key") == "s3cr%t"
    assert resolve_env("plain", "secret_key") == "plain"


def test_a_missing_env_variable_names_option_and_variable_but_no_value(monkeypatch):
    monkeypatch.delenv("MW_TEST_MISSING", raising=False)
    with pytest.raises(ValueError) as info:
        coerce_options({"secret_key": str}, {"secret_key": "env:MW_TEST_MISSING"},
                       {"__file__": "/etc/app.ini"}, where="filter 'session'")
    message = str(info.value)
    assert "MW_TEST_MISSING" in message and "secret_key" in message
    assert "filter 'session' in /etc/app.ini" in message


def test_unknown_options_are_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match=r"unknown option 'min-size'.*min_size"):
        coerce_options({"min_size": as_int}, {"min-size": "5"}, where="filter 'gzip'")


def test_bad_values_name_the_filter_option_and_file():
    with pytest.raises(ValueError, match=r"filter 'gzip' in /a.ini: option 'min_size'"):
        coerce_options({"min_size": as_int}, {"min_size": "big"}, {"__file__": "/a.ini"},
                       where="filter 'gzip'")


def test_relative_paths_resolve_against_the_ini_directory():
    options = coerce_options({"htpasswd": as_path}, {"htpasswd": "users.htpasswd"},
                             {"here": "/srv/app"})
    assert options["htpasswd"] == os.path.join("/srv/app", "users.htpasswd")


def test_filter_app_factory_coerces_and_calls_the_constructor():
    calls = []

    def make(app, size=0, on=False):
        calls.append((app, size, on))
        return app

    factory = filter_app_factory(make, {"size": as_int, "on": as_bool}, name="thing")
    assert factory("APP", {}, size="3", on="yes") == "APP"
    assert calls == [("APP", 3, True)]
    with pytest.raises(ValueError, match="filter 'thing'"):
        factory("APP", {}, size="x")
