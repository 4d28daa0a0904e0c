"""Save a column mapping by name, to be offered again for files with the same columns."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from leadflow.imports.access import is_admin
from leadflow.imports.mapping import Mapping, MappingError, check_mapping, headers_signature
from leadflow.imports.models import ImportMapping
from leadflow.leads.fields import clean_text


def save_mapping(*, name: str, mapping: Mapping, headers: Sequence[str], actor) -> ImportMapping:
    """Save `mapping` as `name`, replacing a mapping of that name its author (or an admin) saved before."""
    try:
        name = clean_text(name, limit=80)
    except ValueError as error:
        raise MappingError(f"The mapping's name {error}") from error
    if not name:
        raise MappingError("Give the mapping a name.")
    admin = is_admin(actor)
    check_mapping(mapping, headers, admin=admin)
    with transaction.atomic():
        saved = ImportMapping.objects.select_for_update().filter(name=name).first()
        if saved is not None and not admin and saved.created_by_id != getattr(actor, "pk", None):
            raise MappingError(f"A mapping called “{name}” exists already and is someone else's; pick another name.")
        saved = saved or ImportMapping(name=name, created_by=actor)
        saved.signature = headers_signature(headers)
        saved.headers = list(headers)
        saved.spec = mapping.as_json()
        saved.by_admin = admin
        saved.updated_at = timezone.now()
        saved.save()
    return saved
