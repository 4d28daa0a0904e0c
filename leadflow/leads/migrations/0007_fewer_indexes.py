"""Fewer indexes to write with every new lead and event.

- A lead's owner and team had an index each, besides (owner, created_at),
  (owner, touch_due_at) and (team, owner), which serve every look-up by owner or
  team as well: both are dropped.
- An event's lead had an index besides (lead, occurred_at, id): dropped.
- Merged leads are a handful; the index of where they were merged into now holds
  only those, so other leads are not written to it at all.

The fields change only in Django's state (db_index=False); in the database the
indexes are dropped by name, as the introspection finds them. Altering the fields
through the schema editor would copy the whole table on SQLite.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (model, column) whose own single-column index goes.
DROPPED = (("lead", "owner_id"), ("lead", "team_id"), ("lead", "merged_into_id"), ("timelineevent", "lead_id"))


def _single_column_indexes(schema_editor, table: str, column: str) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
    ]


def drop(apps, schema_editor):
    for model_name, column in DROPPED:
        model = apps.get_model("leads", model_name)
        for name in _single_column_indexes(schema_editor, model._meta.db_table, column):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))


def restore(apps, schema_editor):
    for model_name, column in DROPPED:
        model = apps.get_model("leads", model_name)
        field = next(field for field in model._meta.concrete_fields if field.column == column)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("leads", "0006_list_query_planning"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
                    name="merged_into",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="merged_leads",
                        to="leads.lead",
                    ),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="owned_leads",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="leads",
                        to="accounts.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="timelineevent",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="leads.lead",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, restore)],
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)), fields=["merged_into"], name="lead_merged_into"
            ),
        ),
    ]
