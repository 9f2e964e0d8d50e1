"""for_log: request data cannot forge or repaint a log line."""

from __future__ import annotations

import pytest

from middleware.logsafe import MAX_LOGGED, for_log


@pytest.mark.parametrize("raw, logged", [
    ("/a\nINFO forged", "/a\\x0aINFO forged"),
    ("/a\r\n", "/a\\x0d\\x0a"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("back\\slash", "back\\\\slash"),
    ("line\u2028sep", "line\\u2028sep"),
    ("\x85next", "\\x85next"),
    ("/caf\u00e9", "/caf\u00e9"),
    (None, "-"),
    (404, "404"),
])
def test_control_characters_are_escaped(raw, logged):
    assert for_log(raw) == logged


def test_logged_value_never_contains_a_line_break():
    every = "".join(chr(c) for c in range(0x3000))
    assert "\n" not in for_log(every, limit=10**6)
    assert "\r" not in for_log(every, limit=10**6)


def test_huge_value_is_cut():
    logged = for_log("x" * (MAX_LOGGED * 10))
    assert len(logged) == MAX_LOGGED + 3
    assert logged.endswith("...")


@pytest.mark.parametrize("url, shown", [
    ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
    ("redis://admin:hunter2@cache/0", "redis://admin:***@cache/0"),
    ("rediss://admin@cache/0", "rediss://admin:***@cache/0"),
    ("redis://cache:6379/0", "redis://cache:6379/0"),
    ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ("redis://u:p@ss@cache/0", "redis://u:***@cache/0"),
])
def test_mask_url_hides_the_password(url, shown):
    from middleware.scrubbing import mask_url

    assert mask_url(url) == shown
    assert "hunter2" not in mask_url(url)
