"""Normalise what people type into the forms leads are matched on."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email

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


class NormaliseError(ValueError):
    """A value that cannot be normalised; the message says what to fix."""


def normalise_email(raw: str) -> str:
    """Return the email trimmed, with its domain lowercased and IDNA-encoded."""
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
    region = region or settings.LEADFLOW_DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise NormaliseError(
            f"is not a phone number ({error._msg}); write it with its country code, like +44 20 7946 0958."
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise NormaliseError(
            f"is not a valid phone number for region {region}; write it with its country code, like +44 20 7946 0958."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
