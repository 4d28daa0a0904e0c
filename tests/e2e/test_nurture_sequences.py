"""The sequence editor and the nurture card on the lead page, in a real browser."""

import pytest
from playwright.sync_api import expect

from leadflow.mail.models import Kind, OutboxMessage
from leadflow.nurture import engine
from leadflow.nurture.models import Enrollment, Sequence, StepKind, TemplateKind
from tests.conftest import make_lead
from tests.nurture.conftest import make_sequence, make_template

pytestmark = pytest.mark.django_db(transaction=True)
# A sending window open all week, so the test does not depend on the hour it runs at.
ALWAYS = {"send_days": list(range(7)), "send_start_hour": 0, "send_end_hour": 24}


def test_marketing_builds_a_sequence_step_by_step(page, live_server, sign_in, screenshot, marketing):
    make_template("Welcome to the trial", subject='Welcome, {{ first_name | "there" }}')
    make_template("Case study")
    sign_in(marketing)
    page.goto(f"{live_server.url}/nurture/sequences/")
    page.get_by_role("link", name="Build your first sequence").click()
    page.fill("input[name=name]", "Trial onboarding")
    page.get_by_role("button", name="Create and add steps").click()
    expect(page.get_by_role("heading", name="Trial onboarding")).to_be_visible()

    steps = page.locator("#steps")
    add = steps.locator("details.add-step form")
    add.locator("select[name=kind]").select_option("email")
    add.locator("select[name=template]").select_option(label="Welcome to the trial")
    add.get_by_role("button", name="Add step").click()
    expect(steps.locator("tr.step-row")).to_have_count(1)

    page.locator("#steps details.add-step summary").click()
    add = page.locator("#steps details.add-step form")
    add.locator("select[name=kind]").select_option("wait")
    expect(add.locator("input[name=days]")).to_be_visible()
    expect(add.locator("select[name=template]")).to_be_hidden()
    add.locator("input[name=days]").fill("3")
    add.get_by_role("button", name="Add step").click()
    expect(page.locator("#steps tr.step-row")).to_have_count(2)

    page.locator("#steps details.add-step summary").click()
    add = page.locator("#steps details.add-step form")
    add.locator("select[name=kind]").select_option("email")
    add.locator("select[name=template]").select_option(label="Case study")
    add.get_by_role("button", name="Add step").click()
    rows = page.locator("#steps tr.step-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Wait 3 days")

    rows.nth(2).get_by_role("button", name="Move step 3 up").click()
    expect(page.locator("#steps tr.step-row").nth(1)).to_contain_text("Case study")
    page.locator("#steps tr.step-row").nth(2).get_by_role("button", name="Edit").click()
    edit = page.locator("#steps tr.step-edit form")
    edit.locator("input[name=days]").fill("5")
    edit.get_by_role("button", name="Save step").click()
    expect(page.locator("#steps tr.step-row").nth(2)).to_contain_text("Wait 5 days")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#steps tr.step-row").nth(1).get_by_role("button", name="Remove").click()
    expect(page.locator("#steps tr.step-row")).to_have_count(2)
    page.get_by_role("button", name="Start sequence").click()
    expect(page.get_by_text("The sequence is running.")).to_be_visible()
    screenshot("editor")
    sequence = Sequence.objects.get()
    assert [s.kind for s in sequence.steps.order_by("position")] == ["email", "wait"]


def test_a_rep_enrolls_a_lead_and_sends_a_snippet_from_the_lead_page(page, live_server, sign_in, screenshot, alice):
    make_sequence((StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 2}), (StepKind.EMAIL, {}), name="Trial tips", **ALWAYS)
    make_template(
        "Checking in", kind=TemplateKind.SNIPPET, subject="Checking in", body="Hi {{ first_name }}, how is it going?"
    )
    lead = make_lead(owner=alice, first_name="Dana", last_name="<b>Scully</b>", time_zone="Europe/Paris")
    sign_in(alice)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    card = page.locator("#nurture-card")
    expect(card).to_contain_text("Not in any sequence.")
    card.locator("select[name=sequence]").select_option(label="Trial tips")
    card.get_by_role("button", name="Enroll").click()
    # The sequence's name is also in the picker, so wait for the card to stop saying "Not in any sequence".
    expect(page.locator("#nurture-card")).not_to_contain_text("Not in any sequence.")
    expect(page.locator("#nurture-card")).to_contain_text("Trial tips")
    assert engine.run_due() == 1
    page.reload()
    card = page.locator("#nurture-card")
    expect(card).to_contain_text("Now: Wait 2 days")
    expect(card).to_contain_text("(Europe/Paris)")

    card.locator("summary", has_text="Send an email").click()
    card.locator("select[name=snippet]").select_option(label="Checking in")
    expect(card.locator("input[name=subject]")).to_have_value("Checking in")
    card.get_by_role("button", name="Preview").click()
    expect(card.locator(".compose-preview")).to_contain_text("Hi Dana, how is it going?")
    screenshot("lead-card")
    card.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#nurture-card")).to_contain_text("is on its way")
    message = OutboxMessage.objects.get(kind=Kind.ONE_TO_ONE)
    assert message.sender == alice
    assert Enrollment.objects.filter(lead=lead).count() == 1
