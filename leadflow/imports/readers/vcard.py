"""vCards (3.0 and 4.0, 2.1 where vobject reads it): one business card a row, split from the file as it streams."""

from __future__ import annotations

import io
from collections.abc import Iterator

from leadflow.imports.readers.base import ReadError, Record, Source, Table
from leadflow.imports.readers.text import decoded_sample, detect_encoding, encoding_label, open_text

HEADERS = ["Full name", "First name", "Last name", "Email", "Phone", "Company", "Department", "Title", "Website",
           "City", "Country", "Note"]  # fmt: skip
MAX_CARD_CHARS = 2 * 1024 * 1024
PHONE_PREFERENCE = ("pref", "work", "cell", "mobile", "voice")


def looks_like_vcard(sample_text: str) -> bool:
    return sample_text.lstrip("\ufeff \r\n\t").upper().startswith("BEGIN:VCARD")


def _cards(text: io.TextIOBase) -> Iterator[tuple[int, str]]:
    """Yield (card number, card text) for each BEGIN:VCARD ... END:VCARD block; a huge card yields ''."""
    lines: list[str] = []
    size, number, inside = 0, 0, False
    for line in text:
        word = line.strip().upper()
        if word == "BEGIN:VCARD":
            number += 1
            lines, size, inside = [line], len(line), True
            continue
        if not inside:
            continue
        size += len(line)
        if size <= MAX_CARD_CHARS:
            lines.append(line)
        if word == "END:VCARD":
            inside = False
            yield number, "".join(lines) if size <= MAX_CARD_CHARS else ""


def _params(prop) -> set[str]:
    values = {part.lower() for value in prop.params.get("TYPE", []) for part in str(value).split(",")}
    if "PREF" in prop.params:
        values.add("pref")
    return values


def _best(props: list, preference: tuple[str, ...]) -> str:
    """Return the value of the most preferred property: PREF first, then by type, then the first in the card."""
    if not props:
        return ""

    def rank(prop) -> int:
        return min((preference.index(kind) for kind in _params(prop) if kind in preference), default=len(preference))

    return str(min(props, key=rank).value or "")


def _phone(props: list) -> str:
    value = _best(props, PHONE_PREFERENCE)
    if value.lower().startswith("tel:"):
        value = value[4:].split(";", 1)[0]
    return value


def _text(component, name: str) -> str:
    prop = component.contents.get(name)
    if not prop:
        return ""
    value = prop[0].value
    if isinstance(value, list):
        return "; ".join(str(part) for part in value if part)
    return str(value or "")


def _joined(value) -> str:
    if isinstance(value, list):
        return " ".join(str(part) for part in value if part)
    return str(value or "")


def card_values(component) -> list[str]:
    """Return a card's values in the order of HEADERS."""
    name = component.contents.get("n")
    family = _joined(name[0].value.family) if name else ""
    given = _joined(name[0].value.given) if name else ""
    org = component.contents.get("org")
    org_parts = org[0].value if org and isinstance(org[0].value, list) else [_text(component, "org")]
    address = component.contents.get("adr")
    city = str(address[0].value.city or "") if address else ""
    country = str(address[0].value.country or "") if address else ""
    return [
        _text(component, "fn"),
        given,
        family,
        _best(component.contents.get("email", []), ("pref", "work", "internet")),
        _phone(component.contents.get("tel", [])),
        str(org_parts[0] if org_parts else ""),
        "; ".join(str(part) for part in org_parts[1:] if part),
        _text(component, "title"),
        _text(component, "url"),
        city,
        country,
        _text(component, "note"),
    ]


def _records(cards: Iterator[tuple[int, str]]) -> Iterator[Record]:
    import vobject

    for number, card in cards:
        if not card:
            yield Record(number, problem=f"Card {number} is larger than {MAX_CARD_CHARS // 1024**2} MB; skipped.")
            continue
        try:
            values = card_values(vobject.readOne(card))
        except Exception as error:
            yield Record(number, problem=f"Card {number} could not be read ({error}).")
            continue
        yield Record(number, [" ".join(value.split()) if "\n" not in value else value.strip() for value in values])


def open_vcard(source: Source, sample: bytes) -> Table:
    """Open a file of vCards; each card is a row with the columns in HEADERS."""
    codec, bom = detect_encoding(sample)
    if not looks_like_vcard(decoded_sample(sample, codec, bom)):
        raise ReadError("This file does not start with BEGIN:VCARD, so it is not a vCard file.")
    binary = source.open()
    text = open_text(binary, codec, bom)
    return Table(
        format="vcard",
        headers=list(HEADERS),
        rows=_records(_cards(text)),
        encoding=encoding_label(codec, bom),
        progress=lambda: min(1.0, binary.tell() / source.size) if source.size else 1.0,
        close=text.close,
    )
