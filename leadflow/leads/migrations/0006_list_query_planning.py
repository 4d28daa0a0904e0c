"""PostgreSQL only: an index and planner statistics for the leads list at scale.

- `lead_name_sort` on (lower(last_name), id) serves the name sort and its cursor
  pages: equal last names are already in id order, so a page inside a run of
  thousands of "Smith"s starts at the cursor instead of sorting the whole run.
  It is built CONCURRENTLY, so capturing leads goes on while it builds.
- Statistics on the expressions `visible_to` filters by (the COALESCE of team and
  of owner, with owner and team together) tell the planner how many leads a manager
  or a rep sees; without them it guesses and may scan the whole table.
- ANALYZE fills them, and the new index's, at once, so an existing database plans
  with them straight away.

SQLite plans without such statistics; the list's queries are shaped for it instead
(see leads.queries), so nothing is done there.
"""

from django.db import migrations

NAME_SORT_INDEX = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_name_sort ON leads_lead (LOWER("last_name"), "id")'
STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS lead_team_or_none ON (COALESCE(team_id, 0)) FROM leads_lead",
    "CREATE STATISTICS IF NOT EXISTS lead_visible_to_rep (mcv)"
    " ON (COALESCE(owner_id, 0)), owner_id, team_id FROM leads_lead",
)


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(NAME_SORT_INDEX)
    for statement in STATISTICS:
        schema_editor.execute(statement)
    schema_editor.execute("ANALYZE leads_lead")


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP STATISTICS IF EXISTS lead_team_or_none, lead_visible_to_rep")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS lead_name_sort")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("leads", "0005_qualification_gate_and_reasons")]

    operations = [migrations.RunPython(add, remove)]
