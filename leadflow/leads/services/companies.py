"""Find or create the company a lead works for: one company per email domain."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from leadflow.leads.models import Company
from leadflow.leads.normalise import email_domain, is_free_mail


def resolve_company(*, email: str, company_name: str) -> Company | None:
    """Return the company for a work address's domain, else one matched by name, else None."""
    domain = email_domain(email).lower()
    if domain and not is_free_mail(domain):
        return _company_for_domain(domain, company_name)
    if company_name:
        existing = (
            Company.objects.annotate(name_lower=Lower("name"))
            .filter(name_lower=company_name.lower())
            .order_by("id")
            .first()
        )
        return existing or Company.objects.create(name=company_name)
    return None


def _company_for_domain(domain: str, company_name: str) -> Company:
    company = Company.objects.filter(domain=domain).first()
    if company is not None:
        if not company.name and company_name:
            Company.objects.filter(pk=company.pk).update(name=company_name)
            company.name = company_name
        return company
    try:
        with transaction.atomic():
            return Company.objects.create(domain=domain, name=company_name or domain)
    except IntegrityError:
        return Company.objects.get(domain=domain)
