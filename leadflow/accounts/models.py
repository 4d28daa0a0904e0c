"""Users, teams, roles and personal API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    managers = models.ManyToManyField("accounts.User", related_name="managed_teams", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETING = "marketing", "Marketing"
    MANAGER = "manager", "Sales manager"
    REP = "rep", "Sales rep"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def sees_all_leads(self) -> bool:
        """Admins and marketing work on every lead."""
        return self.is_superuser or self.role in {Role.ADMIN, Role.MARKETING}

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    def may_assign_to(self, owner: User | None) -> bool:
        """Admins and marketing assign to anyone, managers within their teams, reps to themselves."""
        if self.sees_all_leads:
            return True
        if owner is None:
            return self.role == Role.MANAGER
        team_ids = self.managed_team_ids()
        if team_ids:
            return owner.team_id in team_ids
        return owner.pk == self.pk

    def managed_team_ids(self) -> list[int]:
        """Return the teams this user manages (a manager also manages their own team)."""
        if self.role != Role.MANAGER:
            return []
        ids = set(self.managed_teams.values_list("id", flat=True))
        if self.team_id:
            ids.add(self.team_id)
        return sorted(ids)


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


def hash_token(raw: str) -> str:
    """Return the stored form of a token: its SHA-256, so a leaked table reveals nothing."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    PREFIX = "lf_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes
