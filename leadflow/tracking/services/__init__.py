"""Website visits: store page views in bulk, join a visitor to a lead, and put their sessions on its timeline."""

from leadflow.tracking.services.collect import record_page_views
from leadflow.tracking.services.sites import add_site
from leadflow.tracking.services.stitching import (
    erase_visits,
    identify_visitor,
    live_lead,
    record_visitor_sessions,
    schedule_sessions,
)

__all__ = [
    "add_site",
    "erase_visits",
    "identify_visitor",
    "live_lead",
    "record_page_views",
    "record_visitor_sessions",
    "schedule_sessions",
]
