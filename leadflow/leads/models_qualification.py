"""The qualification gate a lead passes before SQL, and the reasons a lead can be disqualified for."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.leads.lifecycle import BANT_FIELDS, BANT_LABELS, Stage

ARTICLES = {Stage.SQL: "an SQL", Stage.OPPORTUNITY: "an opportunity", Stage.CUSTOMER: "a customer"}


class QualificationGate(models.Model):
    """Which BANT fields must be known before a lead of a pipeline may become an SQL or go further.

    There is one pipeline today, so one row ("Default pipeline"), seeded with all four required.
    """

    name = models.CharField(max_length=100, unique=True)
    require_budget = models.BooleanField(default=True)
    require_authority = models.BooleanField(default=True)
    require_need = models.BooleanField(default=True)
    require_timeline = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    DEFAULT_NAME = "Default pipeline"
    FLAGS = {
        "budget": "require_budget",
        "authority": "require_authority",
        "need": "require_need",
        "purchase_timeline": "require_timeline",
    }

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> QualificationGate:
        """Return the gate of the (only) pipeline; all four fields required when none is stored."""
        return cls.objects.order_by("pk").first() or cls(name=cls.DEFAULT_NAME)

    @property
    def required(self) -> tuple[str, ...]:
        """Return the BANT field names this gate requires, in BANT order."""
        return tuple(name for name in BANT_FIELDS if getattr(self, self.FLAGS[name]))

    @property
    def required_labels(self) -> list[str]:
        return [BANT_LABELS[name] for name in self.required]

    def missing(self, lead) -> list[str]:
        """Return the required BANT fields `lead` does not have known values for."""
        return lead.unknown_qualification(self.required)

    def passes(self, lead) -> bool:
        return not self.missing(lead)

    @staticmethod
    def message(missing: list[str], stage: str) -> str:
        """Return 'Budget and timeline must be known before this lead can become an SQL.'"""
        labels = [BANT_LABELS[name].lower() for name in missing]
        listed = f"{', '.join(labels[:-1])} and {labels[-1]}" if len(labels) > 1 else labels[0]
        return f"{listed[:1].upper()}{listed[1:]} must be known before this lead can become {ARTICLES[stage]}."


class DisqualifyReasonQuerySet(models.QuerySet):
    def active(self) -> DisqualifyReasonQuerySet:
        return self.filter(active=True)


class DisqualifyReason(models.Model):
    """A reason a person may pick when disqualifying a lead; admins add, rename and deactivate them."""

    label = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DisqualifyReasonQuerySet.as_manager()

    class Meta:
        ordering = ["order", "label"]

    def __str__(self) -> str:
        return self.label
