from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadflow.leads import services as lead_services
from leadflow.leads.models import EventKind, TimelineEvent
from leadflow.tracking import queries, services
from leadflow.tracking.models import Identification, Outcome, PageView, RecordedSession, Visitor
from tests.conftest import make_lead
from tests.tracking.conftest import batch, new_session, new_visitor, post, view

HOUR_MS = 3_600_000


def send(site, visitor: str, paths: list[str], *, session: str | None = None, age_ms: int = 0) -> None:
    session = session or new_session()
    last = len(paths) - 1
    events = [view(path, session=session, age_ms=age_ms + (last - n) * 1000) for n, path in enumerate(paths)]
    assert post(batch(site, visitor, events)).status_code == 200


def page_views(lead) -> list[str]:
    visits = queries.visits_for_lead(lead)
    return [page.url.removeprefix("https://shop.example") for s in visits.sessions for page in s.pages]


def visit_events(lead) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(lead=lead, kind=EventKind.PAGE_VIEWED).order_by("occurred_at"))


@pytest.mark.django_db
class TestIdentify:
    def test_earlier_anonymous_visits_join_the_lead(self, site, alice):
        visitor = new_visitor()
        send(site, visitor, ["/", "/pricing", "/demo"])
        lead = make_lead(owner=alice)
        assert page_views(lead) == []
        assert services.identify_visitor(visitor_id=visitor, lead=lead, via="form") == 3
        assert page_views(lead) == ["/", "/pricing", "/demo"]
        identification = Identification.objects.get()
        assert (identification.lead, identification.via, identification.outcome) == (lead, "form", Outcome.JOINED)

    def test_later_views_join_without_being_identified_again(self, site, alice):
        visitor = new_visitor()
        lead = make_lead(owner=alice)
        send(site, visitor, ["/"])
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        send(site, visitor, ["/thanks", "/blog"])
        assert sorted(page_views(lead)) == ["/", "/blog", "/thanks"]

    def test_visitor_identified_before_any_view_arrives_still_joins_them(self, site, alice):
        visitor = new_visitor()
        lead = make_lead(owner=alice)
        assert services.identify_visitor(visitor_id=visitor, lead=lead, via="form") == 0
        send(site, visitor, ["/contact"])
        assert page_views(lead) == ["/contact"]

    def test_visitor_joined_to_one_lead_is_never_moved_to_another(self, site, alice, bob):
        visitor = new_visitor()
        send(site, visitor, ["/", "/pricing"])
        first = make_lead(owner=alice, email="first@example.com")
        second = make_lead(owner=bob, email="second@example.com")
        services.identify_visitor(visitor_id=visitor, lead=first, via="form")
        assert services.identify_visitor(visitor_id=visitor, lead=second, via="form") == 0
        send(site, visitor, ["/later"])
        assert Visitor.objects.get(key=visitor).lead == first
        assert page_views(second) == []
        assert sorted(page_views(first)) == ["/", "/later", "/pricing"]
        refused = Identification.objects.get(lead=second)
        assert (refused.outcome, refused.page_views) == (Outcome.REFUSED, 0)

    def test_same_lead_again_is_recorded_and_changes_nothing(self, site, alice):
        visitor = new_visitor()
        send(site, visitor, ["/"])
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        assert services.identify_visitor(visitor_id=visitor, lead=lead, via="email_click") == 0
        outcomes = list(Identification.objects.order_by("pk").values_list("outcome", "via"))
        assert outcomes == [(Outcome.JOINED, "form"), (Outcome.ALREADY, "email_click")]

    def test_visits_of_a_merged_lead_show_on_the_lead_it_was_merged_into(self, site, alice, admin):
        visitor = new_visitor()
        send(site, visitor, ["/old"])
        loser = make_lead(owner=alice, email="old@example.com")
        winner = make_lead(owner=alice, email="new@example.com")
        services.identify_visitor(visitor_id=visitor, lead=loser, via="form")
        lead_services.merge_leads(winner=winner, loser=loser, actor=admin)
        assert page_views(winner) == ["/old"]
        assert services.identify_visitor(visitor_id=visitor, lead=winner, via="form") == 0
        assert Identification.objects.filter(lead=winner).get().outcome == Outcome.ALREADY

    def test_identifying_with_a_merged_lead_joins_the_live_one(self, site, alice, admin):
        visitor = new_visitor()
        send(site, visitor, ["/"])
        loser = make_lead(owner=alice, email="old@example.com")
        winner = make_lead(owner=alice, email="new@example.com")
        lead_services.merge_leads(winner=winner, loser=loser, actor=admin)
        assert services.identify_visitor(visitor_id=visitor, lead=loser, via="form") == 1
        assert Visitor.objects.get(key=visitor).lead == winner

    def test_erased_lead_gets_no_visits(self, site, alice, admin):
        visitor = new_visitor()
        send(site, visitor, ["/"])
        lead = make_lead(owner=alice)
        lead_services.erase_lead(lead=lead, actor=admin)
        assert services.identify_visitor(visitor_id=visitor, lead=lead, via="form") == 0
        assert Visitor.objects.get(key=visitor).lead is None

    @pytest.mark.parametrize("bad", ["", "short", "x" * 65, "has space aaaaaaaaaaaa", None, 12345678901234567890])
    def test_malformed_visitor_ids_are_ignored(self, alice, bad):
        lead = make_lead(owner=alice)
        assert services.identify_visitor(visitor_id=bad, lead=lead, via="form") == 0
        assert Visitor.objects.count() == Identification.objects.count() == 0

    def test_erase_visits_removes_the_visitor_and_its_views(self, site, alice):
        visitor, other = new_visitor(), new_visitor()
        send(site, visitor, ["/", "/a"])
        send(site, other, ["/b"])
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        assert services.erase_visits(lead_ids=[lead.pk]) == 2
        assert list(PageView.objects.values_list("url", flat=True)) == ["https://shop.example/b"]
        assert not Visitor.objects.filter(key=visitor).exists()


