"""Channel credentials encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256 tag).

Secret settings (names with secret, token, password or key) are stored as `enc:v1:<token>` and
opened only where a connector needs them. A value written as `env:NAME` is not stored at all: it
is read from the environment variable NAME when used, for hosts that keep credentials in a
secret manager. The key comes from SOCIALDESK_SECRET_KEY, else from a key file made on first use
(mode 0600); every process of one desk must use the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from socialdesk.domain.channels import is_secret_setting
from socialdesk.domain.errors import InvalidInput

SEALED = "enc:v1:"
FROM_ENV = "env:"


class FernetSecretBox:
    def __init__(self, key: bytes | None = None, key_file: Path | None = None) -> None:
        self._key = key
        self._key_file = key_file
        self._fernet: Fernet | None = None

    @classmethod
    def from_settings(cls, key: str | None, key_file: Path) -> FernetSecretBox:
        """A box with the configured key, or one that reads (or makes) the key file when first
        used, so commands that never touch credentials never create it."""
        if key:
            return cls(key.encode("ascii"))
        return cls(key_file=key_file)

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._key or _key_from_file(self._key_file))
        return self._fernet

    def derive(self, purpose: str) -> str:
        """A secret for another use (signing session cookies), derived from the same key, so
        every process of the desk agrees on it without another setting."""
        key = self._key or _key_from_file(self._key_file)
        return hmac.new(key, purpose.encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, settings: Mapping[str, str]) -> dict[str, str]:
        """Settings ready to store: secret values encrypted, `env:` references kept as they are."""
        return {
            name: (
                SEALED + self.fernet.encrypt(value.encode("utf-8")).decode("ascii")
                if is_secret_setting(name)
                and not value.startswith((SEALED, FROM_ENV))
                and value != ""
                else value
            )
            for name, value in settings.items()
        }

    def open(self, name: str, value: str) -> str:
        """The usable value of a stored setting."""
        if value.startswith(FROM_ENV):
            variable = value.removeprefix(FROM_ENV)
            found = os.environ.get(variable)
            if found is None:
                raise InvalidInput(
                    f"setting {name} refers to the environment variable {variable}, which is not set "
                    "in this process",
                    field=name,
                )
            return found
        if not value.startswith(SEALED):
            return value
        try:
            return self.fernet.decrypt(value.removeprefix(SEALED).encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise InvalidInput(
                f"setting {name} was encrypted with another key: set SOCIALDESK_SECRET_KEY to the "
                "key this desk was set up with, or enter the setting again",
                field=name,
            ) from exc


def _key_from_file(path: Path | None) -> bytes:
    """The key in `path`, made first when missing. Made in a private temporary file and linked
    into place, so two processes starting at once end up with the same key, never a half-written
    one."""
    assert path is not None, "a secret box needs a key or a key file"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
        temporary = Path(name)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first; use theirs
        finally:
            temporary.unlink()
    return path.read_bytes().strip()
