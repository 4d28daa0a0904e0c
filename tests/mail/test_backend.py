"""The SMTP backend that holds back the final dot of DATA until the caller has committed."""

import time

import pytest
from django.core.mail import EmailMultiAlternatives

from leadflow.mail.backend import EmailBackend


def _message() -> EmailMultiAlternatives:
    message = EmailMultiAlternatives("Hi", "text", "from@example.com", ["to@example.com"])
    message.attach_alternative("<p>html</p>", "text/html")
    return message


def test_before_dot_runs_while_the_server_still_waits_for_the_end_of_data(smtp_server):
    seen_by_server = []
    backend = EmailBackend(before_dot=lambda message: seen_by_server.append(len(smtp_server.received)))
    assert backend.send_messages([_message()]) == 1
    assert seen_by_server == [0]
    assert len(smtp_server.received) == 1


def test_a_failure_before_the_dot_sends_nothing(smtp_server):
    def crash(message):
        raise RuntimeError("the commit failed")

    with pytest.raises(RuntimeError, match="the commit failed"):
        EmailBackend(before_dot=crash).send_messages([_message()])
    time.sleep(0.3)
    assert smtp_server.received == []
    assert EmailBackend().send_messages([_message()]) == 1
