import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import queries
from leadflow.leads.forms import assignable_owners
from leadflow.leads.models import BulkJob, EventKind, Lead, SavedView, Stage
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def text(response) -> str:
    return response.content.decode()


# The table


def test_rep_sees_own_leads_and_team_queue_in_the_table(as_alice, alice, bob, east):
    make_lead(owner=alice, first_name="Ada", last_name="Own", company_name="Acme", source="webinar")
    make_lead(team=east, first_name="Queued", last_name="Lead")
    make_lead(owner=bob, first_name="Bobs", last_name="Lead")
    page = as_alice.get("/")
    assert page.status_code == 200
    body = text(page)
    assert "Ada Own" in body and "Queued Lead" in body
    assert "Bobs Lead" not in body
    assert "1–2 of 2 leads" in results_line(as_alice, page)
    for header in ("Name", "Company", "Email", "Phone", "Stage", "Owner", "Source", "Score", "Created"):
        assert re.search(rf"<th [^>]*>\s*(<a [^>]*>)?{header}\s*<", body), header


def test_outsider_sees_nothing_of_another_teams_leads(client, alice, carol):
    make_lead(owner=alice, first_name="Secret", last_name="Prospect", email="secret@acme.example")
    client.force_login(carol)
    body = text(client.get("/", {"q": "secret"}))
    assert "Secret Prospect" not in body and "secret@acme.example" not in body
    assert "No leads match these filters" in body


def test_search_narrows_by_name_email_company_and_phone(as_alice, alice):
    make_lead(owner=alice, first_name="Priya", last_name="Patel", company_name="Globex", phone="+1 415 555 0101")
    make_lead(owner=alice, first_name="Omar", last_name="Haddad", email="omar@initech.example")
    assert "Priya Patel" in text(as_alice.get("/", {"q": "pri"}))
    assert "Omar Haddad" not in text(as_alice.get("/", {"q": "pri"}))
    assert "Priya Patel" in text(as_alice.get("/", {"q": "glob"}))
    assert "Priya Patel" in text(as_alice.get("/", {"q": "+14155550101"}))
    only_omar = text(as_alice.get("/", {"q": "omar@initech.example"}))
    assert "Omar Haddad" in only_omar and "Priya Patel" not in only_omar


def test_filters_by_stage_owner_source_score_and_created(as_alice, alice, east):
    mql = make_lead(owner=alice, first_name="Mql", last_name="Person", stage=Stage.MQL, source="webinar")
    queued = make_lead(team=east, first_name="Queue", last_name="Person", source="google")
    Lead.objects.filter(pk=mql.pk).update(score=80, created_at=timezone.now() - timedelta(days=40))
    by_stage = text(as_alice.get("/", {"stage": ["mql", "sql"]}))
    assert "Mql Person" in by_stage and "Queue Person" not in by_stage
    assert "Queue Person" in text(as_alice.get("/", {"owner": "none"}))
    assert "Queue Person" not in text(as_alice.get("/", {"owner": "me"}))
    assert "Mql Person" in text(as_alice.get("/", {"source": "webinar"}))
    by_score = text(as_alice.get("/", {"score_min": "50", "score_max": "100"}))
    assert "Mql Person" in by_score and "Queue Person" not in by_score
    recent = text(as_alice.get("/", {"created_from": (timezone.now() - timedelta(days=7)).date().isoformat()}))
    assert "Queue Person" in recent and "Mql Person" not in recent
    assert queued.pk


def test_filter_form_keeps_the_values_given(as_alice, alice):
    make_lead(owner=alice)
    body = text(as_alice.get("/", {"q": "dana", "stage": "mql", "owner": "me", "score_min": "10"}))
    assert 'name="q" value="dana"' in body
    assert 'value="mql" checked' in body
    assert '<option value="me" selected>' in body
    assert 'name="score_min" value="10"' in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"score_min": "lots"}, "is not a whole number"),
        ({"stage": "hot"}, "unknown stage"),
        ({"sort": "password"}, "cannot sort by"),
        ({"created_from": "2024-13-45"}, "is not a date"),
        ({"cursor": "not-a-cursor"}, "is not a cursor"),
        ({"owner": "someone"}, "use a user id"),
        ({"q": "x" * 300}, "under 200 characters"),
    ],
)
def test_bad_filter_values_show_a_clear_message(as_alice, alice, params, message):
    make_lead(owner=alice)
    page = as_alice.get("/", params)
    assert page.status_code == 200
    body = text(page)
    assert "These filters can’t be used" in body
    assert message in body
    assert "clear all filters" in body


