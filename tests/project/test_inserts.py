"""RowInserter writes the same rows as the ORM would, many per statement, and reads back their keys."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.leads.models import EventKind, Lead, TimelineEvent
from leadflow.lib import inserts as inserts_module
from leadflow.lib.inserts import RowInserter

pytestmark = pytest.mark.django_db


def _lead(n: int, now: dt.datetime) -> Lead:
    return Lead(
        first_name=f"Ana{n}",
        last_name="<b>Lopez</b>",
        email=f"ana{n}@example.com",
        email_key=f"ana{n}@example.com",
        custom={"plan": "pro", "seats": n, "note": "ünïcode"},
        stage_entered_at={"lead": now.isoformat()},
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )


def test_rows_read_back_exactly_as_the_orm_reads_them():
    now = timezone.now().replace(microsecond=123456)
    leads = [_lead(n, now) for n in range(3)]
    RowInserter(Lead).insert(leads)
    assert all(lead.pk for lead in leads)
    stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    for lead in leads:
        again = stored[lead.pk]
        assert again.first_name == lead.first_name
        assert again.last_name == "<b>Lopez</b>"
        assert again.custom == lead.custom
        assert again.created_at == now
        assert again.stage_entered_at == {"lead": now.isoformat()}


def test_keys_follow_the_given_order_and_events_can_point_at_them():
    now = timezone.now()
    leads = [_lead(n, now) for n in range(50)]
    RowInserter(Lead).insert(leads)
    events = [
        TimelineEvent(lead=lead, kind=EventKind.CREATED, data={"n": n}, occurred_at=now) for n, lead in enumerate(leads)
    ]
    RowInserter(TimelineEvent).insert(events)
    for n, lead in enumerate(leads):
        assert Lead.objects.get(pk=lead.pk).first_name == f"Ana{n}"
        assert list(lead.events.values_list("data", flat=True)) == [{"n": n}]


def test_many_rows_go_in_few_statements():
    now = timezone.now()
    leads = [_lead(n, now) for n in range(600)]
    inserter = RowInserter(Lead)
    with CaptureQueriesContext(connection) as queries:
        inserter.insert(leads)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == -(-600 // inserter.rows_per_statement())
    assert len(inserts) <= 2
    assert Lead.objects.filter(first_name__startswith="Ana").count() == 600


def test_a_broken_rule_raises_djangos_integrity_error_and_leaves_the_transaction_usable():
    from django.db import IntegrityError, transaction

    now = timezone.now()
    RowInserter(Lead).insert([_lead(1, now)])
    again = _lead(1, now)
    with pytest.raises(IntegrityError), transaction.atomic():
        RowInserter(Lead).insert([again])
    assert again.pk is None
    assert Lead.objects.filter(email_key="ana1@example.com").count() == 1


def test_rows_of_one_moment_share_one_conversion_and_read_back_alike():
    now = timezone.now()
    later = now + dt.timedelta(seconds=1)
    leads = [_lead(n, now if n % 2 else later) for n in range(4)]
    RowInserter(Lead).insert(leads)
    stored = dict(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("pk", "created_at"))
    assert [stored[lead.pk] for lead in leads] == [later, now, later, now]


def test_any_number_of_rows_goes_in_a_dozen_statement_shapes_at_most():
    from leadflow.lib.inserts import statement_sizes

    assert statement_sizes(1270, 1000) == [1000, 200, 64, 4, 2]
    assert statement_sizes(600, 1000) == [600]
    assert statement_sizes(45, 19) == [19, 19, 4, 2, 1]
    shapes: set[int] = set()
    for rows in range(1, 3000):
        sizes = statement_sizes(rows, 1000)
        assert sum(sizes) == rows
        shapes.update(sizes)
    assert len(shapes) <= 17


def test_an_instance_built_by_position_has_the_values_and_defaults_of_one_built_by_keyword():
    from leadflow.lib.inserts import InstanceBuilder

    now = timezone.now()
    values = {"first_name": "Ana", "email": "ana@example.com", "email_key": "ana@example.com", "owner_id": None}
    built = [InstanceBuilder(Lead).build(values) for _ in range(2)]
    by_keyword = Lead(**values)
    moments = {"created_at", "updated_at", "last_activity_at"}
    names = [field.attname for field in Lead._meta.concrete_fields if field.attname not in moments]
    for lead in built:
        assert [getattr(lead, name) for name in names] == [getattr(by_keyword, name) for name in names]
        assert lead.pk is None and lead._state.adding
        assert now <= lead.created_at <= timezone.now()
    built[0].custom["plan"] = "pro"
    assert built[1].custom == {}  # a callable default gives each instance its own value
    RowInserter(Lead).insert(built[:1])
    assert Lead.objects.get(pk=built[0].pk).custom == {"plan": "pro"}


def test_an_attribute_name_the_model_lacks_is_refused_by_name():
    from leadflow.lib.inserts import InstanceBuilder

    with pytest.raises(TypeError, match="owner, team"):
        InstanceBuilder(Lead).build({"first_name": "Ana", "team": None, "owner": None})


def test_receivers_of_the_init_signals_see_every_built_instance():
    from django.db.models.signals import post_init

    from leadflow.lib.inserts import InstanceBuilder

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.first_name)

    post_init.connect(receiver, sender=Lead)
    try:
        lead = InstanceBuilder(Lead).build({"first_name": "Ana"})
    finally:
        post_init.disconnect(receiver, sender=Lead)
    assert seen == ["Ana"]
    assert (lead.first_name, lead.custom, lead.pk) == ("Ana", {}, None)
    InstanceBuilder(Lead).build({"first_name": "Ben"})
    assert seen == ["Ana"]


@pytest.fixture
def statement_thread_used(monkeypatch):
    used: list[bool] = []
    real = inserts_module.statement_thread

    def spy():
        used.append(True)
        return real()

    monkeypatch.setattr(inserts_module, "statement_thread", spy)
    return used


@pytest.mark.skipif(connection.vendor != "sqlite", reason="statements overlap Python work on SQLite")
def test_a_big_insert_runs_its_statements_beside_the_python_work_in_order(statement_thread_used):
    now = timezone.now()
    switch = sys.getswitchinterval()
    leads = [_lead(n, now) for n in range(1300)]
    RowInserter(Lead).insert(leads)
    assert statement_thread_used, "1,300 leads take three statements, run on the statement thread"
    keys = [lead.pk for lead in leads]
    assert keys == sorted(keys) and len(set(keys)) == 1300
    stored = dict(Lead.objects.filter(pk__in=keys).values_list("pk", "first_name"))
    assert [stored[key] for key in keys] == [f"Ana{n}" for n in range(1300)]
    assert sys.getswitchinterval() == switch


@pytest.mark.skipif(connection.vendor != "sqlite", reason="statements overlap Python work on SQLite")
def test_a_broken_rule_in_a_later_statement_of_a_big_insert_undoes_the_whole_insert(statement_thread_used):
    from django.db import IntegrityError, transaction

    now = timezone.now()
    RowInserter(Lead).insert([_lead(1000, now)])
    leads = [_lead(n, now) for n in range(1300)]
    with pytest.raises(IntegrityError), transaction.atomic():
        RowInserter(Lead).insert(leads)
    assert statement_thread_used
    assert Lead.objects.filter(first_name__startswith="Ana").count() == 1
    RowInserter(Lead).insert(leads[:999])
    assert Lead.objects.filter(first_name__startswith="Ana").count() == 1000


@pytest.mark.skipif(connection.vendor != "sqlite", reason="statements overlap Python work on SQLite")
def test_the_block_of_an_insert_runs_before_the_keys_are_read_back(statement_thread_used):
    from django.db import transaction

    now = timezone.now()
    leads = [_lead(n, now) for n in range(1300)]
    with transaction.atomic():
        with RowInserter(Lead).inserting(leads):
            assert all(lead.pk is None for lead in leads)
            names = [lead.first_name.upper() for lead in leads]
        assert statement_thread_used
        assert len({lead.pk for lead in leads}) == 1300
        stored = dict(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("pk", "first_name"))
    assert [stored[lead.pk].upper() for lead in leads] == names


@pytest.mark.skipif(connection.vendor != "sqlite", reason="statements overlap Python work on SQLite")
def test_an_error_in_the_block_of_an_insert_lets_its_statements_end_and_undoes_them(statement_thread_used):
    from django.db import transaction

    now = timezone.now()
    leads = [_lead(n, now) for n in range(1300)]
    with pytest.raises(RuntimeError, match="stopped"), transaction.atomic(), RowInserter(Lead).inserting(leads):
        raise RuntimeError("stopped")
    assert statement_thread_used
    assert Lead.objects.filter(first_name__startswith="Ana").count() == 0
    RowInserter(Lead).insert(leads[:10])
    assert Lead.objects.filter(first_name__startswith="Ana").count() == 10


def test_json_values_read_back_as_the_json_module_would_write_them():
    now = timezone.now()
    lead = _lead(7, now)
    lead.custom = {"plan": "pro", 3: [1.5, None, True], "nested": {"ünï": "cödé"}, "big": 2**70}
    RowInserter(Lead).insert([lead])
    assert Lead.objects.get(pk=lead.pk).custom == {"plan": "pro", "3": [1.5, None, True], "nested": {"ünï": "cödé"},
                                                   "big": 2**70}  # fmt: skip
    refused = _lead(8, now)
    refused.custom = {"when": now}
    with pytest.raises(TypeError):
        RowInserter(Lead).insert([refused])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="values shared by every row are bound once on SQLite")
def test_a_big_insert_binds_the_values_its_rows_share_once_and_every_row_reads_back_whole():
    from decimal import Decimal

    now = timezone.now()
    leads = [_lead(n, now) for n in range(250)]
    for n, lead in enumerate(leads):
        lead.score = n % 7
        lead.budget_amount = Decimal("1500.50")
        lead.phone = "" if n % 3 else f"+1212555{n:04d}"
    inserter = RowInserter(Lead)
    rows = [inserter.values(lead) for lead in leads]
    sql, params = inserter.driver_statement(rows)
    assert len(params) < len(rows) * len(inserter.fields) // 3, "most of a batch's columns are shared"
    assert sql.count("?") == len(rows) * len(inserter.fields)
    inserter.insert(leads)
    names = [field.attname for field in Lead._meta.concrete_fields]
    stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    for lead in leads:
        assert [getattr(stored[lead.pk], name) for name in names] == [getattr(lead, name) for name in names]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="values shared by every row are bound once on SQLite")
def test_batches_sharing_different_columns_keep_a_bounded_number_of_statement_texts():
    now = timezone.now()
    inserter = RowInserter(Lead)
    for batch in range(5):
        leads = [_lead(1000 * batch + n, now) for n in range(120)]
        for n, lead in enumerate(leads):
            # Each batch lets a different column vary from row to row.
            setattr(lead, ("title", "industry", "time_zone", "need_notes", "stage_reason")[batch], f"v{n}")
        inserter.insert(leads)
        stored = dict(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("pk", "first_name"))
        assert [stored[lead.pk] for lead in leads] == [lead.first_name for lead in leads]
    # Compiled statements of wide many-row INSERTs are big: a new text for every batch would fill the driver's cache.
    assert len(inserter._shared_statements) == inserts_module.MAX_SHARED_SHAPES


def test_only_values_that_bind_alike_count_as_shared():
    one_value = inserts_module._one_value
    assert one_value((None, None, None), 3)
    assert one_value(("", "", ""), 3)
    assert one_value((7, 7), 2)
    # Equal in Python, bound differently: 1, 1.0 and True are not one value to SQLite.
    assert not one_value((1, 1.0), 2)
    assert not one_value((1, True), 2)
    assert not one_value(("a", "a", "b"), 3)
