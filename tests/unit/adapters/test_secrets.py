"""Channel credentials at rest: sealed with Fernet, opened only with the right key, `env:`
references read when used, and one key file however many processes start at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from socialdesk.adapters.secrets import SEALED, FernetSecretBox
from socialdesk.domain.errors import InvalidInput


def test_secrets_are_sealed_and_the_rest_kept() -> None:
    box = FernetSecretBox(Fernet.generate_key())
    secret = "very-secret-app-value"
    sealed = box.seal({"app_secret": secret, "page_id": "42", "access_token": "", "token": "env:T"})
    assert sealed["app_secret"].startswith(SEALED)
    assert secret not in sealed["app_secret"]
    assert (sealed["page_id"], sealed["access_token"], sealed["token"]) == ("42", "", "env:T")
    assert box.seal(sealed) == sealed  # sealing twice changes nothing
    assert box.open("app_secret", sealed["app_secret"]) == secret
    assert box.open("page_id", "42") == "42"


def test_another_key_cannot_open_and_says_what_to_do() -> None:
    sealed = FernetSecretBox(Fernet.generate_key()).seal({"app_secret": "s3"})["app_secret"]
    with pytest.raises(InvalidInput, match="encrypted with another key"):
        FernetSecretBox(Fernet.generate_key()).open("app_secret", sealed)


def test_env_references_are_read_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    box = FernetSecretBox(Fernet.generate_key())
    monkeypatch.setenv("ACME_X_SECRET", "from-env")
    assert box.open("consumer_secret", "env:ACME_X_SECRET") == "from-env"
    with pytest.raises(InvalidInput, match="ACME_MISSING, which is not set"):
        box.open("consumer_secret", "env:ACME_MISSING")


def test_the_key_file_is_made_once_privately(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    boxes = [FernetSecretBox.from_settings(None, path) for _ in range(8)]
    assert not path.exists()  # nothing made until a credential is used
    sealed: list[str] = []

    def use(box: FernetSecretBox) -> None:
        sealed.append(box.seal({"secret": "x"})["secret"])

    threads = [threading.Thread(target=use, args=(b,)) for b in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert path.stat().st_mode & 0o777 == 0o600
    assert {boxes[0].open("secret", s) for s in sealed} == {"x"}
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]