@pytest.mark.django_db
class TestTimeline:
    def test_each_ended_session_becomes_one_event_listing_its_pages(self, site, alice):
        visitor = new_visitor()
        send(site, visitor, ["/", "/pricing"], age_ms=5 * HOUR_MS)
        send(site, visitor, ["/blog"], age_ms=3 * HOUR_MS)
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        assert services.record_visitor_sessions(visitor_id=Visitor.objects.get(key=visitor).pk) == 2
        first, second = visit_events(lead)
        assert [page["url"] for page in first.data["pages"]] == [
            "https://shop.example/",
            "https://shop.example/pricing",
        ]
        assert (first.data["page_count"], first.data["url"], first.actor_type) == (2, "https://shop.example/", "lead")
        assert first.data["duration_seconds"] == 1
        assert second.data["page_count"] == 1
        assert first.occurred_at < second.occurred_at

    def test_a_session_is_written_once_even_when_recorded_again(self, site, alice):
        visitor = new_visitor()
        send(site, visitor, ["/"], age_ms=2 * HOUR_MS)
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        pk = Visitor.objects.get(key=visitor).pk
        assert services.record_visitor_sessions(visitor_id=pk) == 1
        assert services.record_visitor_sessions(visitor_id=pk) == 0
        assert len(visit_events(lead)) == RecordedSession.objects.count() == 1

    def test_open_session_waits_until_it_has_ended(self, site, alice):
        visitor = new_visitor()
        send(site, visitor, ["/", "/pricing"])
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        pk = Visitor.objects.get(key=visitor).pk
        assert services.record_visitor_sessions(visitor_id=pk) == 0
        due = Visitor.objects.get(pk=pk).timeline_due_at
        assert timezone.now() + timedelta(minutes=29) < due < timezone.now() + timedelta(minutes=32)
        assert services.record_visitor_sessions(visitor_id=pk, now=due) == 1
        assert Visitor.objects.get(pk=pk).timeline_due_at is None

    def test_thousands_of_views_in_a_session_make_one_short_event(self, site, alice):
        visitor, session = new_visitor(), new_session()
        for start in range(0, 1000, 50):
            send(
                site, visitor, [f"/p{n}" for n in range(start, start + 50)], session=session, age_ms=3 * HOUR_MS - start
            )
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        services.record_visitor_sessions(visitor_id=Visitor.objects.get(key=visitor).pk)
        (event,) = visit_events(lead)
        assert (event.data["page_count"], len(event.data["pages"])) == (1000, 20)

    def test_identified_visitors_views_schedule_one_recording(self, site, alice, django_capture_on_commit_callbacks):
        visitor = new_visitor()
        lead = make_lead(owner=alice)
        with django_capture_on_commit_callbacks(execute=True):
            services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        pk = Visitor.objects.get(key=visitor).pk
        services.record_visitor_sessions(visitor_id=pk)
        DBTaskResult.objects.all().delete()
        with django_capture_on_commit_callbacks(execute=True):
            send(site, visitor, ["/a"])
            send(site, visitor, ["/b"])
        (task,) = DBTaskResult.objects.all()
        assert task.args_kwargs["kwargs"] == {"visitor_id": pk}
        assert task.run_after > timezone.now() + timedelta(minutes=29)

    def test_a_recording_lost_long_ago_is_scheduled_again(self, site, alice, django_capture_on_commit_callbacks):
        visitor = new_visitor()
        lead = make_lead(owner=alice)
        services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
        Visitor.objects.filter(key=visitor).update(timeline_due_at=timezone.now() - timedelta(hours=2))
        DBTaskResult.objects.all().delete()
        with django_capture_on_commit_callbacks(execute=True):
            send(site, visitor, ["/a"])
        assert DBTaskResult.objects.count() == 1
        assert Visitor.objects.get(key=visitor).timeline_due_at > timezone.now()

    def test_anonymous_visitors_schedule_nothing(self, site, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            send(site, new_visitor(), ["/a"])
        assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_worker_puts_earlier_sessions_on_the_timeline(site, alice):
    visitor = new_visitor()
    send(site, visitor, ["/", "/pricing"], age_ms=4 * HOUR_MS)
    send(site, visitor, ["/now"])
    lead = make_lead(owner=alice)
    services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)
    (event,) = visit_events(lead)
    assert event.data["page_count"] == 2
    assert Visitor.objects.get(key=visitor).timeline_due_at > timezone.now()
