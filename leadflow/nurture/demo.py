"""Demo of nurture: templates, snippets, signatures, two sequences with leads at every step, an auto-reply."""

from __future__ import annotations

import random

from leadflow.accounts.models import User
from leadflow.leads.models import Lead, LeadStatus, Stage
from leadflow.nurture import engine, services
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import EmailTemplate, Sequence, SequenceStatus, StepKind, TemplateKind, Trigger

TEMPLATES = [
    ("Welcome to the trial", TemplateKind.MARKETING, 'Welcome aboard, {{ first_name | "there" }}',
     "# Welcome, {{ first_name | \"there\" }}!\n\nThanks for trying us out at **{{ company | \"your company\" }}**.\n\n"
     "Three things worth doing this week:\n\n1. Import your contacts\n2. Set up a web form\n"
     "3. [Book a 15-minute walkthrough](https://shop.example/demo)\n\n{{ owner_signature }}"),
    ("Case study: Globex", TemplateKind.MARKETING, "How Globex answers every lead in 5 minutes",
     "Hi {{ first_name | \"there\" }},\n\nGlobex cut their response time from two days to five minutes. "
     "[Read how](https://shop.example/case-studies/globex).\n\n{{ owner_signature }}"),
    ("Still interested?", TemplateKind.MARKETING, "Should I close your file, {{ first_name | \"friend\" }}?",
     "Hi {{ first_name | \"there\" }},\n\nI have not heard back, so I will stop writing for now. "
     "Just reply if the timing is better later.\n\n{{ owner_signature }}"),
    ("Thanks for your request", TemplateKind.MARKETING, "We got your request, {{ first_name | \"there\" }}",
     "Thanks for getting in touch! Someone from our team will call you within one working day.\n\n"
     "In the meantime, [see the product tour](https://shop.example/tour)."),
    ("Quick check-in", TemplateKind.SNIPPET, "Quick question, {{ first_name | \"there\" }}",
     "Hi {{ first_name | \"there\" }},\n\nDo you have 15 minutes this week to talk about "
     "{{ company | \"your team\" }}'s plans?\n\n{{ owner_signature }}"),
    ("Meeting follow-up", TemplateKind.SNIPPET, "Thanks for your time today",
     "Hi {{ first_name }},\n\nThanks for the call. As promised, here are the next steps:\n\n- \n- \n\n"
     "{{ owner_signature }}"),
]  # fmt: skip


def _templates(actor: User) -> dict[str, EmailTemplate]:
    made = {}
    for name, kind, subject, body in TEMPLATES:
        made[name] = services.save_template(template=None, name=name, kind=kind, subject=subject, body=body,
                                            actor=actor)  # fmt: skip
    return made


def _sequence(actor: User, name: str, values: dict, steps: list[tuple[str, dict, int | None]]) -> Sequence:
    sequence = services.save_sequence(sequence=None, values={"name": name, **values}, actor=actor)
    added = []
    for kind, config, template_id in steps:
        added.append(services.add_step(sequence=sequence, kind=kind, config=config, template_id=template_id,
                                       actor=actor))  # fmt: skip
    services.set_status(sequence=sequence, status=SequenceStatus.ACTIVE, actor=actor)
    return sequence


def seed(*, rng: random.Random) -> None:
    marketing = User.objects.filter(username="mark").first() or User.objects.filter(username="admin").first()
    if marketing is None or EmailTemplate.objects.exists():
        return
    for user in User.objects.filter(username__in=["alice", "bob", "carol", "maria"]):
        services.save_signature(user=user, text=f"{user.get_full_name() or user.username}\nAccount executive, Leadflow")
    templates = _templates(marketing)
    always = {"send_days": list(range(7)), "send_start_hour": 0, "send_end_hour": 24}
    trial = _sequence(
        marketing,
        "Trial onboarding",
        {"description": "New trial sign-ups: welcome, a case study, then a nudge.", "goal_stage": Stage.SQL, **always},
        [
            (StepKind.EMAIL, {}, templates["Welcome to the trial"].pk),
            (StepKind.WAIT, {"mode": "days", "days": 2}, None),
            (StepKind.EMAIL, {}, templates["Case study: Globex"].pk),
            (StepKind.WAIT, {"mode": "until", "weekday": 1, "time": "10:00"}, None),
            (StepKind.BRANCH, {"condition": "clicked"}, None),
            (StepKind.EMAIL, {}, templates["Still interested?"].pk),
            (StepKind.TASK, {"title": "Call: engaged with the trial emails", "task_kind": "call", "due_days": 1}, None),
        ],
    )
    branch = trial.steps.get(kind=StepKind.BRANCH)
    call = trial.steps.get(kind=StepKind.TASK)
    services.edit_step(step=branch, config={"condition": "clicked", "then_step": call.pk}, template_id=None,
                       actor=marketing)  # fmt: skip
    _sequence(
        marketing,
        "Recycled leads: check back",
        {"description": "Recycled leads hear from us again in a month.", "trigger": Trigger.STAGE,
         "trigger_stage": Stage.RECYCLED, "send_days": [1, 2, 3], "send_start_hour": 9, "send_end_hour": 16},
        [
            (StepKind.WAIT, {"mode": "days", "days": 30}, None),
            (StepKind.EMAIL, {}, templates["Still interested?"].pk),
            (StepKind.STAGE, {"stage": Stage.LEAD}, None),
        ],
    )  # fmt: skip
    leads = list(
        Lead.objects.filter(status=LeadStatus.ACTIVE, stage__in=[Stage.LEAD, Stage.MQL]).exclude(email="")[:60]
    )
    for lead in rng.sample(leads, min(25, len(leads))):
        try:
            services.enroll(sequence=trial, lead=lead, actor=marketing, source="bulk")
        except NurtureError:
            continue
    engine.run_due(limit=100)
    _auto_reply(marketing, templates["Thanks for your request"])


def _auto_reply(actor: User, template: EmailTemplate) -> None:
    from leadflow.capture.models import Form

    form = Form.objects.order_by("pk").first()
    if form is not None:
        services.save_auto_reply(form=form, template=template, enabled=True, actor=actor)
