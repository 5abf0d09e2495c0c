"""The dashboard's files ship in the package and load nothing from elsewhere (no CDN, no build)."""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "actors" / "web" / "static"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def _references(path: Path) -> list[str]:
    """What a page or script loads: ``src=`` / ``href=`` in HTML, ``import ... from`` in JS."""
    text = path.read_text()
    if path.suffix == ".html":
        return re.findall(r'(?:src|href)="([^"#][^"]*)"', text)
    return re.findall(r'^import .* from "([^"]+)";$', text, flags=re.MULTILINE)


def test_every_dashboard_file_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["actors.web"]
    files = sorted(p.relative_to(STATIC.parent).as_posix() for p in STATIC.iterdir() if p.is_file())
    assert "static/index.html" in files
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert unshipped == []


def test_the_page_loads_its_script_and_style_and_every_module_is_used() -> None:
    assert set(_references(STATIC / "index.html")) == {"style.css", "app.js"}
    reached, todo = set(), ["app.js"]
    while todo:
        name = todo.pop()
        reached.add(name)
        todo += [ref.removeprefix("./") for ref in _references(STATIC / name) if ref.removeprefix("./") not in reached]
    assert reached == {p.name for p in STATIC.glob("*.js")}


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*") if p.suffix in (".html", ".js")))
def test_the_dashboard_loads_only_its_own_files(name: str) -> None:
    for ref in _references(STATIC / name):
        assert "//" not in ref, f"{name} loads {ref} from elsewhere"
        assert (STATIC / ref).is_file(), f"{name} loads {ref}, which is not in actors/web/static"
