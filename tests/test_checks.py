"""The shared integer validators: what they accept, what they refuse and what they say."""

import argparse
import re
from fractions import Fraction

import numpy as np
import pytest

from hybrid._checks import integer, non_negative_int, positive_int, positive_int_arg


@pytest.mark.parametrize("value", [1, 7, 2**70, np.int64(3), np.uint8(5), np.int32(1)])
def test_positive_int_accepts_integers_and_returns_a_plain_int(value):
    out = positive_int(value, "shots")
    assert type(out) is int and out == int(value)


@pytest.mark.parametrize(
    "value, error, message",
    [
        (0, ValueError, "shots must be a positive integer; got 0"),
        (-3, ValueError, "shots must be a positive integer; got -3"),
        (np.int64(0), ValueError, "shots must be a positive integer; got 0"),
        (True, TypeError, "shots must be a positive integer; got bool True"),
        (np.bool_(True), TypeError, "shots must be a positive integer; got bool np.True_"),
        (1.0, TypeError, "shots must be a positive integer; got float 1.0"),
        ("3", TypeError, "shots must be a positive integer; got str '3'"),
        (Fraction(4, 2), TypeError, "shots must be a positive integer; got Fraction Fraction(2, 1)"),
        (None, TypeError, "shots must be a positive integer; got NoneType None"),
    ],
)
def test_positive_int_refuses_with_the_rule_and_the_value(value, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        positive_int(value, "shots")


def test_non_negative_int_allows_zero_only_from_below():
    assert non_negative_int(0, "steps") == 0 and non_negative_int(np.int16(4), "steps") == 4
    with pytest.raises(ValueError, match=r"^steps must be a non-negative integer; got -1$"):
        non_negative_int(-1, "steps")
    with pytest.raises(TypeError, match=r"^steps must be a non-negative integer; got bool False$"):
        non_negative_int(False, "steps")


@pytest.mark.parametrize(
    "kwargs, good, bad, message",
    [
        ({}, -5, 0.5, "n must be an integer; got float 0.5"),
        ({"minimum": 2}, 2, 1, "n must be an integer >= 2; got 1"),
        ({"minimum": 2, "maximum": 15}, 15, 16, "n must be an integer in 2 .. 15; got 16"),
        ({"maximum": 3}, -1, 4, "n must be an integer <= 3; got 4"),
    ],
)
def test_integer_bounds_are_inclusive_and_named(kwargs, good, bad, message):
    assert integer(good, "n", **kwargs) == good
    with pytest.raises((TypeError, ValueError), match=f"^{re.escape(message)}$"):
        integer(bad, "n", **kwargs)


def test_positive_int_arg_parses_text_for_argparse():
    assert positive_int_arg("12") == 12 and positive_int_arg(" 3 ") == 3
    for text in ("0", "-2", "1.5", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError, match=f"^expected a positive integer; got {re.escape(repr(text))}$"):
            positive_int_arg(text)


def test_positive_int_arg_error_names_the_option(capsys):
    parser = argparse.ArgumentParser(prog="p")
    parser.add_argument("--shots", type=positive_int_arg)
    assert parser.parse_args(["--shots", "5"]).shots == 5
    with pytest.raises(SystemExit):
        parser.parse_args(["--shots", "0"])
    assert "argument --shots: expected a positive integer; got '0'" in capsys.readouterr().err
