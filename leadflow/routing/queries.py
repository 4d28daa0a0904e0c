"""Reads for the inbox, tasks, the team view, the rules page and the lead card."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db.models import Case, Count, DateTimeField, F, OuterRef, Q, Subquery, When
from django.utils import timezone
from django.utils.timesince import timesince

from leadflow.accounts.models import Role, User
from leadflow.leads.models import EventKind, Lead, LeadStatus, TimelineEvent
from leadflow.routing.models import Handover, HandoverStatus, Notification, Task, UnroutedLead
from leadflow.routing.services.rules import OPEN_STAGES

ACTIVITY_KINDS = (
    EventKind.PAGE_VIEWED,
    EventKind.FORM_SUBMITTED,
    EventKind.EMAIL_OPENED,
    EventKind.EMAIL_CLICKED,
    EventKind.EMAIL_REPLIED,
    EventKind.CAPTURED,
    EventKind.CREATED,
    EventKind.CALL,
    EventKind.MEETING,
    EventKind.EMAIL_SENT,
)
INBOX_SIZE = 50


def ago(moment: datetime, now: datetime | None = None) -> str:
    """Return '3 min ago' style text."""
    now = now or timezone.now()
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now).split(',')[0]} ago".replace("minutes", "min").replace("minute", "min")


def describe_activity(event: TimelineEvent, now: datetime | None = None) -> str:
    """Return the event as a short line for a rep: 'Visited pricing 3 min ago'."""
    data = event.data if isinstance(event.data, dict) else {}
    kind = event.kind
    if kind == EventKind.PAGE_VIEWED:
        what = f"Visited {data.get('title') or _path(data.get('url', '')) or 'the website'}"
    elif kind == EventKind.FORM_SUBMITTED:
        what = f"Sent the form {data.get('form') or ''}".strip()
    elif kind == EventKind.EMAIL_OPENED:
        what = f"Opened “{data['subject']}”" if data.get("subject") else "Opened an email"
    elif kind == EventKind.EMAIL_CLICKED:
        what = f"Clicked {_path(data.get('url', '')) or 'a link'} in an email"
    elif kind == EventKind.EMAIL_REPLIED:
        what = "Replied to an email"
    elif kind == EventKind.CALL:
        what = f"Call: {str(data.get('outcome', '')).replace('_', ' ')}"
    elif kind in (EventKind.CREATED, EventKind.CAPTURED):
        what = f"Arrived via {data.get('channel') or 'a capture'}"
    else:
        what = event.get_kind_display()
    return f"{what} {ago(event.occurred_at, now)}"


def _path(url: str) -> str:
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return ""
    path = parts.path.strip("/")
    return path.replace("-", " ") if path else parts.netloc


def latest_activity(lead_ids: list[int]) -> dict[int, TimelineEvent]:
    """Return each lead's newest activity event worth a rep's attention."""
    if not lead_ids:
        return {}
    newest = (
        TimelineEvent.objects.filter(lead=OuterRef("pk"), kind__in=ACTIVITY_KINDS)
        .order_by("-occurred_at", "-id")
        .values("pk")[:1]
    )
    ids = Lead.objects.filter(pk__in=lead_ids).annotate(latest=Subquery(newest)).values_list("latest", flat=True)
    events = TimelineEvent.objects.filter(pk__in=[pk for pk in ids if pk])
    return {event.lead_id: event for event in events}


@dataclass
class InboxRow:
    lead: Lead
    reasons: list[str]
    activity: str = ""
    overdue: bool = False
    handover: Handover | None = None
    open_tasks: list[Task] = field(default_factory=list)


def open_leads_of(user: User):
    return Lead.objects.filter(owner=user, status=LeadStatus.ACTIVE, stage__in=OPEN_STAGES)


def inbox_for(user: User, *, now: datetime | None = None, limit: int = INBOX_SIZE) -> list[InboxRow]:
    """Return who `user` should contact next: overdue first touches, then due soonest, then score."""
    now = now or timezone.now()
    waiting = Q(first_touched_at__isnull=True, touch_due_at__isnull=False)
    leads = list(
        open_leads_of(user)
        .annotate(due=Case(When(waiting, then=F("touch_due_at")), default=None, output_field=DateTimeField()))
        .order_by(F("due").asc(nulls_last=True), "-score", "-last_activity_at", "-id")[:limit]
    )
    return rows_for(leads, now=now)


def rows_for(leads: list[Lead], *, now: datetime) -> list[InboxRow]:
    ids = [lead.pk for lead in leads]
    activity = latest_activity(ids)
    handovers = {
        h.lead_id: h for h in Handover.objects.filter(lead_id__in=ids, status=HandoverStatus.PENDING).order_by("id")
    }
    tasks: dict[int, list[Task]] = {}
    for task in Task.objects.open().filter(lead_id__in=ids).order_by(F("due_at").asc(nulls_last=True), "id"):
        tasks.setdefault(task.lead_id, []).append(task)
    rows = []
    for lead in leads:
        row = InboxRow(lead=lead, reasons=[], handover=handovers.get(lead.pk), open_tasks=tasks.get(lead.pk, []))
        if lead.pk in activity:
            row.activity = describe_activity(activity[lead.pk], now)
        row.reasons = _reasons(lead, row, now)
        row.overdue = bool(lead.touch_due_at and not lead.first_touched_at and lead.touch_due_at < now)
        rows.append(row)
    return rows


def _reasons(lead: Lead, row: InboxRow, now: datetime) -> list[str]:
    reasons = []
    if row.handover is not None:
        reasons.append("New MQL handed over")
    if lead.touch_due_at and not lead.first_touched_at:
        if lead.touch_due_at < now:
            reasons.append(f"First touch overdue by {timesince(lead.touch_due_at, now).split(',')[0]}")
        else:
            reasons.append(f"First touch due in {timesince(now, lead.touch_due_at).split(',')[0]}")
    due_tasks = [task for task in row.open_tasks if task.due_at and task.due_at <= now]
    if due_tasks:
        reasons.append(f"{len(due_tasks)} task{'s' if len(due_tasks) > 1 else ''} due")
    reasons.append(f"Score {lead.score}")
    return reasons


def never_touched(leads) -> Q:
    return leads.filter(assigned_at__isnull=False, first_touched_at__isnull=True)


def inbox_counts(user: User, *, now: datetime | None = None) -> dict[str, int]:
    """Return the header counts of `user`'s inbox."""
    now = now or timezone.now()
    mine = open_leads_of(user)
    untouched = never_touched(mine)
    return {
        "open": mine.count(),
        "never_touched": untouched.count(),
        "overdue": untouched.filter(touch_due_at__lt=now).count(),
        "handovers": Handover.objects.filter(rep=user, status=HandoverStatus.PENDING).count(),
        "tasks_due": Task.objects.open().filter(assignee=user, due_at__lte=now).count(),
    }


