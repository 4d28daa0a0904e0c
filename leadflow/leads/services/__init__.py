"""Every change to a lead worth a timeline entry: views, API, importer and workers call these."""

from leadflow.leads.services.merge import merge_leads, undo_merge
from leadflow.leads.services.privacy import erase_lead, export_lead_data, is_erased_identity
from leadflow.leads.services.records import (
    RecordResult,
    add_note,
    assign_owner,
    bulk_assign,
    bulk_change_stage,
    change_stage,
    log_call,
    record_lead,
    update_lead,
)
from leadflow.leads.services.stages import BulkMoveResult, QualificationIncomplete, TransitionNotAllowed

__all__ = [
    "BulkMoveResult",
    "QualificationIncomplete",
    "RecordResult",
    "TransitionNotAllowed",
    "add_note",
    "assign_owner",
    "bulk_assign",
    "bulk_change_stage",
    "change_stage",
    "erase_lead",
    "export_lead_data",
    "is_erased_identity",
    "log_call",
    "merge_leads",
    "record_lead",
    "undo_merge",
    "update_lead",
]
