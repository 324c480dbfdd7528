"""Sending a reply as an e-mail over SMTP (stdlib smtplib and email.message).

The reply answers the customer's mail the way mail clients expect: `In-Reply-To` the customer's
Message-ID, `References` the thread so far, `Subject` "Re: …". Its Message-ID is derived from the
outbox's idempotency key (`<sha256(key)[:32]@domain of from_address>`), so every attempt of one
reply is the same mail: the desk records it as the reply's platform id (the customer's answer,
which names it in In-Reply-To, joins the conversation), `find_sent` can look for it in the Sent
folder, and where a retry after an unknown outcome does send it twice, mail clients and many
servers show one message, because they drop duplicates by Message-ID.

The envelope is sent step by step (MAIL, RCPT, DATA) so a failure is known to have happened
before or after the message went: SMTP 4xx answers, refused connections and timeouts before DATA
are retried; 5xx answers and refused recipients fail the reply at once with the server's words; a
connection lost during DATA may have delivered the mail, so it is retried as `maybe_posted`.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from contextlib import suppress
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime

from socialdesk.domain.connectors import OutboundReply, SendError

TIMEOUT = 30.0
DEFAULT_SUBJECT = "Re: your message"
MAX_REFERENCES = 20  # RFC 5322 3.6.4: keep the first and the latest when a thread grows long


@dataclass(frozen=True, slots=True)
class SmtpAccount:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT

    @property
    def where(self) -> str:
        return f"SMTP {self.host}:{self.port}"


def message_id(idempotency_key: str, from_address: str) -> str:
    """The reply's Message-ID without angle brackets: the same for every attempt of one reply."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"{digest}@{from_address.rsplit('@', 1)[-1].lower()}"


def build(
    reply: OutboundReply, *, from_address: str, from_name: str | None, msg_id: str
) -> EmailMessage:
    """The reply as a plain-text e-mail that threads under the customer's mail."""
    recipient = _address(reply.recipient_id, "the customer's e-mail address")
    sender = _address(from_address, "from_address")
    message = EmailMessage()
    message["From"] = str(Address(display_name=_one_line(from_name or ""), addr_spec=sender))
    message["To"] = recipient
    message["Subject"] = _one_line(reply.subject or "") or DEFAULT_SUBJECT
    message["Date"] = format_datetime(reply.created_at)
    message["Message-ID"] = f"<{msg_id}>"
    references = [r for r in reply.references if _usable_id(r)]
    if reply.in_reply_to and _usable_id(reply.in_reply_to):
        message["In-Reply-To"] = f"<{reply.in_reply_to}>"
        if reply.in_reply_to not in references:
            references.append(reply.in_reply_to)
    if references:
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
        message["References"] = " ".join(f"<{r}>" for r in references)
    message.set_content(reply.text, charset="utf-8")
    return message


def send(account: SmtpAccount, message: EmailMessage, sender: str, recipient: str) -> str:
    """Hand the message to the server; its answer to the data (often with a queue id)."""
    international = not (sender.isascii() and recipient.isascii())
    payload = message.as_bytes(policy=SMTPUTF8 if international else SMTP)
    stage = "connect"
    client: smtplib.SMTP | None = None
    try:
        client = _connect(account)
        stage = "greeting"
        client.ehlo_or_helo_if_needed()
        if account.security == "starttls":
            if not client.has_extn("starttls"):
                raise SendError(
                    f"{account.where} does not offer STARTTLS; set smtp_security to ssl (port "
                    "465) or, only on a trusted network, none",
                    retryable=False,
                )
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if account.username:
            stage = "login"
            client.login(account.username, account.password or "")
        options: list[str] = []
        if international:
            if not client.has_extn("smtputf8"):
                raise SendError(
                    f"{account.where} does not accept non-ASCII addresses (no SMTPUTF8)",
                    retryable=False,
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        stage = "envelope"
        code, words = client.mail(sender, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, words, sender)
        code, words = client.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, words)})
        stage = "data"
        code, words = client.data(payload)
        if code != 250:
            raise smtplib.SMTPDataError(code, words)
        return _text(words)
    except SendError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        code, words = next(iter(exc.recipients.values()))
        raise _refusal(account, code, words, f"the recipient {recipient} was refused") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise _refusal(
            account,
            exc.smtp_code,
            exc.smtp_error,
            f"login refused for {account.username} (check smtp_username and smtp_password)",
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(
            f"{account.where}: {exc}; the server may offer login only after TLS "
            "(smtp_security=starttls or ssl)",
            retryable=False,
        ) from exc
    except smtplib.SMTPResponseException as exc:
        what = "the message was refused" if stage == "data" else f"refused at {stage}"
        raise _refusal(account, exc.smtp_code, exc.smtp_error, what) from exc
    except ssl.SSLCertVerificationError as exc:
        raise SendError(
            f"{account.where}: the server's TLS certificate is not trusted ({exc.verify_message})",
            retryable=False,
        ) from exc
    except OSError as exc:  # smtplib's other errors, socket errors and timeouts
        lost = stage == "data"  # the server may have taken the mail before the line went
        reason = _describe(exc)
        raise SendError(
            f"{account.where}: {reason} "
            + ("while sending the message; it may have been delivered" if lost else f"({stage})"),
            retryable=True,
            maybe_posted=lost,
        ) from exc
    finally:
        if client is not None:
            _close(client)


def _connect(account: SmtpAccount) -> smtplib.SMTP:
    if account.security == "ssl":
        return smtplib.SMTP_SSL(
            account.host,
            account.port,
            timeout=account.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(account.host, account.port, timeout=account.timeout)


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except Exception:  # already broken: just let go of the socket
        with suppress(Exception):
            client.close()


def _refusal(account: SmtpAccount, code: int, words: bytes | str, what: str) -> SendError:
    """4xx: try again later; 5xx (and anything else final): fail now with the server's words."""
    text = _text(words)
    return SendError(
        f"{account.where}: {what}: {code} {text}".rstrip(),
        retryable=400 <= code < 500 or code < 0,
        status=code,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return f"the host name cannot be resolved ({exc.strerror})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc}); check smtp_security and smtp_port"
    return f"{type(exc).__name__}: {exc}"


def _text(words: bytes | str) -> str:
    return (words.decode("utf-8", "replace") if isinstance(words, bytes) else words).strip()


def _address(value: str | None, what: str) -> str:
    """A bare address to put in a header and the envelope; refused when it is not one (a CR or
    LF in it would let text become headers)."""
    address = (value or "").strip()
    if not address or "@" not in address or any(c in address for c in "\r\n<>,; \t"):
        raise SendError(f"{what} is not an e-mail address: {address!r}", retryable=False)
    return address


def _usable_id(value: str) -> bool:
    return (
        bool(value) and not value.startswith("sha256:") and value.isprintable() and " " not in value
    )


def _one_line(value: str) -> str:
    return " ".join(value.split())