def team_overview(user: User, *, now: datetime | None = None) -> list[dict]:
    """Return, per rep of the teams `user` manages (every team for admins), their open and untouched leads."""
    now = now or timezone.now()
    reps = User.objects.filter(role=Role.REP, is_active=True).select_related("team").order_by("team__name", "id")
    if not user.sees_all_leads:
        reps = reps.filter(team_id__in=user.managed_team_ids())
    open_filter = Q(owned_leads__status=LeadStatus.ACTIVE, owned_leads__stage__in=OPEN_STAGES)
    untouched = open_filter & Q(owned_leads__assigned_at__isnull=False, owned_leads__first_touched_at__isnull=True)
    reps = reps.annotate(
        open_count=Count("owned_leads", filter=open_filter),
        untouched_count=Count("owned_leads", filter=untouched),
        overdue_count=Count("owned_leads", filter=untouched & Q(owned_leads__touch_due_at__lt=now)),
    )
    pending = dict(
        Handover.objects.filter(status=HandoverStatus.PENDING, rep__in=reps)
        .values_list("rep")
        .annotate(n=Count("id"))
        .values_list("rep", "n")
    )
    return [
        {
            "rep": rep,
            "open": rep.open_count,
            "never_touched": rep.untouched_count,
            "overdue": rep.overdue_count,
            "handovers": pending.get(rep.pk, 0),
        }
        for rep in reps
    ]


def overdue_leads(user: User, *, now: datetime | None = None, limit: int = 50) -> list[Lead]:
    """Return the never-touched leads past their deadline that `user` can see, most overdue first."""
    now = now or timezone.now()
    visible = Lead.objects.visible_to(user).filter(stage__in=OPEN_STAGES, owner__isnull=False)
    return list(
        never_touched(visible).filter(touch_due_at__lt=now).select_related("owner").order_by("touch_due_at")[:limit]
    )


def unrouted_queue(user: User, *, limit: int = 100) -> list[UnroutedLead]:
    visible = Lead.objects.visible_to(user).filter(owner__isnull=True)
    return list(UnroutedLead.objects.filter(lead__in=visible).select_related("lead")[:limit])


def tasks_for(user: User, *, now: datetime | None = None) -> dict[str, list[Task]]:
    """Return `user`'s tasks as overdue, today, upcoming (incl. undated) and done in the last week."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    end_of_day = local.replace(hour=23, minute=59, second=59, microsecond=999999)
    mine = Task.objects.filter(assignee=user).select_related("lead")
    open_tasks = mine.open()
    return {
        "overdue": list(open_tasks.filter(due_at__lt=now).order_by("due_at", "id")),
        "today": list(open_tasks.filter(due_at__gte=now, due_at__lte=end_of_day).order_by("due_at", "id")),
        "upcoming": list(
            open_tasks.filter(Q(due_at__gt=end_of_day) | Q(due_at__isnull=True)).order_by(
                F("due_at").asc(nulls_last=True), "id"
            )[:100]
        ),
        "done": list(mine.filter(completed_at__gte=now - timedelta(days=7)).order_by("-completed_at")[:50]),
    }


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def lead_card(lead: Lead, *, now: datetime | None = None) -> dict:
    """Return what the routing card on the lead page shows."""
    now = now or timezone.now()
    tasks = list(
        Task.objects.open().filter(lead=lead).select_related("assignee").order_by(F("due_at").asc(nulls_last=True))
    )
    return {
        "lead": lead,
        "tasks": tasks,
        "handover": Handover.objects.filter(lead=lead, status=HandoverStatus.PENDING).select_related("rep").first(),
        "unrouted": UnroutedLead.objects.filter(lead=lead).first(),
        "overdue": bool(lead.touch_due_at and not lead.first_touched_at and lead.touch_due_at < now),
        "now": now,
    }
