"""fetch_rows(prepare=True): hot statements prepared once per PostgreSQL connection, read back as usual."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.accounts.models import Role
from leadflow.accounts.services import authenticate_token, create_token, create_user
from leadflow.leads.models import Lead
from leadflow.leads.services.records import record_lead
from leadflow.lib.compiled import CompiledSelect
from leadflow.lib.db import _numbered, fetch_rows
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="statements are prepared on PostgreSQL")


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_placeholders_become_numbered_and_a_doubled_percent_a_single_one():
    sql = "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%' AND d IN (%s, %s)"
    assert _numbered(sql) == "SELECT a FROM t WHERE b = $1 AND c LIKE 'x%' AND d IN ($2, $3)"


def test_rows_are_the_same_as_through_the_cursor():
    lead = make_lead(email="ana@acme.example")
    sql = 'SELECT "id", "email_key", "created_at" FROM "leads_lead" WHERE "email_key" = %s'
    with connection.cursor() as cursor:
        cursor.execute(sql, ["ana@acme.example"])
        expected = cursor.fetchall()
    for _ in range(3):
        assert fetch_rows(connection, sql, ["ana@acme.example"], prepare=True) == expected
    assert expected[0][:2] == (lead.pk, "ana@acme.example")


@on_postgres
def test_a_hot_statement_is_prepared_once_and_answers_for_each_new_value():
    ana, bo = make_lead(email="ana@acme.example"), make_lead(email="bo@acme.example")
    sql = 'SELECT "id" FROM "leads_lead" WHERE "email_key" = %s'
    assert fetch_rows(connection, sql, ["ana@acme.example"], prepare=True) == [(ana.pk,)]
    assert fetch_rows(connection, sql, ["bo@acme.example"], prepare=True) == [(bo.pk,)]
    assert fetch_rows(connection, sql, ["x' OR '1'='1"], prepare=True) == []
    texts = _prepared_statements()
    assert texts.count('SELECT "id" FROM "leads_lead" WHERE "email_key" = $1') == 1


@on_postgres
def test_an_api_create_its_look_ups_and_its_token_look_up_run_prepared():
    user = create_user(username="api", role=Role.ADMIN)
    _, raw = create_token(user=user, scopes=["read", "write"])
    assert authenticate_token(raw).user == user
    result = record_lead(data={"email": "ana@acme.example", "first_name": "Ana", "company_name": "Acme"})
    assert Lead.objects.get(email_key="ana@acme.example").pk == result.lead.pk
    assert result.lead.events.get().kind == "created"
    texts = _prepared_statements()
    assert any(text.startswith('SELECT "accounts_apitoken"') and "$1" in text for text in texts)
    assert any(text.startswith('WITH new_lead AS (INSERT INTO "leads_lead"') for text in texts)
    # The look-ups before the insert: erased person, company, the person's lead by email or phone.
    assert any(text.startswith('SELECT "part0".*') and '"leads_erasedidentity"' in text for text in texts)


@on_postgres
def test_a_statement_not_asked_to_be_prepared_is_not():
    ana = make_lead(email="ana@acme.example")
    for _ in range(6):
        rows = fetch_rows(connection, 'SELECT "id" FROM "leads_lead" WHERE "email_key" = %s', [ana.email])
        assert rows == [(ana.pk,)]
    assert not [text for text in _prepared_statements() if text.startswith('SELECT "id" FROM "leads_lead"')]


@on_postgres
def test_nothing_is_prepared_when_the_connection_may_not_prepare(monkeypatch):
    make_lead(email="ana@acme.example")
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    fetch_rows(connection, 'SELECT "id" FROM "leads_lead" WHERE "email_key" = %s', ["ana@acme.example"], prepare=True)
    assert 'SELECT "id" FROM "leads_lead" WHERE "email_key" = $1' not in _prepared_statements()


def test_recorded_queries_see_the_statement():
    make_lead(email="ana@acme.example")
    lookup = CompiledSelect(lambda key: Lead.objects.filter(email_key=key).values_list("pk"), prepared=True)
    with CaptureQueriesContext(connection) as queries:
        assert len(lookup.rows(key="ana@acme.example")) == 1
    assert len(queries) == 1
    assert "email_key" in queries[0]["sql"]
