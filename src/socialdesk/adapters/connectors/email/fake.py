"""Local fake mail servers for tests and demos: SMTP (aiosmtpd) and a small IMAP4rev1 server.

Both listen on 127.0.0.1 on free ports, in background threads, and speak the real protocols, so
the connector is driven through imap-tools, imaplib and smtplib exactly as against a provider:

- SMTP keeps every accepted message (envelope and parsed headers), can require AUTH (without TLS:
  it is local), and can be told to fail the next N messages with a given code at RCPT or at the
  end of DATA (`fail_smtp(451)`), or to take a message and then drop the line without answering
  (`fail_smtp(stage="disconnect")`, a lost answer). With `sent_folder` it also files each
  accepted message in that IMAP folder, as Gmail does, so `find_sent` can be tested.
- IMAP answers what imaplib and imap-tools send: CAPABILITY, LOGIN (a wrong password gets NO),
  SELECT / EXAMINE (FLAGS, EXISTS, RECENT, UIDVALIDITY, UIDNEXT), STATUS, SEARCH / UID SEARCH (ALL,
  sequence and UID sets with RFC 3501's `n:*` rule, HEADER, SEEN / UNSEEN), FETCH / UID FETCH
  (UID, FLAGS, RFC822.SIZE, INTERNALDATE, BODY[], BODY.PEEK[], BODY[HEADER], BODY[TEXT], RFC822,
  bodies sent as `{n}` literals), NOOP, CLOSE, UNSELECT, LOGOUT. It records every fetch, so a test
  can check that nothing was read twice, and marks mail \\Seen only for a non-PEEK fetch in a
  folder opened read-write. `change_uidvalidity()` renumbers a folder as a rebuilt mailbox would.

Not for production: no TLS, no IDLE, no APPEND, passwords compared in the clear.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import re
import socket
import socketserver
import threading
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
IMAP_FLAGS = r"(\Answered \Flagged \Deleted \Seen \Draft)"
TOKEN = re.compile(
    rb'"(?:[^"\\]|\\.)*"'  # quoted string
    rb"|\{\d+\+?\}$"  # literal announcement, at the end of a line
    rb"|\((?:[^()]|\([^()]*\))*\)"  # parenthesised list (one level of nesting)
    rb"|[^\s()]+"  # atom, sequence set, BODY.PEEK[...]
)


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)
    internaldate: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Folder:
    uidvalidity: int
    next_uid: int = 1
    mails: list[StoredMail] = field(default_factory=list)


@dataclass(frozen=True)
class SentMail:
    """One message the fake SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    login: str | None

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return str(value) if value is not None else None

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return str(body.get_content()) if body is not None else ""


@dataclass
class SmtpFault:
    code: int
    message: str
    times: int
    stage: str  # rcpt | data | disconnect


@dataclass(frozen=True)
class Fetch:
    folder: str
    uid: int
    items: str


