"""DATABASE_URL: what the URL says reaches the connection, beside Leadflow's own connection options."""

from __future__ import annotations

from leadflow import settings


def test_options_in_the_url_are_kept_beside_prepared_statements(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://crm:secret@db.example:5433/leads?sslmode=require")
    monkeypatch.delenv("LEADFLOW_DB_PREPARED_STATEMENTS", raising=False)
    config = settings._database()
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "leads")
    assert config["OPTIONS"] == {"sslmode": "require", "prepare_threshold": settings.PREPARE_AFTER_RUNS}


def test_prepared_statements_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://crm@db.example/leads")
    monkeypatch.setenv("LEADFLOW_DB_PREPARED_STATEMENTS", "false")
    assert "prepare_threshold" not in settings._database().get("OPTIONS", {})
