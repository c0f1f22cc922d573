"""`make docs`: one libdoc HTML page per keyword library and per resource file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from robot.libdoc import LibraryDocumentation

from libraries.keyword_docs import keyword_libraries, write_docs

ROOT = Path(__file__).resolve().parents[2]


def declared_libraries() -> set[str]:
    """Every ``@library`` class, read from the source with a plain pattern rather than the module's own parser."""
    found = set()
    for path in (ROOT / "libraries").glob("*.py"):
        for name in re.findall(r"^@library\b[^\n]*\n(?:@[^\n]*\n)*class (\w+)", path.read_text(encoding="utf-8"), re.M):
            found.add(f"libraries.{path.stem}.{name}")
    return found


def test_make_docs_is_this_module_into_docs_and_docs_stay_out_of_git():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndocs:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/python -m libraries.keyword_docs $(DOCS)" in recipe
    assert re.search(r"^DOCS := docs$", makefile, re.M)
    assert "/docs/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_every_library_and_resource_gets_its_page(tmp_path):
    libraries = declared_libraries()
    assert {"libraries.ledger.Ledger", "libraries.environment.Environment"} <= libraries
    assert set(keyword_libraries()) == libraries
    resources = sorted((ROOT / "resources").glob("*.resource"))
    assert resources

    done = subprocess.run(
        [sys.executable, "-m", "libraries.keyword_docs", str(tmp_path / "docs")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    pages = {path.name: path for path in (tmp_path / "docs").iterdir()}
    expected = {f"{name.rsplit('.', 1)[1]}.html" for name in libraries} | {f"{path.name}.html" for path in resources}
    assert set(pages) == expected | {"index.html"}
    for name in expected:
        text = pages[name].read_text(encoding="utf-8")
        assert len(text) > 1000 and "libdoc" in text, name
        assert f'href="{name}"' in pages["index.html"].read_text(encoding="utf-8")
    for source in sorted(libraries) + [str(path) for path in resources]:
        page = f"{source.rsplit('.', 1)[1]}.html" if source.startswith("libraries.") else f"{Path(source).name}.html"
        text = pages[page].read_text(encoding="utf-8")
        keywords = [keyword.name for keyword in LibraryDocumentation(source).keywords if not keyword.private]
        assert keywords and all(f'"name": "{name}"' in text for name in keywords), page


def test_libraries_are_found_by_their_decorator(tmp_path):
    (tmp_path / "libraries").mkdir()
    (tmp_path / "libraries" / "one.py").write_text(
        "from robot.api import deco\nfrom robot.api.deco import library\n\n"
        "@library(scope='GLOBAL', auto_keywords=False)\nclass Called:\n    pass\n\n"
        "@library\nclass Bare:\n    pass\n\n"
        "@deco.library()\nclass Qualified:\n    pass\n\n"
        "class Helper:\n    pass\n\n"
        "def library():\n    pass\n",
        encoding="utf-8",
    )
    assert keyword_libraries(tmp_path) == ["libraries.one.Called", "libraries.one.Bare", "libraries.one.Qualified"]


def test_a_library_libdoc_cannot_read_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "libraries").mkdir()
    (tmp_path / "libraries" / "missing.py").write_text("@library\nclass Nowhere:\n    pass\n", encoding="utf-8")
    (tmp_path / "resources").mkdir()
    with pytest.raises(RuntimeError, match=r"libdoc could not document: libraries\.missing\.Nowhere$"):
        write_docs(tmp_path / "docs", root=tmp_path)