class FakeMailServer:
    """An SMTP and an IMAP server on 127.0.0.1 for one mailbox; use as a context manager."""

    def __init__(
        self,
        *,
        address: str = "support@acme.example",
        imap_username: str | None = None,
        imap_password: str = "imap-app-password",  # noqa: S107 - the fake's own test credential
        smtp_username: str | None = None,
        smtp_password: str | None = None,
        sent_folder: str | None = None,
    ) -> None:
        self.address = address
        self.imap_username = imap_username or address
        self.imap_password = imap_password
        self.smtp_username = smtp_username
        self.smtp_password = smtp_password
        self.sent_folder = sent_folder
        self.folders: dict[str, Folder] = {"INBOX": Folder(uidvalidity=1_700_000_001)}
        if sent_folder:
            self.folders[sent_folder] = Folder(uidvalidity=1_700_000_002)
        self.sent: list[SentMail] = []
        self.fetches: list[Fetch] = []
        self.logins: list[tuple[str, bool]] = []
        self.commands: list[str] = []
        self.smtp_faults: list[SmtpFault] = []
        self.imap_port = 0
        self.smtp_port = 0
        self._lock = threading.RLock()
        self._validity = itertools.count(1_700_000_100)
        self._queue_ids = itertools.count(1)
        self._imap: _ImapServer | None = None
        self._imap_thread: threading.Thread | None = None
        self._smtp: Controller | None = None
        self._connections: set[socket.socket] = set()

    # -- life -----------------------------------------------------------------------------

    def start(self) -> FakeMailServer:
        self._imap = _ImapServer((HOST, 0), _ImapHandler, self)
        self.imap_port = self._imap.server_address[1]
        self._imap_thread = threading.Thread(
            target=self._imap.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._imap_thread.start()
        self.smtp_port = _free_port()
        self._smtp = Controller(
            _SmtpHandler(self),
            hostname=HOST,
            port=self.smtp_port,
            authenticator=self._authenticate if self.smtp_username else None,
            auth_require_tls=False,  # offered without TLS; required by the MAIL hook instead
        )
        self._smtp.start()
        return self

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._imap is not None:
            with self._lock:
                for conn in list(self._connections):
                    with suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
            self._imap.shutdown()
            self._imap.server_close()  # joins the connection threads
            self._imap = None
        if self._imap_thread is not None:
            self._imap_thread.join(timeout=10)
            self._imap_thread = None

    def __enter__(self) -> FakeMailServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def settings(self, **overrides: str) -> dict[str, str]:
        """Channel settings that point the e-mail connector at this server."""
        values = {
            "imap_host": HOST,
            "imap_port": str(self.imap_port),
            "imap_security": "none",
            "imap_username": self.imap_username,
            "imap_password": self.imap_password,
            "smtp_host": HOST,
            "smtp_port": str(self.smtp_port),
            "smtp_security": "none",
        }
        if self.smtp_username:
            values["smtp_username"] = self.smtp_username
            values["smtp_password"] = self.smtp_password or ""
        if self.sent_folder:
            values["imap_sent_folder"] = self.sent_folder
        values.update(overrides)
        return values

    # -- what tests arrange ---------------------------------------------------------------

    def add_mail(self, raw: bytes | EmailMessage, folder: str = "INBOX") -> int:
        """Store a mail as delivered to the folder; its UID."""
        data = raw.as_bytes(policy=email.policy.SMTP) if isinstance(raw, EmailMessage) else raw
        with self._lock:
            box = self.folders.setdefault(folder, Folder(uidvalidity=next(self._validity)))
            uid = box.next_uid
            box.next_uid += 1
            box.mails.append(StoredMail(uid, data))
            return uid

    def deliver(self, folder: str = "INBOX", **fields: Any) -> str:
        """Compose a mail (see `compose`) and store it; its Message-ID without brackets (or ""
        when it has none)."""
        message = compose(**fields)
        self.add_mail(message, folder)
        return str(message["Message-ID"] or "").strip("<>")

    def change_uidvalidity(self, folder: str = "INBOX") -> int:
        """A new UIDVALIDITY, and every mail renumbered from 1, as after a mailbox rebuild."""
        with self._lock:
            box = self.folders[folder]
            box.uidvalidity = next(self._validity)
            for uid, mail in enumerate(box.mails, start=1):
                mail.uid = uid
            box.next_uid = len(box.mails) + 1
            return box.uidvalidity

    def fail_smtp(
        self, code: int = 451, message: str | None = None, *, times: int = 1, stage: str = "data"
    ) -> None:
        """Fail the next `times` messages: with `code` at RCPT or after DATA, or (stage
        "disconnect") take the message and drop the connection before answering."""
        if stage not in ("rcpt", "data", "disconnect"):
            raise ValueError(f"unknown stage {stage!r}")
        text = message or {4: "4.3.0 Try again later", 5: "5.7.1 Message rejected"}.get(
            code // 100, "Error"
        )
        with self._lock:
            self.smtp_faults.append(SmtpFault(code, text, times, stage))

    # -- what tests observe ---------------------------------------------------------------

    def fetched_uids(self, folder: str = "INBOX") -> list[int]:
        with self._lock:
            return [f.uid for f in self.fetches if f.folder == folder]

    def flags(self, uid: int, folder: str = "INBOX") -> set[str]:
        with self._lock:
            return next(set(m.flags) for m in self.folders[folder].mails if m.uid == uid)

    # -- inside ---------------------------------------------------------------------------

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.smtp_username
            and auth_data.password.decode() == (self.smtp_password or "")
        )
        return AuthResult(success=ok, auth_data=auth_data)

    def _take_fault(self, stage: str) -> SmtpFault | None:
        with self._lock:
            for fault in self.smtp_faults:
                if fault.stage == stage and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _accept(self, envelope: Envelope, login: str | None) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.sent.append(
                SentMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), raw, parsed, login)
            )
            queue_id = next(self._queue_ids)
        if self.sent_folder:
            self.add_mail(raw, self.sent_folder)
        return f"250 2.0.0 Ok: queued as FAKE{queue_id:06d}"


