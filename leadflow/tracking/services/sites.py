"""The websites that carry the tracking snippet."""

from __future__ import annotations

from leadflow.tracking.models import Site
from leadflow.tracking.queries import forget_cached_sites


def add_site(*, name: str, origins: list[str], require_consent: bool = True) -> Site:
    """Add a website that may send page views from `origins`."""
    site = Site(name=name, origins="\n".join(origins), require_consent=require_consent)
    site.full_clean()
    site.save()
    forget_cached_sites()
    return site
