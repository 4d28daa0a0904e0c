"""Decide who gets a lead: the first matching rule, its target, round robin over available reps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from leadflow.accounts.models import Role, User
from leadflow.leads.models import Lead, LeadStatus, Stage
from leadflow.routing.hours import add_business_minutes
from leadflow.routing.models import AssignmentRule, Availability, TeamSchedule

OPEN_STAGES = (Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY)


@dataclass
class Skip:
    user_id: int
    name: str
    reason: str

    def as_dict(self) -> dict:
        return {"user": self.user_id, "name": self.name, "reason": self.reason}


@dataclass
class Decision:
    """Where a lead goes and why: the rule, its reasons, the owner, who was skipped, the deadline."""

    rule: AssignmentRule | None = None
    owner: User | None = None
    reasons: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)
    due_at: datetime | None = None

    @property
    def summary(self) -> str:
        if self.rule is None or self.owner is None:
            return "No rule matched: the lead waits in the Unrouted queue."
        text = f"Rule “{self.rule.name}” ({'; '.join(self.reasons) or 'matches every lead'}) → {self.owner}"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{skip.name} ({skip.reason})" for skip in self.skipped)
        return text


def lead_form_ids(lead: Lead) -> set[int]:
    """Return the capture forms the lead has sent."""
    from leadflow.capture.models import Submission

    return set(Submission.objects.filter(lead_id=lead.pk).values_list("form_id", flat=True))


def match_reasons(rule: AssignmentRule, lead: Lead, form_ids: set[int]) -> list[str] | None:
    """Return why `rule` matches `lead` (one phrase per condition), or None when it does not."""
    reasons: list[str] = []
    if rule.min_score is not None:
        if lead.score < rule.min_score:
            return None
        reasons.append(f"score {lead.score} ≥ {rule.min_score}")
    if rule.sources:
        wanted = {source.lower() for source in rule.sources}
        found = next((s for s in (lead.source, lead.latest_source) if s and s.lower() in wanted), None)
        if found is None:
            return None
        reasons.append(f"source {found}")
    if rule.countries:
        if (lead.country or "").upper() not in {country.upper() for country in rule.countries}:
            return None
        reasons.append(f"country {lead.country.upper()} in territory")
    if rule.min_company_size is not None:
        if lead.company_size is None or lead.company_size < rule.min_company_size:
            return None
        reasons.append(f"company size {lead.company_size} ≥ {rule.min_company_size}")
    if rule.form_id is not None:
        if rule.form_id not in form_ids:
            return None
        reasons.append(f"sent form {rule.form}")
    if rule.stages:
        if lead.stage not in rule.stages:
            return None
        reasons.append(f"stage {lead.get_stage_display()}")
    return reasons


def _availability(users: list[User]) -> dict[int, Availability]:
    return {a.user_id: a for a in Availability.objects.filter(user__in=users)}


def _open_counts(users: list[User]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(owner__in=users, status=LeadStatus.ACTIVE, stage__in=OPEN_STAGES)
        .values("owner")
        .annotate(n=Count("id"))
    )
    return {row["owner"]: row["n"] for row in rows}


def skip_reasons(users: list[User], now: datetime) -> dict[int, str]:
    """Return {user id: why they take no new lead now} for the users who are unavailable."""
    availability, counts = _availability(users), _open_counts(users)
    reasons: dict[int, str] = {}
    for user in users:
        record = availability.get(user.pk)
        if not user.is_active:
            reasons[user.pk] = "deactivated"
        elif record is not None and record.is_out(now):
            until = (
                timezone.localtime(record.out_until).strftime("%-d %b %H:%M") if record.out_until else "further notice"
            )
            reasons[user.pk] = f"out of office until {until}"
        elif record is not None and record.capacity is not None and counts.get(user.pk, 0) >= record.capacity:
            reasons[user.pk] = f"at capacity ({counts.get(user.pk, 0)} of {record.capacity} open leads)"
    return reasons


def team_members(team_id: int) -> list[User]:
    return list(User.objects.filter(team_id=team_id, role=Role.REP).order_by("id"))


def pick_round_robin(rule: AssignmentRule, eligible: list[User]) -> User:
    """Choose the next rep by smooth weighted round robin and advance `rule.rotation` (not saved).

    Each eligible rep gains their weight, the one with most is chosen and pays back
    the total; reps who are skipped neither gain nor lose, so over many leads each
    rep's share follows their weight within one lead.
    """
    weights = _weights(rule, eligible)
    state = {key: int(value) for key, value in (rule.rotation or {}).items() if isinstance(value, int | float)}
    for user in eligible:
        state[str(user.pk)] = state.get(str(user.pk), 0) + weights[user.pk]
    chosen = max(eligible, key=lambda user: (state[str(user.pk)], -user.pk))
    state[str(chosen.pk)] -= sum(weights.values())
    rule.rotation = state
    return chosen


def _weights(rule: AssignmentRule, users: list[User]) -> dict[int, int]:
    if not rule.weighted:
        return {user.pk: 1 for user in users}
    availability = _availability(users)
    return {user.pk: max(availability[user.pk].weight, 0) if user.pk in availability else 1 for user in users}


def evaluate(lead: Lead, *, now: datetime | None = None, lock: bool = False, exclude: tuple[int, ...] = ()) -> Decision:
    """Return the decision for `lead`; with `lock`, rules' rows are locked and their rotation saved."""
    now = now or timezone.now()
    decision = Decision()
    form_ids = lead_form_ids(lead)
    for rule in AssignmentRule.objects.in_order().select_related("target_user", "target_team", "form"):
        reasons = match_reasons(rule, lead, form_ids)
        if reasons is None:
            continue
        if lock:
            rule = (
                AssignmentRule.objects.select_for_update(of=("self",))
                .select_related("target_user", "form")
                .get(pk=rule.pk)
            )
        owner, skipped = choose_owner(rule, now, exclude)
        decision.skipped.extend(skipped)
        if owner is None:
            decision.passed_over.append(rule.name)
            continue
        if lock and rule.target_team_id:
            rule.assigned_count += 1
            rule.save(update_fields=["rotation", "assigned_count"])
        decision.rule, decision.owner, decision.reasons = rule, owner, reasons
        decision.due_at = deadline(rule, owner, now)
        return decision
    return decision


