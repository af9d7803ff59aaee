"""The interface belongs to the repository: every "interface §N" the code cites is a section of
docs/interface.md, and nothing cites a document the repository does not carry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"interface §(\d+)")
#: How the code used to cite the interface before it was part of the repository.
OUTSIDE = re.compile(r"\bCONTRACT (?:§|rule|POST|PUT|GET|…)")


def tracked_texts() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names
            if n.endswith((".py", ".html", ".md", ".js", ".txt", ".po")) and (ROOT / n).is_file()]


def test_every_cited_section_exists() -> None:
    doc = (ROOT / "docs" / "interface.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\d+)\. ", doc, re.MULTILINE))
    missing = {}
    for path in tracked_texts():
        for number in CITED.findall(path.read_text(encoding="utf-8", errors="replace")):
            if number not in sections:
                missing.setdefault(number, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"cited but not in docs/interface.md: {missing}"
    assert len(sections) >= 14


def test_nothing_cites_a_document_outside_the_repository() -> None:
    outside = [str(p.relative_to(ROOT)) for p in tracked_texts()
               if p.name != "test_interface_doc.py" and OUTSIDE.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert outside == []
