"""The shape of the code: import direction and cycles (import-linter), thin routes."""

from __future__ import annotations

import inspect
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fastapi.routing import APIRoute

ROUTE_MAX_LINES = 40


def test_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject.toml [tool.importlinter]: rag never imports web (but for `rag serve`), and
    web/ has no import cycle (acyclic_siblings, every level of the package)."""
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_cycle_contract_sees_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same contract on a copy of web/ with the old app <-> chat import put back: broken."""
    from importlinter.cli import lint_imports

    shutil.copytree(ROOT / "web", tmp_path / "web", ignore=shutil.ignore_patterns("__pycache__"))
    chat = tmp_path / "web" / "chat.py"
    chat.write_text(chat.read_text(encoding="utf-8") + "\nfrom . import app  # noqa\n", "utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["web"]\n\n[[tool.importlinter.contracts]]\n'
        'name = "no cycle"\ntype = "acyclic_siblings"\nancestors = ["web"]\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # grimp finds this copy of web first
    for name in [m for m in sys.modules if m == "web" or m.startswith("web.")]:
        monkeypatch.delitem(sys.modules, name)  # (put back after the test)
    assert lint_imports(config_filename=str(tmp_path / "pyproject.toml"), no_cache=True) == 1


def test_routes_are_thin() -> None:
    """Each route is a few lines over the service (the issue's bound: about 40)."""
    from web.routes import answer, documents, feedback, health, openai, search

    routes = [
        r
        for m in (answer, documents, feedback, health, openai, search)
        for r in m.router.routes
        if isinstance(r, APIRoute)
    ]
    assert len(routes) == 15
    for r in routes:
        lines = len(inspect.getsourcelines(r.endpoint)[0])
        assert lines <= ROUTE_MAX_LINES, (r.path, lines)
