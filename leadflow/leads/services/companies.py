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
    company = next(iter(Company.objects.filter(domain=domain)[:1]), None)
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


def _company_keys(wanted: list[tuple[str, str]]) -> tuple[list, dict[str, str], dict[str, str]]:
    keys: list[tuple[str, str] | None] = []
    domains: dict[str, str] = {}
    names: dict[str, str] = {}
    for email, company_name in wanted:
        domain = email_domain(email).lower()
        if domain and not is_free_mail(domain):
            keys.append(("domain", domain))
            if company_name or domain not in domains:
                domains[domain] = domains.get(domain) or company_name
        elif company_name:
            keys.append(("name", company_name.lower()))
            names.setdefault(company_name.lower(), company_name)
        else:
            keys.append(None)
    return keys, domains, names


def resolve_companies(wanted: list[tuple[str, str]]) -> list[Company | None]:
    """Resolve many (email, company name) pairs at once, as resolve_company does one."""
    keys, domains, names = _company_keys(wanted)
    by_domain = {c.domain: c for c in Company.objects.filter(domain__in=list(domains))}
    missing = [Company(domain=d, name=domains[d] or d) for d in domains if d not in by_domain]
    if missing:
        Company.objects.bulk_create(missing, ignore_conflicts=True)
        by_domain.update({c.domain: c for c in Company.objects.filter(domain__in=[m.domain for m in missing])})
    by_name: dict[str, Company] = {}
    if names:
        found = Company.objects.annotate(name_lower=Lower("name")).filter(name_lower__in=list(names)).order_by("-id")
        by_name = {company.name_lower: company for company in found}
        new = [Company(name=names[key]) for key in names if key not in by_name]
        for company in Company.objects.bulk_create(new):
            by_name[company.name.lower()] = company
    return [None if key is None else (by_domain if key[0] == "domain" else by_name).get(key[1]) for key in keys]
