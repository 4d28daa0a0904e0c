import pytest

from tests.mail.imap import Dovecot


@pytest.fixture
def imap_server(settings):
    """A real Dovecot IMAP server on loopback; Leadflow's mailbox settings point at it."""
    from tests.mail.imap import PASSWORD, USER

    server = Dovecot().start()
    settings.LEADFLOW_IMAP_HOST = "127.0.0.1"
    settings.LEADFLOW_IMAP_PORT = server.port
    settings.LEADFLOW_IMAP_USER = USER
    settings.LEADFLOW_IMAP_PASSWORD = PASSWORD
    settings.LEADFLOW_IMAP_SSL = False
    settings.LEADFLOW_IMAP_FOLDER = "INBOX"
    yield server
    server.stop()


@pytest.fixture
def exits(monkeypatch):
    """The sequence exits mail asks nurture for, as (lead_id, reason)."""
    calls: list[tuple[int, str]] = []

    def exit_lead(*, lead_id: int, reason: str) -> int:
        calls.append((lead_id, reason))
        return 1

    monkeypatch.setattr("leadflow.nurture.services.exit_lead", exit_lead)
    return calls


@pytest.fixture
def notices(monkeypatch):
    """The notifications mail asks routing to give, as dicts."""
    calls: list[dict] = []

    def notify(**kwargs) -> None:
        calls.append(kwargs)

    monkeypatch.setattr("leadflow.routing.services.notify", notify)
    return calls
