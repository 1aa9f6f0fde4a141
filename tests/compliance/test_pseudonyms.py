"""Keyed pseudonyms: stable for one pepper, different for another, separate for lookup and analytics."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from compliance.pseudonyms import Pseudonymizer, normalize_number


def test_normalization() -> None:
    assert normalize_number("+1 (555) 010-4477") == "+15550104477"
    assert normalize_number("0044 20 7946 0000") == "+442079460000"
    assert normalize_number("Anonymous") == "anonymous"


@given(digits=st.from_regex(r"\+[1-9][0-9]{7,13}", fullmatch=True))
def test_pseudonyms_are_keyed_and_separated(digits: str) -> None:
    pepper = b"p" * 32
    a, b = Pseudonymizer(pepper), Pseudonymizer(os.urandom(32))
    assert a.lookup(digits) == Pseudonymizer(pepper).lookup(digits)
    assert a.lookup(digits) != b.lookup(digits)
    assert a.lookup(digits) != a.analytics(digits)
    assert digits not in a.lookup(digits)
