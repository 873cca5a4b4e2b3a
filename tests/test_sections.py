"""section_category: the part of a paper a section title names."""

from __future__ import annotations

import pytest

from tasks.lake.tables import SECTION_CATEGORIES
from tasks.reading.sections import SECTION_KEYWORDS, section_category


@pytest.mark.parametrize(
    ("title", "category"),
    [
        # No title at all.
        (None, "unknown"),
        ("", "unknown"),
        ("   ", "unknown"),
        # One named part, as the page title-cases it.
        ("Introduction", "introduction"),
        ("Background", "introduction"),
        ("Methods", "methods"),
        ("Methodology", "methods"),
        ("Materials And Methods", "methods"),
        ("Experimental Procedures", "methods"),
        ("Patients And Methods", "methods"),
        ("Results", "results"),
        ("Discussion", "discussion"),
        ("Conclusion", "conclusion"),
        ("Conclusions", "conclusion"),
        ("Concluding Remarks", "conclusion"),
        ("Summary", "conclusion"),
        # Numbered headings.
        ("2. Methods", "methods"),
        ("3.1 Results", "results"),
        ("II. Results", "results"),
        ("Ii. Results", "results"),
        ("IV) Discussion", "discussion"),
        ("1 Introduction", "introduction"),
        # Combined headings: the first part named decides.
        ("Results And Discussion", "results"),
        ("Discussion And Conclusions", "discussion"),
        ("Background And Methods", "introduction"),
        # Cut by the page at a fixed width: the last word may be a prefix.
        ("Discussio", "discussion"),
        ("4. Discu", "discussion"),
        ("Materials And Metho", "methods"),
        ("Introd", "introduction"),
        ("Conclu", "conclusion"),
        # Too short to complete unambiguously ("Disc" may be an intervertebral disc).
        ("Lumbar Disc", "other"),
        ("Res", "other"),
        # Only the last word may be cut: an inner prefix is not a keyword.
        ("Discuss Of Something", "other"),
        # Titles naming no part of a paper.
        ("Mesenchymal Stromal Cells", "other"),
        ("Limitations Of Msc-mediated Immune Modulation In the Clinica", "other"),
        ("12", "other"),
    ],
)
def test_section_category(title: str | None, category: str) -> None:
    assert section_category(title) == category


def test_keyword_table_names_only_declared_categories() -> None:
    assert set(SECTION_KEYWORDS.values()) <= set(SECTION_CATEGORIES) - {"other", "unknown"}
    assert all(keyword == keyword.lower() and keyword.isalpha() for keyword in SECTION_KEYWORDS)
