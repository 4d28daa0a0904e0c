"""Normalising emails and phones: the quick paths give exactly what the full libraries give."""

from __future__ import annotations

import string

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflow.leads.normalise import NormaliseError, normalise_email, normalise_phone, plain_email

ATEXT = string.ascii_letters + string.digits + "_!#$%&'*+-/=?^`{|}~"
SOUP = ATEXT + '.@-. <>"()[],;:\\\t' + "éßİﬁ。＠\u0301\u200bÅ"
HOST = string.ascii_letters + string.digits + "-"


def library_email(raw: str) -> str:
    """What normalise_email gave before it had a quick path: email-validator on every address."""
    value = (raw or "").strip()
    if not value:
        return ""
    if len(value) > 254:
        raise NormaliseError("is longer than 254 characters, the most an address may have.")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise NormaliseError(f"is not a valid email address: {error}") from error
    return f"{result.local_part}@{result.ascii_domain.lower()}"


def outcome(function, value: str) -> tuple[str, str]:
    try:
        return function(value), ""
    except NormaliseError as error:
        return "", str(error)


labels = st.one_of(
    st.text(HOST, min_size=1, max_size=70),
    st.sampled_from(["xn--bcher-kva", "ab--cd", "Acme", "MAIL", "a", "0"]),
)
top_levels = st.one_of(
    st.text(HOST, min_size=1, max_size=66),
    st.sampled_from(["com", "COM", "io", "test", "local", "localhost", "arpa", "invalid", "onion", "c0m", "123"]),
)
locals_ = st.one_of(
    st.lists(st.text(ATEXT, min_size=1, max_size=30), min_size=1, max_size=4).map(".".join),
    st.text(ATEXT + ".", min_size=0, max_size=80),
    st.sampled_from(["info", "INFO", "Sales", "postmaster", "a..b", ".a", "a.", "Ana.Lopez+news"]),
)
shaped = st.builds(
    lambda local, domain, tld, pad: f"{pad}{local}@{'.'.join([*domain, tld])}{pad}",
    locals_,
    st.lists(labels, min_size=0, max_size=4),
    top_levels,
    st.sampled_from(["", " ", "\t"]),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(shaped, st.text(SOUP, max_size=90)))
@example("Ana.Lopez@Example.COM")
@example("INFO@acme.example")
@example("a@b.test")
@example("a@xn--bcher-kva.example")
@example("a@b.c0m")
@example("user@" + "a" * 63 + ".com")
@example("user@" + "a" * 64 + ".com")
@example("x" * 65 + "@acme.example")
@example("a@" + ".".join(["b" * 60] * 5) + ".com")
def test_normalise_email_gives_what_email_validator_gives(value):
    assert outcome(normalise_email, value) == outcome(library_email, value)


@settings(max_examples=1000, deadline=None)
@given(shaped)
def test_the_quick_path_only_accepts_what_email_validator_accepts_unchanged(value):
    quick = plain_email(value.strip())
    if quick is not None:
        assert quick == library_email(value)


def test_common_addresses_take_the_quick_path_and_keep_their_local_part():
    assert plain_email("Ana.Lopez+news@Acme.Example") == "Ana.Lopez+news@acme.example"
    assert normalise_email("  Ana.Lopez@ACME.example ") == "Ana.Lopez@acme.example"


@pytest.mark.parametrize(
    "value", ["info@acme.example", "ana@münchen.example", "ana@acme.test", "ana@xn--bcher-kva.example", "a@b"]
)
def test_unusual_addresses_are_left_to_email_validator(value):
    assert plain_email(value) is None


@pytest.mark.parametrize(
    "value, region",
    [
        ("+1 212 555 0199", "US"),
        ("(212) 555-0199", "US"),
        ("020 7946 0958", "GB"),
        ("020 7946 0958", "US"),
        ("+44 20 7946 0958", "DE"),
        ("12", "US"),
        ("call me", "US"),
        ("+999 1234", "US"),
    ],
)
def test_normalise_phone_gives_the_same_answer_again_and_per_region(value, region):
    def library(raw: str) -> tuple[str, str]:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return "", "not a phone number"
        if not phonenumbers.is_valid_number(number):
            return "", f"not a valid phone number for region {region}"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""

    expected, problem = library(value)
    for _ in range(2):
        number, error = outcome(lambda raw: normalise_phone(raw, region), value)
        assert number == expected
        assert (problem in error) if problem else error == ""


def test_the_default_region_is_read_on_every_call(settings):
    settings.LEADFLOW_DEFAULT_PHONE_REGION = "GB"
    assert normalise_phone("020 7946 0958") == "+442079460958"
    settings.LEADFLOW_DEFAULT_PHONE_REGION = "US"
    with pytest.raises(NormaliseError, match="region US"):
        normalise_phone("020 7946 0958")
