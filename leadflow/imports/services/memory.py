"""What a run remembers from batch to batch: leads it created or changed, people a dry run would create, owners."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from leadflow.accounts.models import User
from leadflow.imports.models import ImportJob
from leadflow.leads.models import Lead

MAX_OWNER_LOOKUPS = 10_000


class IdSet:
    """A set of lead ids as a bitmap: an import of a million rows remembers them in about 125 KB."""

    def __init__(self) -> None:
        self.bits = bytearray()

    def add(self, number: int) -> None:
        index = number >> 3
        if index >= len(self.bits):
            self.bits.extend(bytes(index - len(self.bits) + 1 + len(self.bits) // 2))
        self.bits[index] |= 1 << (number & 7)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        index = number >> 3
        return index < len(self.bits) and bool(self.bits[index] >> (number & 7) & 1)


@dataclass
class RunMemory:
    """What earlier batches of this run did: leads it created and leads it changed (or, dry, would create)."""

    created: IdSet = field(default_factory=IdSet)
    touched: IdSet = field(default_factory=IdSet)
    seq: int = 0
    emails: set[int] = field(default_factory=set)
    phones: dict[int, bool] = field(default_factory=dict)
    keys: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, job: ImportJob) -> RunMemory:
        """Return the memory of a job's committed batches; a resumed run carries on with it."""
        memory = cls()
        for seq, created, changes in job.batches.values_list("seq", "created_ids", "changes").iterator():
            memory.seq = max(memory.seq, seq)
            for lead_id in created:
                memory.created.add(lead_id)
            for change in changes:
                memory.touched.add(change["lead"])
        return memory

    def would_exist(self, lead: Lead, key: str | None) -> bool:
        """Return True when a dry run's new lead matches one an earlier batch would have created."""
        if lead.email_key and hash(lead.email_key) in self.emails:
            return True
        value = lead.custom.get(key) if key else None
        if value not in (None, "") and hash(str(value)) in self.keys:
            return True
        had_email = self.phones.get(hash(lead.phone)) if lead.phone else None
        return had_email is not None and not (lead.email_key and had_email)

    def remember(self, lead: Lead, key: str | None) -> None:
        if lead.email_key:
            self.emails.add(hash(lead.email_key))
        value = lead.custom.get(key) if key else None
        if value not in (None, ""):
            self.keys.add(hash(str(value)))
        if lead.phone:
            self.phones[hash(lead.phone)] = self.phones.get(hash(lead.phone), False) or bool(lead.email_key)


class OwnerFinder:
    """Find owners named in a file by username or email, once each."""

    def __init__(self) -> None:
        self.found: dict[str, User | None] = {}

    def find(self, value: str) -> User | None:
        name = value.strip().casefold()
        if name not in self.found:
            if len(self.found) >= MAX_OWNER_LOOKUPS:
                self.found.clear()
            self.found[name] = (
                User.objects.filter(is_active=True).filter(Q(username__iexact=name) | Q(email__iexact=name)).first()
            )
        return self.found[name]
