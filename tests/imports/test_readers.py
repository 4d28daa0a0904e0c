"""Reading real-shaped files: encodings, delimiters, quotes, formulas, workbooks, zip bombs and vCards."""

import codecs
import io
import struct
import zipfile

import pytest

from leadflow.imports.readers import ReadError
from leadflow.imports.readers.text import detect_delimiter
from tests.imports.conftest import read_all, xlsx_bytes

PEOPLE = "Email,First Name,Company\nana@acme.example,Ana,Café Müller\nbo@x.example,Bø,Ærø & Co\n"


def values(records) -> list[list[str]]:
    return [record.values for record in records]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (PEOPLE.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + PEOPLE.encode("utf-8"), "UTF-8 with BOM"),
        (codecs.BOM_UTF16_LE + PEOPLE.encode("utf-16-le"), "UTF-16 LE"),
        (codecs.BOM_UTF16_BE + PEOPLE.encode("utf-16-be"), "UTF-16 BE"),
        (PEOPLE.encode("cp1252"), "Windows-1252"),
    ],
)
def test_every_common_encoding_reads_the_same_text(data, encoding):
    table, records = read_all(data)
    assert table.encoding == encoding
    assert table.headers == ["Email", "First Name", "Company"]
    assert values(records) == [["ana@acme.example", "Ana", "Café Müller"], ["bo@x.example", "Bø", "Ærø & Co"]]


def test_excel_utf16_tab_export_without_bom_is_recognised():
    data = "Name\tEmail\r\nZoë\tzoe@x.example\r\n".encode("utf-16-le")
    table, records = read_all(data, "export.txt")
    assert (table.encoding, table.delimiter) == ("UTF-16 LE", "\t")
    assert values(records) == [["Zoë", "zoe@x.example"]]


def test_windows_1252_curly_quotes_and_euro_sign():
    data = "Name;Note\nRené;“5 € off”\n".encode("cp1252")
    table, records = read_all(data)
    assert (table.encoding, table.delimiter) == ("Windows-1252", ";")
    assert values(records) == [["René", "“5 € off”"]]


def test_bytes_that_are_not_utf8_later_in_a_utf8_file_are_read_as_windows_1252():
    data = ("Name,City\n" + "Ana,Porto\n" * 5000).encode() + "José,Málaga\n".encode("cp1252")
    _, records = read_all(data)
    assert records[-1].values == ["José", "Málaga"]


def test_latin1_bytes_undefined_in_windows_1252_still_read():
    data = b"Name,Code\nAna,\x81\x8d\n"
    table, records = read_all(data)
    assert table.encoding == "Latin-1"
    assert records[0].values == ["Ana", "\x81\x8d"]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n4;5;6\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('name,note\n"Smith; John","a;b;c"\n', ","),
        ("sep=;\na;b\n1;2\n", ";"),
        ("email\nana@x.example\n", ","),
    ],
)
def test_delimiter_detection(text, delimiter):
    assert detect_delimiter(text) == delimiter


def test_excel_sep_line_is_not_taken_for_the_header():
    table, records = read_all(b"sep=;\nEmail;Name\nana@x.example;Ana\n")
    assert table.headers == ["Email", "Name"]
    assert [(r.number, r.values) for r in records] == [(3, ["ana@x.example", "Ana"])]


def test_quoted_newlines_stay_in_one_value_and_rows_are_numbered_as_a_spreadsheet_shows_them():
    data = b'Email,Note\r\nana@x.example,"line one\r\nline two, with comma"\r\n\r\nbo@x.example,"said ""hi"""\r\n'
    _, records = read_all(data)
    assert [(r.number, r.values) for r in records] == [
        (2, ["ana@x.example", "line one\r\nline two, with comma"]),
        (4, ["bo@x.example", 'said "hi"']),
    ]


def test_an_unclosed_quote_is_reported_with_its_line_and_the_rows_after_it_still_read():
    data = b'Email,Note\nana@x.example,"never closed\nbo@x.example,fine\ncy@x.example,also fine\n'
    _, records = read_all(data)
    assert records[0].values == []
    assert "line 2 is never closed" in records[0].problem
    assert [r.values for r in records[1:]] == [["bo@x.example", "fine"], ["cy@x.example", "also fine"]]


def test_a_runaway_quote_in_a_big_file_does_not_swallow_the_rest():
    body = "".join(f"p{n}@x.example,ok\n" for n in range(1000))
    data = ('Email,Note\nbad@x.example,"oops\n' + body).encode()
    _, records = read_all(data)
    assert records[0].problem.startswith("A quote opened on line 2")
    assert len(records) == 1001
    assert records[-1].values == ["p999@x.example", "ok"]


def test_a_row_with_more_values_than_columns_is_reported_and_trailing_blanks_are_not():
    _, records = read_all(b"Email,Name\na@x.example,Ana,\nb@x.example,Bo,extra\nc@x.example\n")
    assert records[0].values == ["a@x.example", "Ana"]
    assert "has 3 values but the header has 2" in records[1].problem
    assert records[2].values == ["c@x.example", ""]


def test_blank_and_repeated_header_names_get_usable_names():
    table, _ = read_all(b"Email,,email, Name \n")
    assert table.headers == ["Email", "Column 2", "email (2)", "Name"]


