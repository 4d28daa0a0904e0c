"""Suggesting a mapping from header names and turning rows into lead input."""

import pytest

from leadflow.imports.mapping import (
    ColumnRule,
    Mapping,
    MappingError,
    RowMapper,
    check_mapping,
    custom_name,
    headers_signature,
    parse_number,
    suggest_mapping,
)


def targets(mapping: Mapping) -> dict[str, str]:
    return {header: rule.target for header, rule in mapping.columns.items()}


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("E-mail", "email"),
        ("Mail", "email"),
        ("Email Address", "email"),
        ("Contact Email", "email"),
        ("First Name", "first_name"),
        ("firstname", "first_name"),
        ("Surname", "last_name"),
        ("Full Name", "full_name"),
        ("Phone Number", "phone"),
        ("Mobile", "phone"),
        ("Job Title", "title"),
        ("Organization", "company_name"),
        ("Company Name", "company_name"),
        ("Lead Source", "source"),
        ("utm_source", "source"),
        ("UTM Medium", "medium"),
        ("utm_campaign", "campaign"),
        ("Landing Page URL", "landing_page"),
        ("Do Not Email", "do_not_email"),
        ("Lifecycle Stage", "stage"),
    ],
)
def test_header_names_suggest_lead_fields(header, target):
    assert targets(suggest_mapping([header], [], admin=False))[header] == target


def test_other_columns_become_custom_fields_with_a_kind_from_their_values():
    headers = ["Email", "Lead Origin", "Do Not Call", "TotalVisits", "Page Views Per Visit", "Lead Number", "City"]
    samples = [
        ["a@x.example", "API", "No", "5", "2.5", "660737", "Select"],
        ["b@x.example", "Lead Add Form", "Yes", "0", "0", "660728", "Mumbai"],
    ]
    mapping = suggest_mapping(headers, samples, admin=False)
    rules = {header: (rule.target, rule.name, rule.kind) for header, rule in mapping.columns.items()}
    assert rules == {
        "Email": ("email", "", "text"),
        "Lead Origin": ("custom", "lead_origin", "text"),
        "Do Not Call": ("custom", "do_not_call", "flag"),
        "TotalVisits": ("custom", "totalvisits", "number"),
        "Page Views Per Visit": ("custom", "page_views_per_visit", "number"),
        "Lead Number": ("custom", "lead_number", "text"),
        "City": ("custom", "city", "text"),
    }
    assert mapping.empty_values == ["Select"]


def test_a_second_column_for_a_taken_field_is_kept_as_a_custom_field():
    mapping = suggest_mapping(["Phone", "Mobile"], [], admin=False)
    assert (mapping.columns["Mobile"].target, mapping.columns["Mobile"].name) == ("custom", "mobile")


def test_owner_and_id_columns_are_never_mapped_for_someone_who_is_not_an_admin():
    headers = ["Email", "Lead Owner", "Prospect ID", "id"]
    rep_mapping = suggest_mapping(headers, [], admin=False)
    assert targets(rep_mapping) == {"Email": "email", "Lead Owner": "", "Prospect ID": "custom", "id": "custom"}
    admin_mapping = suggest_mapping(headers, [], admin=True)
    assert targets(admin_mapping) == {"Email": "email", "Lead Owner": "", "Prospect ID": "key", "id": "custom"}
    assert admin_mapping.key_name == "prospect_id"


def test_restricted_targets_need_an_admin():
    mapping = Mapping({"Owner": ColumnRule("owner"), "Email": ColumnRule("email")})
    with pytest.raises(MappingError, match="only an admin may map a column to Owner"):
        check_mapping(mapping, ["Owner", "Email"], admin=False)
    check_mapping(mapping, ["Owner", "Email"], admin=True)


def test_bad_custom_names_and_clashes_are_refused():
    with pytest.raises(MappingError, match="lowercase letters"):
        check_mapping(Mapping({"A": ColumnRule("custom", "Bad Name")}), ["A"], admin=False)
    clash = Mapping({"A": ColumnRule("custom", "same"), "B": ColumnRule("custom", "same")})
    with pytest.raises(MappingError, match="both fill the custom field same"):
        check_mapping(clash, ["A", "B"], admin=False)
    with pytest.raises(MappingError, match="at least one column"):
        check_mapping(Mapping({"A": ColumnRule()}), ["A"], admin=False)


def test_a_row_becomes_lead_input_with_placeholders_emptied_and_flags_and_numbers_typed():
    mapping = Mapping(
        {
            "Name": ColumnRule("full_name"),
            "E-mail": ColumnRule("email"),
            "Do Not Email": ColumnRule("do_not_email"),
            "Visits": ColumnRule("custom", "visits", "number"),
            "Search": ColumnRule("custom", "search", "flag"),
            "City": ColumnRule("custom", "city"),
            "Stage": ColumnRule("stage"),
            "Ignored": ColumnRule(),
        },
        empty_values=["Select"],
    )
    mapper = RowMapper(mapping, list(mapping.columns))
    row = mapper.map(["Ana María Pérez", " ana@x.example ", "Yes", "1,234", "no", "select", "Customer", "x"])
    assert row.errors == []
    assert row.data == {
        "first_name": "Ana María",
        "last_name": "Pérez",
        "email": "ana@x.example",
        "consent_status": "withdrawn",
        "stage": "customer",
        "custom": {"visits": 1234, "search": False},
    }
    assert mapper.map(["", "", "No", "", "", "", "MQL", ""]).data == {"stage": "mql"}


def test_values_that_do_not_fit_their_column_are_reported_by_column():
    mapping = Mapping({"Visits": ColumnRule("custom", "visits", "number"), "Opt": ColumnRule("custom", "opt", "flag")})
    row = RowMapper(mapping, ["Visits", "Opt"]).map(["about 5", "maybe"])
    assert row.errors == [("Visits", "“about 5” is not a number."), ("Opt", "“maybe” is not yes or no.")]


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("-3.5", -3.5), ("1,234.5", 1234.5), ("2,5", 2.5), ("1 000", 1000), ("1,234", 1234), (".5", 0.5)],
)
def test_numbers_written_in_common_ways(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["1.2.3", "12abc", "nan", "inf", "", "1e999"])
def test_things_that_are_not_numbers(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_custom_names_and_signatures():
    assert custom_name("What is your current occupation?") == "what_is_your_current_occupation"
    assert custom_name("  ") == "column"
    assert headers_signature(["E-mail", "Name"]) == headers_signature(["name", "e mail"])
    assert headers_signature(["E-mail", "Name"]) != headers_signature(["E-mail"])
