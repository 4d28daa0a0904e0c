"""Raw emails as mail clients and servers write them."""

from __future__ import annotations


def reply(
    to_message_id: str,
    *,
    sender="dana@example.com",
    subject="Re: Hello",
    extra="",
    body="Yes, let's talk on Tuesday.",
    message_id="<reply-1@client.example>",
) -> bytes:
    return (
        f"From: Dana <{sender}>\r\nTo: replies@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nIn-Reply-To: {to_message_id}\r\nReferences: {to_message_id}\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\nOn Mon, Nov 23, 2026 Leadflow wrote:\r\n> Hello\r\n"
    ).encode()


def out_of_office(to_message_id: str) -> bytes:
    return reply(
        to_message_id,
        subject="Automatic reply: Hello",
        extra="Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
        body="I am out of the office until Monday.",
        message_id="<ooo-1@client.example>",
    )


def bounce_report(original_message_id: str, *, status="5.1.1", action="failed") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: replies@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.net>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; gone@example.com\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: leadflow@localhost\r\nTo: gone@example.com\r\nSubject: Hello\r\n"
        f"Message-ID: {original_message_id}\r\n\r\n"
        "--B--\r\n"
    ).encode()


def unsubscribe_mail(subject: str, *, sender="dana@example.com", to="leadflow@localhost") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <unsub-1@client.example>\r\n"
        "Content-Type: text/plain\r\n\r\n\r\n"
    ).encode()