def test_formulas_in_a_csv_are_read_as_plain_text():
    _, records = read_all(b'Name,Company\n=HYPERLINK("http://evil.example"),+1+2\n@SUM(A1),-3\n')
    assert values(records) == [['=HYPERLINK("http://evil.example")', "+1+2"], ["@SUM(A1)", "-3"]]


def test_empty_and_binary_files_are_refused_with_a_reason():
    with pytest.raises(ReadError, match="empty"):
        read_all(b"")
    with pytest.raises(ReadError, match="no header"):
        read_all(b"\n\n  \n")
    with pytest.raises(ReadError, match="binary data"):
        read_all(b"\x00\x01\x02\x03" * 100 + b"\x00\xff")
    with pytest.raises(ReadError, match="Old Excel"):
        read_all(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls")


def test_xlsx_rows_are_read_with_formulas_as_text_and_numbers_and_dates_as_people_see_them():
    import datetime

    data = xlsx_bytes(
        [
            ["Email", "Company", "Visits", "Signed up", "Phone", "Opt in"],
            [
                "ana@x.example",
                '=HYPERLINK("http://evil.example","Acme")',
                3.0,
                datetime.date(2024, 5, 1),
                12125550199,
                True,
            ],
            [None, None, None, None, None, None],
            ["bo@x.example", "=1+2", 2.5, datetime.datetime(2024, 5, 2, 9, 30), "+44 20 7946 0958", False],
        ]
    )
    table, records = read_all(data, "leads.xlsx")
    assert table.format == "xlsx"
    assert table.headers == ["Email", "Company", "Visits", "Signed up", "Phone", "Opt in"]
    assert [(r.number, r.values) for r in records] == [
        (2, ["ana@x.example", '=HYPERLINK("http://evil.example","Acme")', "3", "2024-05-01", "12125550199", "TRUE"]),
        (4, ["bo@x.example", "=1+2", "2.5", "2024-05-02 09:30:00", "+44 20 7946 0958", "FALSE"]),
    ]


def zip_with(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_xlsx_zip_bomb_is_refused_before_parsing():
    bomb = zip_with({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    with pytest.raises(ReadError, match="only a zip bomb does"):
        read_all(bomb, "bomb.xlsx")


def test_xlsx_declaring_gigabytes_is_refused_from_its_directory_alone():
    data = bytearray(zip_with({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"<x/>" * 10}))
    # Rewrite the declared uncompressed size in the central directory to about 4 GB, as a crafted file would.
    directory = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, directory + 24, 0xF0000000)
    with pytest.raises(ReadError, match=r"unpacks to 3\.8 GB"):
        read_all(bytes(data), "huge.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused():
    with pytest.raises(ReadError, match="not an XLSX workbook"):
        read_all(zip_with({"hello.txt": b"hi"}), "archive.zip")


VCARD_3 = """BEGIN:VCARD\r
VERSION:3.0\r
N:Okafor;Chidi;;Dr.;\r
FN:Dr. Chidi Okafor\r
ORG:Northwind Labs;Research\r
TITLE:Head of Research\r
TEL;TYPE=HOME,VOICE:+1 212 555 0100\r
TEL;TYPE=WORK,VOICE,PREF:+1 (646) 555-0101\r
EMAIL;TYPE=INTERNET:chidi@home.example\r
EMAIL;TYPE=INTERNET,PREF:chidi@northwind.example\r
ADR;TYPE=WORK:;;1 Main St;Lagos;;;Nigeria\r
NOTE:Met at the expo\\, booth 12\r
END:VCARD\r
"""
VCARD_4 = """BEGIN:VCARD
VERSION:4.0
FN:Ingrid Nilsson
N:Nilsson;Ingrid;;;
ORG:Atlas Energy
TEL;VALUE=uri;TYPE="voice,cell";PREF=1:tel:+46-70-123-45-67
TEL;VALUE=uri;TYPE=work:tel:+46-8-555-0100;ext=12
EMAIL;TYPE=work:ingrid@atlas.example
URL:https://atlas.example
END:VCARD
"""


def test_vcards_3_and_4_become_rows_with_the_preferred_email_and_phone():
    table, records = read_all((VCARD_3 + VCARD_4).encode(), "cards.vcf")
    assert table.format == "vcard"
    rows = [dict(zip(table.headers, record.values, strict=True)) for record in records]
    assert rows[0] | {} == {
        "Full name": "Dr. Chidi Okafor",
        "First name": "Chidi",
        "Last name": "Okafor",
        "Email": "chidi@northwind.example",
        "Phone": "+1 (646) 555-0101",
        "Company": "Northwind Labs",
        "Department": "Research",
        "Title": "Head of Research",
        "Website": "",
        "City": "Lagos",
        "Country": "Nigeria",
        "Note": "Met at the expo, booth 12",
    }
    assert (rows[1]["Email"], rows[1]["Phone"], rows[1]["Website"]) == (
        "ingrid@atlas.example",
        "+46-70-123-45-67",
        "https://atlas.example",
    )


def test_a_broken_card_is_reported_and_the_others_read():
    broken = "BEGIN:VCARD\nVERSION:3.0\nN:Bad;Card\n this is not a property\nFN\nEND:VCARD\n"
    _, records = read_all((VCARD_4 + broken + VCARD_3).encode("utf-16"), "cards.vcf")
    assert [record.number for record in records] == [1, 2, 3]
    assert records[0].values[0] == "Ingrid Nilsson"
    assert records[1].problem.startswith("Card 2 could not be read")
    assert records[2].values[0] == "Dr. Chidi Okafor"
