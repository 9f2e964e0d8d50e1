"""Any ini value string: converters answer with the documented value or a ValueError, nothing
else; values written plainly always convert (so a converter that always raised would fail)."""

from __future__ import annotations

import os
import re

import pytest
from fuzz_checks import fuzzed
from hypothesis import assume, given
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
TYPES = {as_bool: bool, as_int: int, as_float: float, as_seconds: (int, float), as_list: list}
WORDS = {"true": True, "yes": True, "on": True, "y": True, "t": True, "1": True,
         "false": False, "no": False, "off": False, "n": False, "f": False, "0": False}
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
ERROR, UNKNOWN = object(), object()
_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")
_FLOAT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?")
_SECONDS = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([smhdw]?)", re.IGNORECASE)


def expected(converter, value: str):
    """What the documented grammar says ``converter(value)`` gives: the value, ``ERROR`` (a
    ``ValueError``), or ``UNKNOWN`` for an input it does not plainly cover (odd Unicode digits,
    ``1e5s``...), where only the type is checked."""
    plain = value.strip(" \t\n")
    if converter is as_bool:  # anything but the words is an error, the empty string too
        return WORDS.get(value.strip().lower(), ERROR)
    if converter is as_list:  # never an error
        return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]
    if converter is as_int and _INT.fullmatch(plain):
        return int(plain)
    if converter is as_float and _FLOAT.fullmatch(plain):
        return float(plain)
    if converter is as_seconds:
        match = _SECONDS.fullmatch(plain)
        if match:
            seconds = float(match.group(1)) * UNITS[match.group(2).lower()]
            return int(seconds) if seconds.is_integer() else seconds
        if not plain or re.search(r"[a-zA-Z]", re.sub(r"(?i)[smhdw]$", "", plain)):
            return ERROR  # a letter that is not the unit, or nothing at all
    return UNKNOWN


PAD = st.sampled_from(["", " ", "\t", " \n "])
#: values each converter must accept, written as a person would
PLAIN = {
    as_bool: st.tuples(PAD, st.sampled_from(sorted(WORDS)), st.booleans(), PAD).map(
        lambda t: t[0] + (t[1].upper() if t[2] else t[1]) + t[3]),
    as_int: st.tuples(PAD, st.integers(), PAD).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
    as_float: st.tuples(PAD, st.one_of(st.integers(-10**9, 10**9), st.decimals(
        -10**6, 10**6, places=3, allow_nan=False, allow_infinity=False)), PAD).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"),
    as_seconds: st.tuples(st.integers(0, 10**6), st.sampled_from(["", ".5", ".25"]),
                          st.sampled_from(["", " "]), st.sampled_from([*UNITS, "M", "H"])).map(
        lambda t: "".join(map(str, t))),
    as_list: st.tuples(st.lists(st.from_regex(r"[a-z0-9_./:-]{1,12}", fullmatch=True)),
                       st.sampled_from([",", ", ", "\n", " ,\n"])).map(
        lambda t: t[1].join(t[0])),
}


@pytest.mark.parametrize("converter", CONVERTERS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_a_converter_gives_the_documented_value_or_a_value_error(converter, data):
    fuzzed("ini option values")
    value = data.draw(st.one_of(st.text(), PLAIN[converter]), label="value")
    want = expected(converter, value)
    if want is ERROR:
        with pytest.raises(ValueError):
            converter(value)
    elif want is UNKNOWN:
        try:
            result = converter(value)
        except ValueError:
            result = ERROR
        assert result is ERROR or isinstance(result, TYPES[converter])
    else:
        result = converter(value)
        assert result == want and type(result) is type(want)


@pytest.mark.parametrize("converter", CONVERTERS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_values_written_plainly_always_convert(converter, data):
    fuzzed("ini option values")
    value = data.draw(PLAIN[converter], label="value")
    assert converter(value) == expected(converter, value)


@given(value=st.text())
def test_lists_never_hold_blank_or_padded_items(value):
    fuzzed("ini option values")
    assert all(item and item == item.strip() for item in as_list(value))


OPTION = st.one_of(
    *[st.tuples(st.just(name), st.one_of(PLAIN[convert], st.text()))
      for name, convert in SPEC.items()],
    st.tuples(st.sampled_from(["typo", "Size"]), st.text()))


@given(local=st.lists(OPTION, max_size=4).map(dict))
def test_coerce_options_converts_every_option_or_names_the_filter(local):
    fuzzed("ini option values")
    assume(not any(raw.startswith("env:") for raw in local.values()))
    try:  # the converters themselves are the oracle (each has its own property above)
        want = {key: SPEC[key](raw) for key, raw in local.items()}
    except (KeyError, ValueError):
        want = None
    if want is None:
        with pytest.raises(ValueError, match=re.escape("filter 'x' in /srv/app.ini")):
            coerce_options(SPEC, local, {"__file__": "/srv/app.ini"}, where="filter 'x'")
    else:
        assert coerce_options(SPEC, local, {"__file__": "/srv/app.ini"},
                              where="filter 'x'") == want


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
