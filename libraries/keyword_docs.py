"""Keyword documentation of the project: one libdoc HTML page per library and per resource.

``make docs`` runs ``python -m libraries.keyword_docs docs``: every keyword
library (each class in ``libraries/*.py`` decorated with ``@library``) and
every resource file (``resources/*.resource``) gets its page, written by
Robot Framework's libdoc exactly as ``python -m robot.libdoc --pythonpath .
SOURCE OUTPUT`` would, and ``index.html`` links them. The libraries are found
by reading the source, not by a list kept by hand: a new library gets its page
without anyone remembering to add it.
"""

from __future__ import annotations

import argparse
import ast
import html
import sys
from pathlib import Path

from robot.libdoc import LibDoc

ROOT = Path(__file__).resolve().parents[1]


def keyword_libraries(root: Path = ROOT) -> list[str]:
    """Import names (``libraries.ledger.Ledger``) of the ``@library`` classes under ``root/libraries``."""
    names = []
    for path in sorted((root / "libraries").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(_is_library(decorator) for decorator in node.decorator_list):
                names.append(f"libraries.{path.stem}.{node.name}")
    return names


def _is_library(decorator: ast.expr) -> bool:
    """``@library`` or ``@library(...)``, also as ``@deco.library``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "library") or (
        isinstance(target, ast.Attribute) and target.attr == "library"
    )


def resource_files(root: Path = ROOT) -> list[Path]:
    """The keyword resource files, ``resources/*.resource``."""
    return sorted((root / "resources").glob("*.resource"))


def pages(root: Path = ROOT) -> dict[str, str]:
    """``{page file name: libdoc source}`` for every library and resource."""
    sources = {f"{name.rsplit('.', 1)[1]}.html": name for name in keyword_libraries(root)}
    sources.update({f"{path.name}.html": str(path) for path in resource_files(root)})
    return sources


def write_docs(folder: Path, root: Path = ROOT) -> list[Path]:
    """Write every page and ``index.html`` into ``folder``; return the pages written.

    Raises ``RuntimeError`` naming each source libdoc could not document.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written, failed = [], []
    for page, source in pages(root).items():
        output = folder / page
        arguments = ["--pythonpath", str(root), "--format", "HTML", "--quiet", source, str(output)]
        status = LibDoc().execute_cli(arguments, exit=False)
        if status == 0 and output.is_file() and output.stat().st_size:
            written.append(output)
        else:
            failed.append(source)
    if failed:
        raise RuntimeError("libdoc could not document: " + ", ".join(failed))
    items = "\n".join(
        f'<li><a href="{html.escape(path.name)}">{html.escape(path.name.removesuffix(".html"))}</a></li>'
        for path in written
    )
    (folder / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>MTS monthly paperwork robot: keywords</title></head>\n"
        "<body><h1>Keyword documentation</h1>\n"
        "<p>Libraries (Python) and resources (Robot Framework) of the robot's suites.</p>\n"
        f"<ul>\n{items}\n</ul></body></html>\n",
        encoding="utf-8",
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m libraries.keyword_docs", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("docs"), help="where the pages go (default docs)")
    parser.add_argument("--list", action="store_true", help="only print the libdoc sources, one a line")
    arguments = parser.parse_args(argv)
    if arguments.list:
        print("\n".join(pages().values()))
        return 0
    try:
        written = write_docs(arguments.folder)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{len(written)} pages and index.html in {arguments.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
