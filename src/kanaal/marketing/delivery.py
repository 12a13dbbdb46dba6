"""Outbox delivery for email (real SMTP) and SMS (generic HTTP provider or a local file)."""

from __future__ import annotations

import asyncio
import json
import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

import httpx

from kanaal.config import Settings
from kanaal.core.outbox import OutboxMessage


class EmailSender:
    """Sends outbox email messages through the configured SMTP server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self, message: OutboxMessage) -> EmailMessage:
        """The MIME message, with one-click unsubscribe headers (RFC 8058)."""
        payload = message.payload
        # Long unsubscribe URLs have no place to fold: allow RFC 5322's 998-character lines
        # rather than turning the header into encoded words that mail clients cannot click.
        mail = EmailMessage(policy=SMTP.clone(max_line_length=998))
        mail["From"] = self.settings.smtp_from
        mail["To"] = payload["to"]
        mail["Subject"] = payload["subject"]
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(idstring=message.id)
        mail["Kanaal-Message-Id"] = message.id
        if payload.get("unsubscribe_url"):
            mail["List-Unsubscribe"] = f"<{payload['unsubscribe_url']}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(payload["body"])
        return mail

    def _send(self, message: OutboxMessage) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise RuntimeError("KANAAL_SMTP_HOST is not set; the email stays queued")
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(self.build(message))

    async def send(self, message: OutboxMessage) -> None:
        """Deliver one message (raises on failure so the outbox retries)."""
        await asyncio.to_thread(self._send, message)


class SmsSender:
    """Sends outbox SMS messages to the configured provider."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: OutboxMessage) -> None:
        """POST {"id", "to", "body"} to the provider URL, or append it to the local file."""
        provider = self.settings.sms_provider
        record = {"id": message.id, "to": message.payload["to"], "body": message.payload["body"]}
        if not provider:
            raise RuntimeError("KANAAL_SMS_PROVIDER is not set; the SMS stays queued")
        if provider == "file":
            path = self.settings.data_dir / "sms-outbox.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            return
        headers = {"Idempotency-Key": message.id}
        token = self.settings.sms_provider_token
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(provider, json=record, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"SMS provider answered HTTP {response.status_code}")
