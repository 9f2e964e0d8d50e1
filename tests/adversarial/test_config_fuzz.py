"""Any ini value string: converters answer with the typed value or a ValueError, nothing else."""

from __future__ import annotations

import os

import pytest
from fuzz_checks import fuzzed
from hypothesis import given
from hypothesis import strategies as st

from middleware.config import (
    as_bool,
    as_float,
    as_int,
    as_list,
    as_seconds,
    coerce_options,
    filter_app_factory,
)

CONVERTERS = [as_bool, as_int, as_float, as_seconds, as_list]
SPEC = {"flag": as_bool, "size": as_int, "ttl": as_seconds, "names": as_list}


@pytest.mark.parametrize("converter", CONVERTERS, ids=lambda c: c.__name__)
@given(value=st.text())
def test_a_converter_returns_its_type_or_raises_value_error(converter, value):
    fuzzed("ini option values")
    try:
        result = converter(value)
    except ValueError:
        return
    expected = {as_bool: bool, as_int: int, as_float: float, as_seconds: (int, float),
                as_list: list}[converter]
    assert isinstance(result, expected)


@given(value=st.text())
def test_lists_never_hold_blank_or_padded_items(value):
    fuzzed("ini option values")
    assert all(item and item == item.strip() for item in as_list(value))


@given(local=st.dictionaries(st.sampled_from([*SPEC, "typo", "Size"]), st.text(), max_size=4))
def test_coerce_options_errors_are_value_errors_naming_the_filter(local):
    fuzzed("ini option values")
    try:
        options = coerce_options(SPEC, local, {"__file__": "/srv/app.ini"}, where="filter 'x'")
    except ValueError as exc:
        assert "filter 'x' in /srv/app.ini" in str(exc)
        return
    assert set(options) <= set(SPEC)


@given(value=st.text(min_size=1).filter(lambda v: v.strip().lower() not in
                                         {"true", "false", "yes", "no", "on", "off",
                                          "y", "n", "t", "f", "1", "0"}))
def test_a_bad_value_from_the_environment_is_never_echoed(value):
    fuzzed("ini option values")
    secret = "s3cret-" + value.replace("\x00", "")
    os.environ["FUZZ_SECRET"] = secret
    factory = filter_app_factory(lambda app, flag=False: app, {"flag": as_bool}, name="f")
    try:
        with pytest.raises(ValueError) as info:
            factory(None, {}, flag="env:FUZZ_SECRET")
    finally:
        del os.environ["FUZZ_SECRET"]
    assert "FUZZ_SECRET" in str(info.value)
    assert secret not in str(info.value)
