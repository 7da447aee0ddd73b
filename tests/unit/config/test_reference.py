"""The README's config reference is generated from the settings models and kept current."""

from __future__ import annotations

from pathlib import Path

from backproof.config.reference import render_reference

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_config_reference_matches_models_when_generated() -> None:
    assert render_reference() in README.read_text(encoding="utf-8"), (
        "README.md's config reference is stale: "
        "run `.venv/bin/python scripts/update-config-reference.py`"
    )


def test_config_reference_lists_every_section_of_design() -> None:
    reference = render_reference()
    for section in (
        "[state]",
        "[[targets]]",
        "[[destinations]]",
        "[encryption]",
        "[verify]",
        "[retention]",
        "[web]",
        "[report]",
    ):
        assert f"**`{section}`**" in reference
