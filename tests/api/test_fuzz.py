"""Property checks: whatever a client sends, the API answers without a server error."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import PROBLEM, as_user
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

FIELDS = ["first_name", "last_name", "email", "phone", "title", "company_name", "source", "custom", "stage", "extra"]
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False) | text
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | text, values, max_size=6)
params = st.dictionaries(
    st.sampled_from(["q", "stage", "owner", "source", "score_min", "created_from", "sort", "cursor", "limit"]) | text,
    text,
    max_size=4,
)
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def answered(response) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == PROBLEM


@FUZZ
@given(body=bodies)
def test_any_json_object_sent_to_create_gets_an_answer(alice, body):
    answered(as_user(alice).post("/leads", raw=json.dumps(body)))


@FUZZ
@given(body=st.binary(max_size=200))
def test_any_bytes_sent_to_create_get_an_answer(alice, body):
    answered(as_user(alice).post("/leads", raw=body))


@FUZZ
@given(query=params)
def test_any_query_sent_to_the_list_gets_an_answer(alice, query):
    answered(as_user(alice).call("GET", "/leads", query=query))


@FUZZ
@given(body=bodies)
def test_any_json_object_sent_to_update_gets_an_answer(alice, body):
    lead = make_lead(owner=alice)
    answered(as_user(alice).call("PATCH", f"/leads/{lead.pk}", raw=json.dumps(body), headers={"If-Match": "*"}))
