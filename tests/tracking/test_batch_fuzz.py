import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.tracking.batch import UNSAFE, Batch, BatchError, parse_batch
from leadflow.tracking.models import PageView
from tests.tracking.conftest import ORIGIN, post

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
texts = st.text(max_size=40) | st.sampled_from(["", "\x00", "\ud800", "a" * 2001, "https://shop.example/ok"])
events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["pageview", "click", 1]),
        "url": texts | st.just(ORIGIN + "/page?utm_source=%00x&utm_medium=%ff"),
        "title": texts,
        "referrer": texts,
        "session": texts | st.just("sessionAAAA"),
        "age_ms": st.integers(min_value=-10, max_value=10**9) | st.booleans() | st.none(),
    },
)


@given(st.binary(max_size=300))
def test_any_bytes_give_a_batch_or_a_batch_error(body):
    try:
        assert isinstance(parse_batch(body), Batch)
    except BatchError as error:
        assert error.status in {400, 413}


@given(json_values)
def test_any_json_gives_a_batch_or_a_batch_error(value):
    try:
        assert isinstance(parse_batch(json.dumps(value).encode()), Batch)
    except BatchError as error:
        assert error.code


@given(st.lists(events, min_size=1, max_size=3), st.text(max_size=30))
def test_what_is_accepted_holds_nothing_a_database_refuses(event_list, visitor):
    body = {"site": "k", "visitor": visitor or "v" * 20, "events": event_list}
    try:
        batch = parse_batch(json.dumps(body).encode())
    except BatchError:
        return
    for event in batch.events:
        for text in (event.url, event.title, event.referrer, event.session, *event.utm):
            assert not UNSAFE.search(text)
            assert len(text) <= 2000


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event_list=st.lists(events, min_size=1, max_size=3))
def test_collector_never_fails_with_a_server_error(site, event_list):
    response = post({"site": site.key, "visitor": "v" * 22, "events": event_list})
    assert response.status_code in {200, 400, 403, 413}
    if response.status_code == 200:
        # Read back and checked here: PostgreSQL refuses NUL even as a query parameter.
        stored = PageView.objects.values_list("url", "title", "referrer", "utm_source", "utm_medium")
        assert not any(UNSAFE.search(text) for row in stored for text in row)
