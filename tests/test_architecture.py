"""The dependency rule, checked by walking every module's imports.

domain imports only itself and the standard library; services the domain and their own ports;
adapters implement ports and never reach for the web, the read side or the entry points; the
web layer talks to services, queries and the composition root, never to adapters directly.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "socialdesk"

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "socialdesk.domain": (
        "socialdesk.services",
        "socialdesk.adapters",
        "socialdesk.queries",
        "socialdesk.web",
        "socialdesk.bootstrap",
        "socialdesk.cli",
        "socialdesk.worker",
        "socialdesk.config",
    ),
    "socialdesk.services": (
        "socialdesk.adapters",
        "socialdesk.queries",
        "socialdesk.web",
        "socialdesk.bootstrap",
        "socialdesk.cli",
        "socialdesk.worker",
    ),
    "socialdesk.queries": (
        "socialdesk.services",
        "socialdesk.web",
        "socialdesk.bootstrap",
        "socialdesk.cli",
        "socialdesk.worker",
        "socialdesk.adapters.importers",
    ),
    "socialdesk.adapters": (
        "socialdesk.web",
        "socialdesk.queries",
        "socialdesk.cli",
        "socialdesk.bootstrap",
        "socialdesk.worker",
    ),
    "socialdesk.web": ("socialdesk.adapters", "socialdesk.cli"),
}
# Services see adapters only through ports; adapters may import the ports they implement.
ALLOWED_SERVICES_FOR_ADAPTERS = ("socialdesk.services.ports",)
# The domain and the use cases are plain Python: no framework, driver or library imports.
PURE_PYTHON = ("socialdesk.domain", "socialdesk.services")


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        found.append((name, path))
    return found


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def layer_of(module: str) -> str | None:
    return next(
        (layer for layer in FORBIDDEN if module == layer or module.startswith(layer + ".")), None
    )


@pytest.mark.parametrize(
    ("module", "path"), modules(), ids=lambda v: str(v) if isinstance(v, str) else ""
)
def test_layering(module: str, path: Path) -> None:
    layer = layer_of(module)
    if layer is None:
        return
    bad = []
    for imported in imports_of(path):
        top = imported.split(".")[0]
        third_party = top not in sys.stdlib_module_names and top not in ("socialdesk", "__future__")
        if (
            imported.startswith(FORBIDDEN[layer])
            or (layer in PURE_PYTHON and third_party)
            or (
                layer == "socialdesk.adapters"
                and imported.startswith("socialdesk.services")
                and not imported.startswith(ALLOWED_SERVICES_FOR_ADAPTERS)
            )
        ):
            bad.append(imported)
    assert bad == [], f"{module} imports {bad}, which its layer ({layer}) must not"


def test_the_walk_sees_every_layer() -> None:
    seen = {layer_of(m) for m, _ in modules()}
    assert set(FORBIDDEN) <= seen
