"""Who may import, and who may map the columns that decide whose a lead is and which lead a row updates."""

from __future__ import annotations

from leadflow.accounts.models import Role

IMPORTER_ROLES = frozenset({Role.ADMIN, Role.MARKETING, Role.MANAGER})


def may_import(user) -> bool:
    """Admins, marketing and sales managers import files; sales reps do not."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role in IMPORTER_ROLES


def is_admin(user) -> bool:
    """Return True for an admin, or for nobody in particular: the operator running the command line."""
    return user is None or user.is_admin
