from django.core.mail import send_mail


def test_django_hands_mail_to_the_loopback_smtp_server(smtp_server):
    send_mail("Hello", "Body text", "from@example.com", ["to@example.com"])
    assert len(smtp_server.received) == 1
    got = smtp_server.received[0]
    assert got.recipients == ["to@example.com"]
    assert got.message["Subject"] == "Hello"


def test_the_server_can_refuse_for_a_while(smtp_server):
    import smtplib

    import pytest

    smtp_server.answer_next("451 4.3.0 try again later")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_mail("Hello", "Body", "from@example.com", ["to@example.com"])
    assert refused.value.smtp_code == 451
    send_mail("Hello again", "Body", "from@example.com", ["to@example.com"])
    assert [r.message["Subject"] for r in smtp_server.received] == ["Hello again"]
