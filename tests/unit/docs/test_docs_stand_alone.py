"""The README and docs/ stand alone in a clone: every link and named doc file exists in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
GENERATED = "docs/16-generated/"
NAMED_DOC = re.compile(r"`((?:docs|deploy)/[\w./-]+\.(?:md|service|timer|toml|yaml|yml))`")


def local_targets(page: Path) -> list[tuple[str, Path]]:
    """Return each relative link and named docs/ or deploy/ file of ``page`` with its path."""
    text = page.read_text(encoding="utf-8")
    targets = [
        (link, page.parent / link)
        for link in LINK.findall(text)
        if not re.match(r"^[a-z]+:", link)  # http:, https:, mailto:, file:
    ]
    # docs/16-generated/… is where `backproof report` writes, not a page of the repository.
    named = [name for name in NAMED_DOC.findall(text) if not name.startswith(GENERATED)]
    return targets + [(name, ROOT / name) for name in named]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_local_link_of_a_page_exists_in_the_clone(page: Path) -> None:
    missing = [link for link, path in local_targets(page) if not path.exists()]

    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_page_points_outside_the_repository(page: Path) -> None:
    outside = [
        link for link, path in local_targets(page) if not path.resolve().is_relative_to(ROOT)
    ]

    assert outside == []
    assert "shared/DESIGN.md" not in page.read_text(encoding="utf-8")