@pytest.mark.parametrize("params", [{"score_min": "9" * 30}, {"score_max": "-" + "9" * 30}])
def test_numbers_out_of_range_match_nothing_rather_than_fail(as_alice, alice, params):
    make_lead(owner=alice)
    page = as_alice.get("/", params)
    assert page.status_code == 200
    assert "No leads match these filters" in text(page)


def test_htmx_request_gets_only_the_results(as_alice, alice):
    make_lead(owner=alice, first_name="Htmx", last_name="Row")
    page = as_alice.get("/", {"q": "htmx"}, **HTMX)
    body = text(page)
    assert "Htmx Row" in body
    assert "<html" not in body and 'id="filters"' not in body
    assert 'id="saved-views" class="saved-views" hx-swap-oob="true"' in body
    assert "HX-Request" in page["Vary"]


def test_history_restore_gets_the_whole_page(as_alice, alice):
    make_lead(owner=alice)
    body = text(as_alice.get("/", **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"))
    assert "<html" in body and 'id="filters"' in body


def test_search_form_works_without_javascript(as_alice):
    body = text(as_alice.get("/"))
    assert '<form id="filters" class="filters card" method="get" action="/"' in body
    assert 'hx-get="/" hx-target="#results" hx-push-url="true"' in body
    assert '<button class="button filters-submit" type="submit">Search</button>' in body


def results_line(client, response) -> str:
    """Return the results line ("1-50 of N leads") as a person reads it, once its count has loaded."""
    html = text(response)
    lazy = re.search(r'<span class="lead-count" hx-get="([^"]+)"[^>]*>…</span>', html)
    if lazy:
        html = html.replace(lazy.group(0), text(client.get(unescape(lazy.group(1)))))
    line = re.search(r'<p class="results-count">(.*?)</p>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", line).replace(" – ", "–").split())


def test_pages_follow_the_cursor_and_count_from_the_start(as_alice, alice, settings):
    settings.LEADFLOW_PAGE_SIZE = 5
    for n in range(7):
        make_lead(owner=alice, first_name="Paged", last_name=f"Person{n}")
    first = as_alice.get("/", {"q": "paged"})
    assert "1–5 of 7 leads" in results_line(as_alice, first)
    next_url = first.context["next_url"]
    assert "cursor=" in next_url and "page=2" in next_url
    second = as_alice.get(next_url)
    assert "6–7 of 7 leads" in results_line(as_alice, second)
    assert second.context["next_url"] == ""
    assert "First page" in text(second)
    shown = {lead.pk for lead in first.context["page"].leads} | {lead.pk for lead in second.context["page"].leads}
    assert len(shown) == 7


@pytest.mark.parametrize("sort", ["score", "-score", "name", "-name", "created", "-activity"])
def test_pages_through_equal_scores_and_names_keep_the_order_of_the_whole_list(alice, bob, east, sort):
    for n in range(9):
        make_lead(owner=alice, last_name=("smith", "Smith", "SMITH")[n % 3])
        make_lead(team=east, last_name="Smith" if n < 6 else "Adams")
    make_lead(owner=bob, last_name="Smith")
    Lead.objects.filter(pk__in=list(Lead.objects.order_by("pk").values_list("pk", flat=True)[:12])).update(score=7)
    filters = queries.parse_filters({"sort": sort})
    whole = queries.lead_page(user=alice, filters=filters, limit=100).leads
    paged, cursor = [], ""
    for _ in range(10):
        page = queries.lead_page(user=alice, filters=queries.parse_filters({"sort": sort, "cursor": cursor}), limit=4)
        paged += page.leads
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(whole) == 18
    assert [lead.pk for lead in paged] == [lead.pk for lead in whole]


@pytest.mark.parametrize("dense_from", [1, 10_000])
def test_score_range_keeps_both_ends_whether_many_or_few_leads_score_in_it(alice, monkeypatch, dense_from):
    monkeypatch.setattr(queries, "DENSE_SCORE_RANGE", dense_from)
    for score in (10, 20, 30, 40, 50):
        Lead.objects.filter(pk=make_lead(owner=alice).pk).update(score=score)
    for sort in ("-created", "score"):
        filters = queries.parse_filters({"score_min": "20", "score_max": "40", "sort": sort})
        page = queries.lead_page(user=alice, filters=filters, limit=10)
        assert sorted(lead.score for lead in page.leads) == [20, 30, 40]


def every_page(user, params: dict) -> tuple[list[int], int | None]:
    """Follow the cursor one lead at a time; return the leads in order and the first page's count."""
    filters = queries.parse_filters(params)
    page = queries.lead_page(user=user, filters=filters, limit=1)
    seen, count = [lead.pk for lead in page.leads], page.count
    while page.next_cursor:
        filters = queries.parse_filters({**params, "cursor": page.next_cursor})
        page = queries.lead_page(user=user, filters=filters, limit=1)
        seen += [lead.pk for lead in page.leads]
    return seen, count


@pytest.mark.parametrize("dense_from", [1, 10_000])
def test_search_finds_the_same_leads_whether_few_or_many_match(alice, bob, east, monkeypatch, dense_from):
    monkeypatch.setattr(queries, "DENSE_SEARCH", dense_from)
    lee = make_lead(owner=alice, first_name="Lee", last_name="Leeson", company_name="Leeds Ltd")
    queued = make_lead(team=east, first_name="Ann", last_name="Leeway", company_name="Walker Bros")
    walker = make_lead(owner=alice, first_name="Thomas", last_name="Walker")
    make_lead(owner=bob, first_name="Lee", last_name="Walker")
    merged = make_lead(owner=alice, first_name="Tom", last_name="Walkerson")
    Lead.objects.filter(pk=merged.pk).update(status="merged")
    for sort in ("-created", "name", "-activity", "score"):
        everything, _ = every_page(alice, {"sort": sort})
        found, _ = every_page(alice, {"q": "lee", "sort": sort})
        assert found == [pk for pk in everything if pk in {lee.pk, queued.pk}]
    assert sorted(every_page(alice, {"q": "lee"})[0]) == sorted([lee.pk, queued.pk])
    assert every_page(alice, {"q": "lee"})[1] == 2
    assert every_page(alice, {"q": "thomas walker"})[0] == [walker.pk]
    assert sorted(every_page(alice, {"q": "walker"})[0]) == sorted([walker.pk, queued.pk])
    assert every_page(alice, {"q": "lee walker"})[0] == [queued.pk]
    assert queries.count_leads(user=alice, filters=queries.parse_filters({"q": "walker"})) == (2, False)


@pytest.mark.parametrize("number", ["0", "-1", "²", "9" * 5000, "abc"])
def test_odd_page_numbers_count_from_the_first_page(as_alice, alice, settings, number):
    settings.LEADFLOW_PAGE_SIZE = 1
    make_lead(owner=alice)
    make_lead(owner=alice)
    cursor = as_alice.get("/").context["page"].next_cursor
    page = as_alice.get("/", {"cursor": cursor, "page": number})
    assert page.status_code == 200
    assert "1–1 of 2 leads" in results_line(as_alice, page)


def test_large_counts_say_more_than(as_alice, alice, monkeypatch, settings):
    settings.LEADFLOW_PAGE_SIZE = 2
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for _ in range(5):
        make_lead(owner=alice)
    first = as_alice.get("/")
    assert "…" in text(first)
    assert "1–2 of 3+ leads" in results_line(as_alice, first)


def test_sort_headers_link_to_the_other_direction(as_alice, alice):
    make_lead(owner=alice, first_name="Zed", last_name="Zulu")
    make_lead(owner=alice, first_name="Abe", last_name="Alpha")
    page = as_alice.get("/", {"sort": "name"})
    columns = {column["key"]: column for column in page.context["columns"]}
    assert columns["name"]["direction"] == "ascending"
    assert columns["name"]["url"] == "/?sort=-name"
    assert columns["score"]["url"] == "/?sort=-score"
    assert columns["created"]["url"] == "/"
    assert "url" not in columns["email"]
    body = text(page)
    assert body.index("Abe Alpha") < body.index("Zed Zulu")
    body = text(as_alice.get("/", {"sort": "-name"}))
    assert body.index("Zed Zulu") < body.index("Abe Alpha")


def test_empty_list_says_how_to_get_leads_in(as_alice):
    body = text(as_alice.get("/"))
    assert "No leads yet" in body
    assert 'href="/leads/new/"' in body
    assert 'href="/api/docs"' in body
    assert "A manager can import" in body and 'href="/imports/"' not in body


def test_empty_list_offers_imports_and_web_forms_to_those_who_may_use_them(client, admin):
    client.force_login(admin)
    body = text(client.get("/"))
    assert 'href="/imports/">Import a file</a>' in body
    assert 'href="/forms/">Web forms</a>' in body


def test_filters_matching_nothing_offer_to_clear_them(as_alice, alice):
    make_lead(owner=alice)
    body = text(as_alice.get("/", {"q": "nobody-like-this"}))
    assert "No leads match these filters" in body
    assert "No leads yet" not in body
    assert '<a class="button" href="/">Clear filters</a>' in body


def test_script_in_a_lead_is_shown_as_text(as_alice, alice):
    make_lead(owner=alice, first_name="<script>alert(1)</script>", company_name="<b>Bold</b> Inc", source="<i>x</i>")
    body = text(as_alice.get("/"))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>Bold</b>" not in body and "&lt;b&gt;Bold&lt;/b&gt; Inc" in body


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("persona", ["alice", "manager", "admin"])
def test_list_queries_do_not_grow_with_the_rows(client, persona, request, django_assert_max_num_queries, east):
    user = request.getfixturevalue(persona)
    owner = user if persona == "alice" else request.getfixturevalue("alice")
    client.force_login(user)
    make_lead(owner=owner, company_name="Acme")
    few = count_queries(client, "/")
    for n in range(60):
        make_lead(owner=owner if n % 2 else None, team=east, company_name=f"Company {n % 7}")
    many = count_queries(client, "/")
    assert many == few
    # Session and user, the page itself, the filters' choices (owners, reasons, sequences) and the header's alerts.
    with django_assert_max_num_queries(12):
        client.get("/", {"q": "dana", "stage": "lead", "sort": "-score"})


def test_assignable_owners_follow_may_assign_to(admin, marketing, manager, alice, bob, carol):
    everyone = list(User.objects.filter(is_active=True))
    for user in (admin, marketing, manager, alice, carol):
        expected = {owner.pk for owner in everyone if user.may_assign_to(owner)}
        assert {owner.pk for owner in assignable_owners(user)} == expected


# Bulk actions


def test_bulk_assign_changes_the_selected_leads(client, manager, alice, bob):
    leads = [make_lead(owner=alice) for _ in range(3)]
    client.force_login(manager)
    response = client.post(
        "/leads/bulk/",
        {"action": "assign", "owner": str(bob.pk), "lead": [leads[0].pk, leads[1].pk], "next": "stage=lead"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/?stage=lead"
    assert set(Lead.objects.filter(owner=bob).values_list("pk", flat=True)) == {leads[0].pk, leads[1].pk}
    assert "2 leads assigned to Bob." in text(client.get(response["Location"]))


def test_bulk_stage_change_on_the_whole_page_reports_how_many_changed(as_alice, alice):
    leads = [make_lead(owner=alice) for _ in range(3)]
    Lead.objects.filter(pk=leads[0].pk).update(stage=Stage.MQL)
    response = as_alice.post(
        "/leads/bulk/",
        {"action": "stage", "stage": "mql", "select_page": "on", "page_ids": ",".join(str(x.pk) for x in leads)},
        **HTMX,
    )
    body = text(response)
    assert "2 of 3 selected leads moved to MQL; the others needed no change." in body
    assert "<html" not in body
    assert Lead.objects.filter(stage=Stage.MQL).count() == 3
    assert Lead.objects.get(pk=leads[1].pk).events.filter(kind=EventKind.STAGE_CHANGED).count() == 1


def test_rep_cannot_bulk_assign_to_a_teammate(as_alice, alice, bob):
    lead = make_lead(owner=alice)
    body = text(as_alice.post("/leads/bulk/", {"action": "assign", "owner": str(bob.pk), "lead": [lead.pk]}, **HTMX))
    assert "Select a valid choice" in body
    assert Lead.objects.get(pk=lead.pk).owner == alice


def test_bulk_offers_only_owners_the_user_may_assign_to(as_alice, alice, bob, carol):
    make_lead(owner=alice)
    bulk_form = text(as_alice.get("/")).split('id="bulk"')[1].split("</form>")[0]
    assert f'<option value="{alice.pk}">' in bulk_form
    assert f'<option value="{bob.pk}">' not in bulk_form and f'<option value="{carol.pk}">' not in bulk_form
    assert 'value="none"' not in bulk_form


def test_outsider_bulk_action_leaves_other_teams_leads_alone(client, alice, carol):
    lead = make_lead(owner=alice)
    client.force_login(carol)
    response = client.post("/leads/bulk/", {"action": "stage", "stage": "customer", "lead": [lead.pk]}, **HTMX)
    assert "0 of 1 selected lead moved to Customer" in text(response)
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD
    assert "customer" not in str(Lead.objects.get(pk=lead.pk).stage_entered_at)


def test_bulk_without_a_selection_says_so(as_alice, alice):
    make_lead(owner=alice)
    body = text(as_alice.post("/leads/bulk/", {"action": "stage", "stage": "sql"}, **HTMX))
    assert "Select at least one lead first." in body


def test_bulk_with_bad_ids_is_refused_without_error(as_alice, alice):
    body = text(
        as_alice.post("/leads/bulk/", {"action": "stage", "stage": "sql", "lead": ["1;drop", "9" * 40, "²"]}, **HTMX)
    )
    assert "not valid" in body


def test_bulk_on_every_matching_lead_starts_a_background_job(as_alice, alice):
    make_lead(owner=alice, source="webinar")
    response = as_alice.post(
        "/leads/bulk/",
        {"action": "stage", "stage": "sql", "scope": "all", "next": "source=webinar&cursor=abc&page=2"},
        **HTMX,
    )
    job = BulkJob.objects.get()
    assert response["HX-Redirect"] == f"/jobs/{job.pk}/"
    assert (job.user, job.action, job.value, job.query, job.total) == (alice, "stage", "sql", "source=webinar", 1)


# Saved views


def test_saving_a_view_lists_it_as_a_link(as_alice, alice):
    response = as_alice.post("/leads/views/", {"name": "Hot MQLs", "query": "stage=mql&q=acme&cursor=x&utm=1"})
    assert response.status_code == 302
    view = SavedView.objects.get(user=alice)
    assert (view.name, view.query) == ("Hot MQLs", "q=acme&stage=mql")
    body = text(as_alice.get("/"))
    assert '<a href="/?q=acme&amp;stage=mql">Hot MQLs</a>' in body


def test_saving_a_view_again_under_its_name_updates_it(as_alice, alice):
    as_alice.post("/leads/views/", {"name": "Mine", "query": "owner=me"})
    body = text(as_alice.post("/leads/views/", {"name": "Mine", "query": "owner=me&stage=sql"}, HTTP_HX_REQUEST="true"))
    assert "Updated the view “Mine”." in body
    assert SavedView.objects.get(user=alice).query == "stage=sql&owner=me"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Everything", "query": ""}, "Search, filter or sort the list first"),
        ({"name": "Broken", "query": "score_min=lots"}, "These filters have errors"),
        ({"name": "", "query": "owner=me"}, "Give the view a name"),
        ({"name": "Long", "query": "q=" + "✓" * 190 + "&source=" + "✓" * 100}, "too long to save"),
    ],
)
def test_views_that_cannot_be_saved_say_why(as_alice, data, message):
    body = text(as_alice.post("/leads/views/", data, HTTP_HX_REQUEST="true"))
    assert message in body
    assert SavedView.objects.count() == 0


def test_deleting_a_saved_view(as_alice, alice):
    view = SavedView.objects.create(user=alice, name="Old", query="stage=lead")
    body = text(as_alice.post(f"/leads/views/{view.pk}/delete/", {"query": ""}, HTTP_HX_REQUEST="true"))
    assert "Deleted the view “Old”." in body
    assert SavedView.objects.count() == 0


def test_outsider_cannot_see_or_delete_another_users_saved_view(client, alice, carol):
    view = SavedView.objects.create(user=alice, name="Alice's <b>view</b>", query="stage=lead")
    client.force_login(carol)
    assert "Alice&#x27;s" not in text(client.get("/"))
    assert client.post(f"/leads/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_saved_view_names_are_shown_as_text(as_alice, alice):
    SavedView.objects.create(user=alice, name="<script>x()</script>", query="stage=lead")
    body = text(as_alice.get("/"))
    assert "<script>x()</script>" not in body and "&lt;script&gt;x()&lt;/script&gt;" in body


def test_list_pages_need_a_signed_in_user(client):
    assert client.get("/").status_code == 302
    assert client.post("/leads/bulk/").status_code == 302
    assert client.post("/leads/views/").status_code == 302