def choose_owner(rule: AssignmentRule, now: datetime, exclude: tuple[int, ...]) -> tuple[User | None, list[Skip]]:
    if rule.target_user_id:
        users = [rule.target_user]
    elif rule.target_team_id:
        users = team_members(rule.target_team_id)
    else:
        return None, []
    reasons = skip_reasons(users, now)
    for user in users:
        if user.pk in exclude and user.pk not in reasons:
            reasons[user.pk] = "had the lead already"
    skipped = [Skip(user.pk, str(user), reasons[user.pk]) for user in users if user.pk in reasons]
    eligible = [user for user in users if user.pk not in reasons]
    if rule.weighted:
        weights = _weights(rule, eligible)
        eligible = [user for user in eligible if weights[user.pk] > 0]
    if not eligible:
        return None, skipped
    if rule.target_user_id:
        return eligible[0], skipped
    return pick_round_robin(rule, eligible), skipped


def schedule_for(team_id: int | None) -> tuple[str, list | None]:
    """Return the (time zone, weekly hours) deadlines of `team_id` count in."""
    schedule = TeamSchedule.objects.filter(team_id=team_id).first() if team_id else None
    if schedule is None:
        return settings.TIME_ZONE, None
    return schedule.time_zone, schedule.hours


def deadline(rule: AssignmentRule, owner: User, start: datetime) -> datetime:
    """Return when the first touch is due: the rule's minutes, in business hours of the owner's team if asked."""
    if not rule.business_hours:
        return start + timedelta(minutes=rule.touch_minutes)
    time_zone, hours = schedule_for(owner.team_id)
    return add_business_minutes(start, rule.touch_minutes, time_zone=time_zone, hours=hours)
