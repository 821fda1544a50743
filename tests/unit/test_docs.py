"""The documents: a short README that links every doc, links that resolve, a self-contained repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _markdown() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_is_short_and_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    linked = {target for target in LINK.findall(readme) if not target.startswith("http")}
    docs = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert docs <= linked, f"not linked from the README: {sorted(docs - linked)}"


def test_every_relative_link_resolves() -> None:
    for document in _markdown():
        for target in LINK.findall(document.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (document.parent / target).exists(), f"{document.relative_to(ROOT)} links to missing {target}"


def test_nothing_refers_to_files_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = re.compile(r"\.\./shared|\bSPEC\b")
    offenders = [
        name
        for name in tracked
        if name.endswith((".py", ".md", ".yaml", ".js", ".html", "Makefile", ".toml"))
        and name != "tests/unit/test_docs.py"
        and outside.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_the_elements_host_pages_are_the_examples_in_browser_md() -> None:
    """The browser tests serve tests/browser/hosts/*.html: each is a fenced example of docs/browser.md, as written."""
    guide = (ROOT / "docs" / "browser.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "tests" / "browser" / "hosts").glob("*.html")):
        assert f"```html\n{page.read_text(encoding='utf-8')}```" in guide, f"{page.name} is not in docs/browser.md as written"
