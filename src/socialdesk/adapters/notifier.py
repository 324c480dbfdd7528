"""Escalations by webhook (a signed JSON POST) and by e-mail (SMTP).

The webhook body is signed like the transactions webhook the desk receives: headers
`X-Socialdesk-Timestamp` and `X-Socialdesk-Signature: sha256=<hex HMAC-SHA256 of
"{timestamp}.{body}">` keyed with SOCIALDESK_NOTIFY_SIGNING_SECRET, so the receiver can check it
came from the desk. E-mail goes through the SMTP server in SOCIALDESK_SMTP_URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import httpx2

from socialdesk.domain.connectors import SendError
from socialdesk.domain.notifications import EMAIL, Notification

TIMEOUT = httpx2.Timeout(10.0, connect=5.0)


class WebhookAndMailNotifier:
    def __init__(
        self,
        *,
        signing_secret: str | None,
        smtp_url: str | None,
        mail_from: str,
        client: httpx2.Client | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.smtp_url = smtp_url
        self.mail_from = mail_from
        self.http = client or httpx2.Client(timeout=TIMEOUT, follow_redirects=False)

    def send(self, notification: Notification) -> None:
        if notification.kind == EMAIL:
            self._mail(notification)
        else:
            self._post(notification)

    def close(self) -> None:
        self.http.close()

    def _post(self, notification: Notification) -> None:
        body = json.dumps(notification.payload, separators=(",", ":")).encode("utf-8")
        headers = {"content-type": "application/json", "user-agent": "socialdesk-notify"}
        if self.signing_secret:
            stamp = str(int(time.time()))
            digest = hmac.new(
                self.signing_secret.encode("utf-8"), f"{stamp}.".encode() + body, hashlib.sha256
            ).hexdigest()
            headers["x-socialdesk-timestamp"] = stamp
            headers["x-socialdesk-signature"] = f"sha256={digest}"
        where = f"the {notification.target} webhook"
        try:
            response = self.http.post(notification.destination, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise SendError(f"{where}: {exc}", retryable=True) from exc
        if response.status_code == 429 or response.status_code >= 500:
            after = response.headers.get("retry-after", "")
            raise SendError(
                f"{where} answered {response.status_code}",
                retryable=True,
                retry_after=float(after) if after.isdigit() else None,
            )
        if response.status_code >= 400:
            raise SendError(f"{where} refused it with {response.status_code}", retryable=False)

    def _mail(self, notification: Notification) -> None:
        if not self.smtp_url:
            raise SendError(
                "e-mail escalations need SOCIALDESK_SMTP_URL (smtp://user:password@host:587)",
                retryable=False,
            )
        url = urlsplit(self.smtp_url)
        payload = notification.payload
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = notification.destination
        message["Subject"] = str(payload.get("subject") or f"socialdesk: {notification.target}")
        message.set_content(str(payload.get("text") or json.dumps(payload, indent=2)))
        try:
            smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
            with smtp_class(url.hostname or "localhost", url.port or 25, timeout=10) as smtp:
                if url.scheme == "smtp+starttls":
                    smtp.starttls()
                if url.username:
                    smtp.login(unquote(url.username), unquote(url.password or ""))
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                f"the mail server refused the escalation to {notification.destination}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                retryable=400 <= exc.smtp_code < 500,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"sending the escalation e-mail: {exc}", retryable=True) from exc


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
