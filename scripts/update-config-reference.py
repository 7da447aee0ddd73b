"""Rewrites the generated config reference in README.md from the settings models."""

from __future__ import annotations

from pathlib import Path

from backproof.config.reference import BEGIN_MARK, END_MARK, render_reference

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text(encoding="utf-8")
before, _, rest = text.partition(BEGIN_MARK)
_, _, after = rest.partition(END_MARK)
readme.write_text(before + render_reference() + after, encoding="utf-8")
