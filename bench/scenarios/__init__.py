"""The scenarios, by name; each module has NAME, DESCRIPTION, DATABASE and run(ctx)."""

from __future__ import annotations

from types import ModuleType

from bench.scenarios import (
    api_create,
    collector,
    dedupe_check,
    form_submit,
    generate,
    import_1m,
    import_xeducation,
    lead_page,
    list_page,
)

SCENARIOS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        generate,
        list_page,
        lead_page,
        dedupe_check,
        api_create,
        collector,
        form_submit,
        import_xeducation,
        import_1m,
    )
}
