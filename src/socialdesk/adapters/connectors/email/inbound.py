"""Mail from the mailbox, in the desk's terms: one IMAP message becomes one normalised message.

What is kept, and why:
- `external_id` is the Message-ID without its angle brackets, because customers' mail clients
  answer by naming it in In-Reply-To and References; intake threads (and dedupes a re-read after a
  UIDVALIDITY change) on exactly that. A mail without one gets `sha256:<hex of its bytes>`, stable
  across re-reads of the same stored mail.
- Ids longer than the database column (255) are replaced by the same kind of hash wherever they
  appear (Message-ID, In-Reply-To, References), so threading still matches.
- The text is the text/plain part; an HTML-only mail is turned into readable text (no scripts,
  styles or head; block elements and <br> as line breaks; entities unescaped). Text over 64 KiB
  (intake's limit, which would refuse the whole poll) is cut with a visible marker, never dropped.
- `raw` is the headers as JSON, not the whole mail: attachments stay in the mailbox.

Mail that needs no answer is counted and skipped: our own mail ("echo": a copy of a reply the
outbox already stored, or a BCC to ourselves) and automatic mail ("auto_reply": out-of-office
answers, bounces, bulk and list mail), which would otherwise open a conversation per vacation
notice and, worse, invite our auto-acknowledgement to answer it in a loop (RFC 3834).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any

from imap_tools import MailMessage

from socialdesk.domain.connectors import Delivery
from socialdesk.domain.messages import Author, MessageKind, NormalisedMessage, Visibility
from socialdesk.domain.text import MAX_TEXT_BYTES

MAX_ID = 255  # messages.external_id / in_reply_to columns
MAX_SUBJECT = 500
MAX_NAME = 200
MAX_ADDRESS = 320  # identities.external_id
MAX_HEADERS = 200  # kept in `raw`
MAX_HEADER_VALUE = 2000
MAX_REFERENCES = 50
AUTOMATIC_SENDERS = {"mailer-daemon", "postmaster"}
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
CUT_MARKER = (
    "\n\n[… cut by the desk: this e-mail's text is {size:,} bytes and the desk keeps the first "
    "{kept:,}. The whole mail is still in the mailbox (folder {folder}, UID {uid}).]"
)


class RawMailMessage(MailMessage):
    """imap-tools' message that also keeps the bytes the server sent: the fallback id of a mail
    without a Message-ID is a hash of them, so it is the same on every read."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw_bytes: bytes = self._get_message_data_parts(fetch_data)[0]


def take(
    delivery: Delivery,
    channel_id: int,
    own_address: str | None,
    mail: MailMessage,
    *,
    folder: str,
    uidvalidity: int,
) -> None:
    """Add the mail to the delivery as a message, or count why it was skipped."""
    sender = (mail.from_values.email if mail.from_values else "").strip().lower()
    if not sender or "@" not in sender or len(sender) > MAX_ADDRESS:
        delivery.ignore("no_sender")
        return
    if own_address and sender == own_address.lower():
        delivery.ignore("echo")
        return
    if is_automatic(mail, sender):
        delivery.ignore("auto_reply")
        return
    delivery.messages.append(normalise(channel_id, mail, folder=folder, uidvalidity=uidvalidity))


