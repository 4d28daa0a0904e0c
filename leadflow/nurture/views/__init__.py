"""Nurture pages: templates, sequences, enrollment, auto-replies and the lead card."""

from leadflow.nurture.views.lead import lead_panel  # noqa: F401