class _SmtpHandler:
    """aiosmtpd hooks: faults at RCPT and DATA, and the capture of what is accepted."""

    def __init__(self, owner: FakeMailServer) -> None:
        self.owner = owner

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # aiosmtpd's own auth_required warns when TLS is not required too; locally it is not
        if self.owner.smtp_username and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        fault = self.owner._take_fault("rcpt")
        if fault is not None:
            return f"{fault.code} {fault.message}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        fault = self.owner._take_fault("data")
        if fault is not None:
            return f"{fault.code} {fault.message}"
        login = session.auth_data
        user = login.login.decode() if isinstance(login, LoginPassword) else None
        answer = self.owner._accept(envelope, user)
        transport = server.transport
        if self.owner._take_fault("disconnect") is not None and transport is not None:
            assert isinstance(transport, asyncio.Transport)
            transport.abort()  # taken, but the client never hears so
        return answer


# -- IMAP -------------------------------------------------------------------------------------


class _ImapServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[socketserver.BaseRequestHandler],
        owner: FakeMailServer,
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _Bad(Exception):
    """A command the fake does not understand: answered BAD."""


class _ImapHandler(socketserver.StreamRequestHandler):
    """One IMAP connection: read tagged commands, answer them, until LOGOUT or EOF."""

    timeout = 30
    server: _ImapServer

    def setup(self) -> None:
        super().setup()
        self.owner = self.server.owner
        self.state = "nonauth"
        self.folder: str | None = None
        self.readonly = True
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        with suppress(OSError):
            super().finish()

    def handle(self) -> None:
        self.send(b"* OK Fake IMAP4rev1 server ready")
        while True:
            try:
                tokens = self.read_command()
            except (OSError, ValueError):
                return
            if tokens is None:
                return
            if len(tokens) < 2:
                self.send(b"* BAD empty command")
                continue
            tag, command, args = tokens[0], _text(tokens[1]).upper(), tokens[2:]
            with self.owner._lock:
                self.owner.commands.append(command)
            try:
                done = self.dispatch(tag, command, args)
            except _Bad as exc:
                self.send(tag + b" BAD " + str(exc).encode())
                continue
            except OSError:
                return
            if done:
                return

    # -- protocol ---------------------------------------------------------------------------

    def read_command(self) -> list[bytes] | None:
        """The tokens of one command; literals `{n}` are read (after a `+`) and kept as tokens."""
        tokens: list[bytes] = []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return None
            found = TOKEN.findall(line.rstrip(b"\r\n"))
            literal = re.fullmatch(rb"\{(\d+)(\+?)\}", found[-1]) if found else None
            if literal is None:
                tokens.extend(found)
                return tokens
            tokens.extend(found[:-1])
            if not literal.group(2):
                self.send(b"+ Ready for literal data")
            tokens.append(b'"' + self.rfile.read(int(literal.group(1))) + b'"')

    def send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")
        self.wfile.flush()

    def dispatch(self, tag: bytes, command: str, args: list[bytes]) -> bool:
        ok = tag + b" OK " + command.encode() + b" completed"
        if command == "CAPABILITY":
            self.send(b"* CAPABILITY IMAP4rev1 UIDPLUS UNSELECT")
            self.send(ok)
        elif command == "NOOP":
            self.send(ok)
        elif command == "LOGOUT":
            self.send(b"* BYE Fake IMAP server logging out")
            self.send(ok)
            return True
        elif command == "LOGIN":
            if len(args) != 2:
                raise _Bad("LOGIN needs a user name and a password")
            user, password = _unquote(args[0]), _unquote(args[1])
            good = user == self.owner.imap_username and password == self.owner.imap_password
            with self.owner._lock:
                self.owner.logins.append((user, good))
            if good:
                self.state = "auth"
                self.send(ok)
            else:
                self.send(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
        elif self.state == "nonauth":
            self.send(tag + b" NO Log in first")
        elif command in ("SELECT", "EXAMINE"):
            self.select(tag, command, args)
        elif command == "STATUS":
            self.status(tag, args)
        elif command in ("CLOSE", "UNSELECT"):
            self.state, self.folder = "auth", None
            self.send(ok)
        elif command == "UID" and args:
            self.run(tag, _text(args[0]).upper(), args[1:], by_uid=True)
        elif command in ("SEARCH", "FETCH"):
            self.run(tag, command, args, by_uid=False)
        else:
            raise _Bad(f"{command} is not supported by the fake")
        return False

    def select(self, tag: bytes, command: str, args: list[bytes]) -> None:
        if len(args) != 1:
            raise _Bad(f"{command} needs a folder name")
        name = self._folder_name(_unquote(args[0]))
        with self.owner._lock:
            box = self.owner.folders.get(name)
            if box is None:
                self.state, self.folder = "auth", None
                self.send(tag + b" NO [NONEXISTENT] Unknown folder " + name.encode())
                return
            lines = [
                f"* FLAGS {IMAP_FLAGS}",
                f"* {len(box.mails)} EXISTS",
                "* 0 RECENT",
                f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid",
                f"* OK [UIDNEXT {box.next_uid}] Predicted next UID",
            ]
        for line in lines:
            self.send(line.encode())
        self.state, self.folder = "selected", name
        self.readonly = command == "EXAMINE"
        mode = "READ-ONLY" if self.readonly else "READ-WRITE"
        self.send(tag + f" OK [{mode}] {command} completed".encode())

    def status(self, tag: bytes, args: list[bytes]) -> None:
        if len(args) != 2:
            raise _Bad("STATUS needs a folder and a list of items")
        name = self._folder_name(_unquote(args[0]))
        with self.owner._lock:
            box = self.owner.folders.get(name)
            if box is None:
                self.send(tag + b" NO [NONEXISTENT] Unknown folder")
                return
            known = {
                "MESSAGES": len(box.mails),
                "RECENT": 0,
                "UIDNEXT": box.next_uid,
                "UIDVALIDITY": box.uidvalidity,
                "UNSEEN": sum(1 for m in box.mails if "\\Seen" not in m.flags),
            }
        wanted = _text(args[1]).strip("()").upper().split()
        parts = " ".join(f"{k} {known[k]}" for k in wanted if k in known)
        self.send(f'* STATUS "{name}" ({parts})'.encode())
        self.send(tag + b" OK STATUS completed")

    def run(self, tag: bytes, command: str, args: list[bytes], *, by_uid: bool) -> None:
        if self.state != "selected" or self.folder is None:
            self.send(tag + b" NO No folder selected")
            return
        prefix = "UID " if by_uid else ""
        with self.owner._lock:
            box = self.owner.folders[self.folder]
            if command == "SEARCH":
                found = _search(box.mails, args)
                numbers = [m.uid if by_uid else box.mails.index(m) + 1 for m in found]
                self.send(("* SEARCH " + " ".join(map(str, numbers))).rstrip().encode())
            elif command == "FETCH":
                if len(args) != 2:
                    raise _Bad("FETCH needs a sequence set and items")
                self.fetch(box, _text(args[0]), _text(args[1]), by_uid=by_uid)
            else:
                raise _Bad(f"{prefix}{command} is not supported by the fake")
        self.send(tag + f" OK {prefix}{command} completed".encode())

    def fetch(self, box: Folder, sequence: str, items: str, *, by_uid: bool) -> None:
        wanted = _fetch_items(items)
        if by_uid and "UID" not in wanted:
            wanted.insert(0, "UID")
        if by_uid:
            chosen = _in_set(sequence, [m.uid for m in box.mails])
        else:
            chosen = {box.mails[n - 1].uid for n in _in_set(sequence, range(1, len(box.mails) + 1))}
        for number, mail in enumerate(box.mails, start=1):
            if mail.uid not in chosen:
                continue
            parts: list[bytes] = []
            for item in wanted:
                parts.append(self._item(mail, item))
            assert self.folder is not None
            self.owner.fetches.append(Fetch(self.folder, mail.uid, items))
            self.wfile.write(f"* {number} FETCH (".encode() + b" ".join(parts) + b")\r\n")
        self.wfile.flush()

    def _item(self, mail: StoredMail, item: str) -> bytes:
        if item == "UID":
            return f"UID {mail.uid}".encode()
        if item == "FLAGS":
            return f"FLAGS ({' '.join(sorted(mail.flags))})".encode()
        if item == "RFC822.SIZE":
            return f"RFC822.SIZE {len(mail.raw)}".encode()
        if item == "INTERNALDATE":
            stamp = mail.internaldate.strftime("%d-%b-%Y %H:%M:%S +0000")
            return f'INTERNALDATE "{stamp}"'.encode()
        section = {
            "RFC822": ("RFC822", mail.raw, True),
            "BODY[]": ("BODY[]", mail.raw, True),
            "BODY.PEEK[]": ("BODY[]", mail.raw, False),
            "BODY[HEADER]": ("BODY[HEADER]", _header(mail.raw), True),
            "BODY.PEEK[HEADER]": ("BODY[HEADER]", _header(mail.raw), False),
            "RFC822.HEADER": ("RFC822.HEADER", _header(mail.raw), False),
            "BODY[TEXT]": ("BODY[TEXT]", mail.raw[len(_header(mail.raw)) :], True),
            "BODY.PEEK[TEXT]": ("BODY[TEXT]", mail.raw[len(_header(mail.raw)) :], False),
        }.get(item)
        if section is None:
            raise _Bad(f"fetch item {item} is not supported by the fake")
        name, data, sets_seen = section
        if sets_seen and not self.readonly:
            mail.flags.add("\\Seen")
        return f"{name} {{{len(data)}}}\r\n".encode() + data

    def _folder_name(self, name: str) -> str:
        return "INBOX" if name.upper() == "INBOX" else name


# -- IMAP helpers -----------------------------------------------------------------------------


def _search(mails: Sequence[StoredMail], args: list[bytes]) -> list[StoredMail]:
    """The mails matching every criterion (AND), in mailbox order."""
    words = [_unquote(a) if a.startswith(b'"') else _text(a) for a in args]
    if len(words) >= 2 and words[0].upper() == "CHARSET":
        words = words[2:]
    found = list(mails)
    i = 0
    while i < len(words):
        key = words[i].upper()
        if key == "ALL":
            i += 1
        elif key == "UID" and i + 1 < len(words):
            uids = _in_set(words[i + 1], [m.uid for m in mails])
            found = [m for m in found if m.uid in uids]
            i += 2
        elif key == "HEADER" and i + 2 < len(words):
            name, value = words[i + 1], words[i + 2].lower()
            found = [m for m in found if _header_contains(m.raw, name, value)]
            i += 3
        elif key in ("SEEN", "UNSEEN"):
            found = [m for m in found if ("\\Seen" in m.flags) == (key == "SEEN")]
            i += 1
        elif re.fullmatch(r"[\d*:,]+", key):
            numbers = _in_set(key, range(1, len(mails) + 1))
            found = [m for m in found if mails.index(m) + 1 in numbers]
            i += 1
        else:
            raise _Bad(f"search key {key} is not supported by the fake")
    return found


def _in_set(sequence: str, existing: Iterable[int]) -> set[int]:
    """The members of `existing` in an IMAP sequence set. `*` is the largest existing value, and
    a range is read low to high whichever way it is written, so `n:*` with n above the largest
    still matches the largest (RFC 3501 6.4.8): the rule clients must filter for."""
    values = sorted(existing)
    if not values:
        return set()
    star = values[-1]
    chosen: set[int] = set()
    for part in sequence.split(","):
        if not re.fullmatch(r"(\d+|\*)(:(\d+|\*))?", part):
            raise _Bad(f"bad sequence set {sequence}")
        ends = [star if e == "*" else int(e) for e in part.split(":")]
        low, high = min(ends), max(ends)
        chosen.update(v for v in values if low <= v <= high)
    return chosen


def _fetch_items(items: str) -> list[str]:
    names = items.strip()
    if names.startswith("(") and names.endswith(")"):
        names = names[1:-1]
    macros = {
        "ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
        "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
        "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
    }
    found: list[str] = []
    for name in names.upper().split():
        found.extend(macros.get(name, [name]))
    return found


def _header(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end >= 0:
        return raw[: end + 4]
    end = raw.find(b"\n\n")
    return raw[: end + 2] if end >= 0 else raw


def _header_contains(raw: bytes, name: str, value: str) -> bool:
    parsed = email.message_from_bytes(_header(raw))
    return any(value in str(v).lower() for v in parsed.get_all(name) or [])


def _unquote(token: bytes) -> str:
    text = _text(token)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _text(token: bytes) -> str:
    return token.decode("utf-8", "replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# -- composing mail ---------------------------------------------------------------------------


def compose(
    *,
    sender: str = "Dana Quinn <dana@customer.example>",
    to: str = "Acme Support <support@acme.example>",
    subject: str | None = "Order 4411 never arrived",
    text: str | None = "Hello, my order 4411 never arrived. Can you help?",
    html: str | None = None,
    message_id: str | None = "",
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    date: datetime | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, bytes]] = (),
) -> EmailMessage:
    """A mail as a customer's client would write it. `message_id` "" makes a fresh one, None
    leaves it out; ids are given without angle brackets."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    if subject is not None:
        message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    if message_id == "":
        message["Message-ID"] = make_msgid(domain="customer.example")
    elif message_id is not None:
        message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{r}>" for r in references)
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for filename, data in attachments:
        message.add_attachment(
            data, maintype="application", subtype="octet-stream", filename=filename
        )
    return message