def normalise(
    channel_id: int, mail: MailMessage, *, folder: str, uidvalidity: int
) -> NormalisedMessage:
    """One mail as a private e-mail message from its sender."""
    assert mail.from_values is not None
    sender = mail.from_values.email.strip().lower()
    uid = int(mail.uid) if mail.uid else None
    ids = message_ids(_first(mail, "message-id"))
    external_id = ids[0] if ids else _hash_id(_raw_bytes(mail))
    replied = message_ids(_first(mail, "in-reply-to"))
    references = tuple(
        _dedupe(message_ids(" ".join(map(str, mail.obj.get_all("references") or []))))
    )
    attachments = [clean(a.filename) for a in mail.attachments if a.filename]
    text, cut = mail_text(mail, attachments)
    if cut is not None:
        text = cut_text(text, folder=folder, uid=uid)
    meta: dict[str, Any] = {
        "from": _address(mail.from_values.name, sender),
        "to": [_address(a.name, a.email) for a in mail.to_values],
        "cc": [_address(a.name, a.email) for a in mail.cc_values],
        "attachments": attachments,
        "imap": {"folder": folder, "uidvalidity": uidvalidity, "uid": uid},
    }
    if mail.reply_to_values:
        meta["reply_to"] = [_address(a.name, a.email) for a in mail.reply_to_values]
    if cut is not None:
        meta["cut"] = True
        meta["original_bytes"] = len(cut)
    name = clean(mail.from_values.name)[:MAX_NAME] or None
    subject = one_line(clean(mail.subject))[:MAX_SUBJECT] or None
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=external_id,
        text=text,
        created_at=mail_date(_first(mail, "date")),
        kind=MessageKind.EMAIL,
        visibility=Visibility.PRIVATE,
        author=Author(external_id=sender, name=name, email=sender),
        in_reply_to=replied[0] if replied else None,
        references=references[-MAX_REFERENCES:],
        subject=subject,
        meta=meta,
        raw=header_record(mail, folder=folder, uidvalidity=uidvalidity, uid=uid),
    )


# -- automatic mail ---------------------------------------------------------------------------


