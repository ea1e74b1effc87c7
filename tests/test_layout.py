"""The house rules of the code's layout: no import circle anywhere in the package (the check itself is tested
on a planted circle), every package folder installed, the window split by concern, and a wheel that carries
the resources (demo protein, manual, viewer page) from the top-level ``resources/`` folder.

The layer rule itself (core < models < engines < jobs < cli, gui; Qt only in gui) is import-linter's
contracts in ``pyproject.toml``, which ``make test`` runs before the tests.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "protein_studio"


def import_cycles(package: str) -> list[list[str]]:
    """Every set of modules of ``package`` that import each other in a circle (the strongly connected
    components of grimp's import graph with more than one module, or a module importing itself); function-
    level imports count as imports."""
    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):  # Tarjan's algorithm, iterative (no recursion limit)
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.find_modules_directly_imported_by(node):
                    cycles.append(sorted(component))
    return cycles


def test_the_package_has_no_import_circle():
    assert import_cycles("protein_studio") == []


def test_the_circle_check_finds_a_planted_circle(tmp_path, monkeypatch):
    package = tmp_path / "planted_circle"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "first.py").write_text("from planted_circle.sub import second\n")
    (package / "sub" / "second.py").write_text("def late():\n    from planted_circle import first\n")
    (package / "alone.py").write_text("import planted_circle.first\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("planted_circle") == [["planted_circle.first", "planted_circle.sub.second"]]
    (package / "sub" / "second.py").write_text("def late():\n    return 1\n")
    assert import_cycles("planted_circle") == []


def test_every_package_folder_is_installed():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")}
    assert folders | {"protein_studio.resources"} == listed
    assert (REPO / "resources" / "__init__.py").is_file()


def test_the_window_is_split_by_concern():
    too_long = {str(p.relative_to(REPO)): n for p in (PACKAGE / "gui").rglob("*.py")
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert too_long == {}
    assert len((PACKAGE / "gui" / "main_window.py").read_text(encoding="utf-8").splitlines()) < 400


@pytest.mark.slow
def test_a_built_wheel_holds_the_demo_the_manual_and_the_viewer(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                             "--quiet", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("protein_studio-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("protein_studio/resources/demo/tem1_P62593.fasta", "protein_studio/resources/demo/tem1_1btl.pdb",
                 "protein_studio/resources/help/index.html", "protein_studio/resources/web/viewer.html",
                 "protein_studio/resources/desktop/protein-studio.desktop",
                 "protein_studio/gui/controllers/documents.py", "protein_studio/core/molecules/numbering.py"):
        assert name in names, name
    assert not any(name.startswith(("tests/", "resources/")) for name in names)
