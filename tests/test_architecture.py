"""The house rules of the platform's code: no import cycle, engine/ never imports web/, only
engine/durable_backend.py imports durable, no platform Python file over 500 lines, and every
``docs/<file> §n`` cited in the repository names a heading of that file (no citation of a file outside it).

Imports are read with :mod:`ast` (every import statement, also one inside a function; not one
under ``if TYPE_CHECKING:``, which never runs), so the tests see what the modules say, not what
happened to be imported first.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "web", "doudi")
MAX_LINES = 500
SOURCES = ("engine", "web", "doudi", "rules", "schemas", "tests", "docs", "bench", "README.md")

# Exceptions while a change is under way (each one named, and taken off as soon as it lands): none today.
TOO_LONG_FOR_NOW: set[str] = set()
CYCLES_FOR_NOW: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, name: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Every module named by an import statement of ``path`` (module ``name``), outside TYPE_CHECKING blocks;
    ``from package import x`` names the module ``package.x`` where that is one of ``known``."""
    is_package = path.name == "__init__.py"
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [f"{module}.{alias.name}" for alias in node.names]
            submodules = [n for n in names if n in known]  # ``from . import errors``: the module errors
            found.extend(submodules if len(submodules) == len(names) else [module, *submodules])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: {m for m in _imports(path, name, known) if m in known and m != name}
            for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_the_import_reader_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    cycles = [c for c in _cycles(_graph()) if frozenset(c) not in CYCLES_FOR_NOW]
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_the_web_api_route_modules_do_not_import_their_package():
    graph = _graph()
    routes = [m for m in graph if m.startswith("web.api.")]
    assert len(routes) >= 10
    assert [m for m in routes if "web.api" in graph[m]] == []


def test_engine_never_imports_web_or_the_command_line():
    graph = _graph()
    wrong = sorted(f"{m} -> {i}" for m, imported in graph.items() if m.startswith("engine")
                   for i in imported if i.split(".")[0] in ("web", "doudi"))
    assert wrong == []


def test_only_the_durable_backend_imports_durable():
    importers = sorted(name for name, path in _modules().items()
                       if any(m.split(".")[0] in ("durable", "durable_rules_engine") for m in _imports(path, name)))
    assert importers == ["engine.durable_backend"]


def test_no_platform_file_over_500_lines():
    lengths = {str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
               for path in _modules().values()}
    too_long = sorted(f"{f}: {n}" for f, n in lengths.items() if n > MAX_LINES and f not in TOO_LONG_FOR_NOW)
    assert too_long == []
    assert all(f in lengths for f in TOO_LONG_FOR_NOW), "a file of the list is gone: take it off the list"


# -- citations ------------------------------------------------------------------------------------

CITATION = re.compile(r"docs/([A-Za-z0-9_.-]+\.md) §\s?(\d+(?:\.\d+)*)")


def _files(*patterns: str) -> list[str]:
    """The repository's files (tracked, or new and not ignored) matching ``patterns`` (a glob, a folder or a file)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                                 *patterns], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked archive): its folders
        listed = [str(p.relative_to(ROOT)) for top in SOURCES for p in [ROOT / top, *(ROOT / top).rglob("*")]
                  if "__pycache__" not in p.parts and "out" not in p.parts]
        listed = [f for f in listed if any(fnmatch.fnmatch(f, pattern) or f == pattern or f.startswith(pattern + "/")
                                           for pattern in patterns)]
    return sorted({f for f in listed if f and (ROOT / f).is_file()})


def _headings(path: Path) -> set[str]:
    """The section numbers of a Markdown file's headings (``## §7.3 …``)."""
    return {m.group(1) for m in re.finditer(r"^#+ §(\d+(?:\.\d+)*)\b", path.read_text(encoding="utf-8"), re.M)}


def _citations() -> list[tuple[str, str, str]]:
    out = []
    files = _files("*.py", "*.md", "*.html", "*.yaml", "*.json", "*.txt", "*.po")
    for f in files:
        text = (ROOT / f).read_text(encoding="utf-8", errors="replace")
        out += [(f, m.group(1), m.group(2)) for m in CITATION.finditer(text)]
    return out


def test_the_citation_reader_sees_headings(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("# Title\n## §7 Calculation\n### §7.3 Income\ntext §9\n", encoding="utf-8")
    assert _headings(doc) == {"7", "7.3"}
    assert CITATION.findall("see docs/semantics.md §7.3 and docs/semantics.md §8") == \
        [("semantics.md", "7.3"), ("semantics.md", "8")]


def test_every_docs_citation_resolves():
    citations = _citations()
    assert citations, "no docs/<file> § citation found: the reader is broken"
    broken = sorted({f"{f}: docs/{doc} §{section}" for f, doc, section in citations
                     if not (ROOT / "docs" / doc).exists() or section not in _headings(ROOT / "docs" / doc)})
    assert broken == []


# Files that still cite "SPEC §" while other branches of issue 14 rewrite them (the lead removes each as it lands).
SPEC_CITED_FOR_NOW: set[str] = set()


def test_no_citation_points_outside_the_repository():
    cited = {f for f, _ in _citations_of(re.compile(r"SPEC §"))}
    assert sorted(cited - SPEC_CITED_FOR_NOW) == [], \
        "cite docs/semantics.md §n, not SPEC (which is not in the repository)"
    assert cited <= SPEC_CITED_FOR_NOW


def _citations_of(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    files = _files(*SOURCES)
    return [(f, m.group(0)) for f in files if f != "tests/test_architecture.py"
            for m in pattern.finditer((ROOT / f).read_text(encoding="utf-8", errors="replace"))]