def is_automatic(mail: MailMessage, sender: str) -> bool:
    """RFC 3834 Auto-Submitted, the older Precedence and X-Autoreply conventions, bounce senders
    and delivery reports: mail no person wrote and nobody should answer."""
    submitted = _first(mail, "auto-submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return True
    if _first(mail, "precedence").strip().lower() in BULK_PRECEDENCE:
        return True
    for header in ("x-autoreply", "x-autorespond"):
        value = _first(mail, header).strip().lower()
        if header in mail.obj and value != "no":
            return True
    if sender.split("@", 1)[0] in AUTOMATIC_SENDERS:
        return True
    return mail.obj.get_content_type() == "multipart/report"


# -- text -------------------------------------------------------------------------------------


def mail_text(mail: MailMessage, attachments: Sequence[str]) -> tuple[str, bytes | None]:
    """The mail's readable text and, when it is over intake's limit, its full UTF-8 bytes (the
    caller cuts it)."""
    text = clean(mail.text)
    if not text.strip() and mail.html:
        text = clean(html_to_text(mail.html))
    text = _tidy(text)
    if not text:
        text = f"(no text; attachments: {', '.join(attachments)})" if attachments else "(no text)"
    encoded = text.encode("utf-8")
    return text, encoded if len(encoded) > MAX_TEXT_BYTES else None


def cut_text(text: str, *, folder: str, uid: int | None) -> str:
    """The start of a text too long to store, with a marker saying it was cut and where the rest
    is: an agent must never answer a mail believing they read all of it."""
    encoded = text.encode("utf-8")
    where = {"size": len(encoded), "folder": folder, "uid": uid if uid else "?"}
    longest = CUT_MARKER.format(kept=MAX_TEXT_BYTES, **where)
    room = MAX_TEXT_BYTES - len(longest.encode("utf-8"))
    kept = encoded[:room].decode("utf-8", "ignore").rstrip()
    return kept + CUT_MARKER.format(kept=len(kept.encode("utf-8")), **where)


class _TextFromHtml(HTMLParser):
    """Readable text from HTML mail: what a person sees, not markup or code.

    Script, style, head and the like are dropped with their content; block elements and <br>
    become line breaks, list items get a dash, links keep their address when it differs from
    their text; runs of white space collapse as a browser would, except in <pre>.
    """

    DROP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object"})
    BLOCK = frozenset(
        {
            "p", "div", "section", "article", "header", "footer", "main", "aside", "nav",
            "blockquote", "pre", "table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "dl",
            "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "figure",
            "figcaption", "form", "fieldset", "center",
        }
    )  # fmt: skip
    VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping: list[str] = []
        self.pre = 0
        self.links: list[tuple[str | None, int]] = []  # href, where its text starts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DROP:
            if tag not in self.VOID:
                self.dropping.append(tag)
            return
        if self.dropping:
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in self.BLOCK:
            self.parts.append("\n\n" if tag in ("p", "blockquote", "table") else "\n")
            if tag == "pre":
                self.pre += 1
        if tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":  # <a/> has no text
            return
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and tag in self.DROP and self.dropping:
            self.dropping.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag == self.dropping[-1]:
                self.dropping.pop()
            elif tag in self.dropping:
                while self.dropping and self.dropping.pop() != tag:
                    pass
            return
        if tag == "a" and self.links:
            self._close_link(*self.links.pop())
        elif tag in self.BLOCK:
            self.parts.append("\n\n" if tag in ("p", "blockquote", "table") else "\n")
            if tag == "pre" and self.pre:
                self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.dropping:
            return
        self.parts.append(data if self.pre else re.sub(r"[ \t\r\n\f]+", " ", data))

    def _close_link(self, href: str | None, start: int) -> None:
        label = "".join(self.parts[start:])
        target = (href or "").strip()
        web = target.lower().startswith(("http://", "https://"))
        if web and label.strip() and target not in label:
            self.parts.append(f" ({target})")

    def text(self) -> str:
        return "".join(self.parts)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (stdlib parser: no dependency, no network, no script run)."""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # the parser gives up on some broken markup
        return _tidy(re.sub(r"<[^>]*>", " ", unescape(html)))
    return _tidy(parser.text())


def _tidy(text: str) -> str:
    """Line breaks as \\n, no trailing blanks, at most one empty line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(line.lstrip(" ") if not line.startswith("  ") else line for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# -- headers ----------------------------------------------------------------------------------


def message_ids(value: str | None) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, without angle brackets, in
    order. A bare id without brackets (some old clients) is taken as it is."""
    if not value:
        return []
    found = MESSAGE_ID.findall(value)
    if not found:
        bare = value.strip()
        found = [bare] if bare and not re.search(r"\s", bare) else []
    return [_fit_id(clean(i)) for i in found if clean(i)]


def _fit_id(value: str) -> str:
    return value if len(value.encode("utf-8")) <= MAX_ID else _hash_id(value.encode("utf-8"))


def _hash_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def mail_date(value: str) -> datetime | None:
    """The Date header as aware UTC; None (intake uses the time it arrived) when unreadable."""
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": a time in UTC with no zone known (RFC 5322 3.3)
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def header_record(
    mail: MailMessage, *, folder: str, uidvalidity: int, uid: int | None
) -> dict[str, Any]:
    """What the raw event log keeps of a mail: where it is and its headers, decoded to text."""
    headers: list[list[str]] = []
    for name, value in mail.obj.items()[:MAX_HEADERS]:
        headers.append([clean(str(name)), decode_text(str(value))[:MAX_HEADER_VALUE]])
    return {
        "source": "imap",
        "folder": folder,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "size": len(_raw_bytes(mail)),
        "headers": headers,
    }


def decode_text(value: str) -> str:
    """A header value as text: encoded words decoded, folding undone."""
    try:
        decoded = str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, TypeError):
        decoded = value
    return one_line(clean(decoded))


def one_line(value: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", value).strip()


def clean(value: str | None) -> str:
    """Text the database can hold: no NUL, no unpaired surrogates (the email package keeps
    undecodable header bytes as surrogate escapes)."""
    if not value:
        return ""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _first(mail: MailMessage, name: str) -> str:
    values = mail.obj.get_all(name) or []
    return str(values[0]) if values else ""


def _address(name: str | None, address: str) -> str:
    name, address = one_line(clean(name)), clean(address)
    return f"{name} <{address}>" if name else address


def _raw_bytes(mail: MailMessage) -> bytes:
    raw = getattr(mail, "raw_bytes", None)
    if isinstance(raw, bytes):
        return raw
    return mail.obj.as_bytes()


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
