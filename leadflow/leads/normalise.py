"""Normalise what people type into the forms leads are matched on."""

from __future__ import annotations

import re
from functools import lru_cache

import email_validator
import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "rediffmail.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "t-online.de",
        "libero.it",
        "seznam.cz",
    ]
)


# The shape nearly every address has: dot-separated runs of ASCII letters, digits and
# RFC 5322 punctuation, an @, and a hostname whose labels are letters, digits and inner
# hyphens, ending in a top-level domain that ends with a letter.
_ATEXT = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+"
_PLAIN_EMAIL = re.compile(
    rf"({_ATEXT}(?:\.{_ATEXT})*)"
    r"@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+(?:[a-zA-Z0-9][a-zA-Z0-9-]{0,61})?[a-zA-Z])"
)
_MAILBOX_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
PHONE_CACHE_SIZE = 4096


class NormaliseError(ValueError):
    """A value that cannot be normalised; the message says what to fix."""


def plain_email(value: str) -> str | None:
    """Return what email-validator makes of a plain ASCII address, or None to ask email-validator itself.

    Every address accepted here is one email-validator accepts unchanged but for its
    domain, which it lowercases. Anything else (international characters, quoting,
    double hyphens such as Punycode, role names it lowercases, reserved domains, long
    parts) returns None.
    """
    match = _PLAIN_EMAIL.fullmatch(value)
    if match is None:
        return None
    local, domain = match.groups()
    domain = domain.lower()
    if len(local) > 64 or len(domain) > 253 or "--" in domain or local.lower() in _MAILBOX_NAMES:
        return None
    if any(domain == name or domain.endswith(f".{name}") for name in email_validator.SPECIAL_USE_DOMAIN_NAMES):
        return None
    return f"{local}@{domain}"


def normalise_email(raw: str) -> str:
    """Return the email trimmed, with its domain lowercased and IDNA-encoded."""
    value = (raw or "").strip()
    if not value:
        return ""
    if len(value) > 254:
        raise NormaliseError("is longer than 254 characters, the most an address may have.")
    plain = plain_email(value)
    if plain is not None:
        return plain
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise NormaliseError(f"is not a valid email address: {error}") from error
    return f"{result.local_part}@{result.ascii_domain.lower()}"


def email_key(email: str) -> str | None:
    """Return the key leads are matched on: the whole address lowercased."""
    return email.lower() if email else None


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1] if "@" in email else ""


def is_free_mail(domain: str) -> bool:
    return domain in FREE_MAIL_DOMAINS


def normalise_phone(raw: str, region: str | None = None) -> str:
    """Return the phone number in E.164 form (+14155550123)."""
    value = (raw or "").strip()
    if not value:
        return ""
    if len(value) > 40:
        raise NormaliseError("is too long to be a phone number.")
    number, problem = _parse_phone(value, region or settings.LEADFLOW_DEFAULT_PHONE_REGION)
    if problem:
        raise NormaliseError(problem)
    return number


@lru_cache(maxsize=PHONE_CACHE_SIZE)
def _parse_phone(value: str, region: str) -> tuple[str, str]:
    """Return (E.164 number, "") or ("", what is wrong); files repeat numbers, so answers are kept."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        return "", f"is not a phone number ({error._msg}); write it with its country code, like +44 20 7946 0958."
    if not phonenumbers.is_valid_number(number):
        return "", (
            f"is not a valid phone number for region {region}; write it with its country code, like +44 20 7946 0958."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def phone_search_key(raw: str, region: str | None = None) -> str | None:
    """Return the E.164 form of a search term that looks like a phone number, else None."""
    digits = sum(ch.isdigit() for ch in raw)
    if digits < 5 or any(ch.isalpha() for ch in raw):
        return None
    try:
        number = phonenumbers.parse(raw, region or settings.LEADFLOW_DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Return an E.164 number in international format for display."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
