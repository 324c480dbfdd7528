"""Platform connectors: one package per platform, found by looking, not by a list.

Each subpackage exposes `connector(secrets, client=None)`; packages installed beside socialdesk can
add more through the `socialdesk.connectors` entry-point group. So a new platform is one new
package: its webhooks, poller, sender and capabilities appear without edits elsewhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from importlib.metadata import entry_points

import httpx2

from socialdesk.domain.errors import NotFound
from socialdesk.domain.platforms import PlatformCapabilities, capabilities_for
from socialdesk.services.ports import Connector, SecretBox

ENTRY_POINTS = "socialdesk.connectors"
NOT_CONNECTORS = {"base"}

Factory = Callable[..., Connector]


def factories() -> dict[str, Factory]:
    """Connector factories by module name: the built-in packages, then entry points."""
    found: dict[str, Factory] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg and module.name not in NOT_CONNECTORS:
            found[module.name] = importlib.import_module(f"{__name__}.{module.name}").connector
    for entry in entry_points(group=ENTRY_POINTS):
        found.setdefault(entry.name, entry.load())
    return found


class InstalledConnectors:
    """The `Connectors` port: every connector, by name and by the platforms it serves."""

    def __init__(self, connectors: list[Connector]) -> None:
        self._by_name = {c.name: c for c in connectors}
        self._by_platform = {p.platform: c for c in connectors for p in c.platforms}
        self._capabilities = {p.platform: p for c in connectors for p in c.platforms}

    @classmethod
    def discover(
        cls, secrets: SecretBox, client: httpx2.Client | None = None
    ) -> InstalledConnectors:
        return cls([factory(secrets, client) for factory in factories().values()])

    def get(self, name: str) -> Connector:
        found = self._by_name.get(name)
        if found is None:
            raise NotFound(
                f"there is no {name!r} connector; installed: {', '.join(sorted(self._by_name))}"
            )
        return found

    def for_platform(self, platform: str) -> Connector | None:
        return self._by_platform.get(platform)

    def capabilities(self, platform: str) -> PlatformCapabilities:
        return self._capabilities.get(platform) or capabilities_for(platform)

    def all(self) -> list[Connector]:
        return [self._by_name[name] for name in sorted(self._by_name)]
