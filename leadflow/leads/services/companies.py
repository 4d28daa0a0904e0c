"""Find or create the company a lead works for: one company per email domain."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from leadflow.leads.models import Company
from leadflow.leads.normalise import email_domain, is_free_mail
from leadflow.lib.compiled import CompiledSelect

# In the order of the model's fields, as Company.from_db takes them.
COMPANY_FIELDS = ("id", "name", "domain", "created_at")


def _by_domain_query(domain: str):
    return Company.objects.filter(domain=domain).order_by().values_list(*COMPANY_FIELDS)[:1]


def _by_name_query(name: str):
    return (
        Company.objects.annotate(name_lower=Lower("name"))
        .filter(name_lower=name)
        .order_by("id")
        .values_list(*COMPANY_FIELDS)[:1]
    )


# How look_up_company searches, by the kind company_search names: a build function as CompiledSelect takes it.
COMPANY_QUERIES = {"domain": _by_domain_query, "name": _by_name_query}


@cache
def _by_domain() -> CompiledSelect:
    return CompiledSelect(_by_domain_query)


@cache
def _by_name() -> CompiledSelect:
    return CompiledSelect(_by_name_query)


@dataclass(frozen=True)
class CompanyLookUp:
    """What a read-only look-up found: the company, and the write it still needs, if any."""

    company: Company | None = None
    # "" when `company` is the answer as it is; "name" to give it the name; "create" to make it.
    write: str = ""
    domain: str = ""
    name: str = ""

    @property
    def settled(self) -> bool:
        return not self.write


def company_search(*, email: str, company_name: str) -> tuple[str, str]:
    """Return what look_up_company searches by: ("domain", domain), ("name", lowered name) or ("", "")."""
    domain = email_domain(email).lower()
    if domain and not is_free_mail(domain):
        return "domain", domain
    if company_name:
        return "name", company_name.lower()
    return "", ""


def look_up_company(*, email: str, company_name: str) -> CompanyLookUp:
    """Find the company resolve_company would pick, without writing.

    A caller can look up before its write transaction opens, and call settle_company
    inside it for the write the look-up says is still needed.
    """
    kind, value = company_search(email=email, company_name=company_name)
    if not kind:
        return CompanyLookUp()
    lookup = _by_domain() if kind == "domain" else _by_name()
    rows = lookup.rows(**{kind: value})
    return company_found(kind, value, company_name, rows[0] if rows else None, using=lookup.using)


def company_found(kind: str, value: str, company_name: str, row: tuple | None, *, using: str) -> CompanyLookUp:
    """Return the look-up's answer from the row (COMPANY_FIELDS) its search by `kind` and `value` found."""
    company = Company.from_db(using, COMPANY_FIELDS, row) if row is not None else None
    if kind == "domain":
        if company is None:
            return CompanyLookUp(write="create", domain=value, name=company_name)
        write = "name" if company_name and not company.name else ""
        return CompanyLookUp(company, write, value, company_name)
    if kind == "name":
        return CompanyLookUp(company, "" if company else "create", name=company_name)
    return CompanyLookUp()


def settle_company(look_up: CompanyLookUp) -> Company | None:
    """Return the looked-up company after the write it needed: naming it, or creating it."""
    if look_up.write == "name":
        Company.objects.filter(pk=look_up.company.pk).update(name=look_up.name)
        look_up.company.name = look_up.name
    elif look_up.write == "create" and look_up.domain:
        return _create_for_domain(look_up.domain, look_up.name)
    elif look_up.write == "create":
        return Company.objects.create(name=look_up.name)
    return look_up.company


def resolve_company(*, email: str, company_name: str) -> Company | None:
    """Return the company for a work address's domain, else one matched by name, else None."""
    return settle_company(look_up_company(email=email, company_name=company_name))


def _create_for_domain(domain: str, company_name: str) -> Company:
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
