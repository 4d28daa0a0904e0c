"""Every change an import makes: keep a file, save a mapping, run (or dry-run) an import, undo it."""

from leadflow.imports.services.files import register_path, store_upload
from leadflow.imports.services.mappings import save_mapping
from leadflow.imports.services.run import is_stalled, resume_import, run_import, run_import_job, start_import
from leadflow.imports.services.undo import may_undo, run_undo, start_undo

__all__ = [
    "is_stalled",
    "may_undo",
    "register_path",
    "resume_import",
    "run_import",
    "run_import_job",
    "run_undo",
    "save_mapping",
    "start_import",
    "start_undo",
    "store_upload",
]
