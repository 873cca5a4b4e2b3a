"""Which part of a paper a citation statement stands in, from its section title.

The page shows section titles title-cased and cut at a fixed width
(``Limitations Of Msc-mediated Immune Modulation In the Clinica``), often numbered
(``2. Methods``, ``II. Results``) or naming two parts (``Results And Discussion``).
:func:`section_category` maps such a title to one of the categories of
``tasks.lake.tables.SECTION_CATEGORIES``; :data:`SECTION_KEYWORDS` is the one table
of the words it recognises.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Each word that names a part of a paper, lower-cased, and the part it names.
# Singular and plural forms are both listed: words are matched whole, except a
# title's last word, which may be a prefix (the page cuts titles mid-word).
SECTION_KEYWORDS: dict[str, str] = {
    "introduction": "introduction",
    "background": "introduction",
    "methods": "methods",
    "method": "methods",
    "methodology": "methods",
    "methodologies": "methods",
    "materials": "methods",
    "material": "methods",
    "experimental": "methods",
    "procedures": "methods",
    "procedure": "methods",
    "results": "results",
    "result": "results",
    "findings": "results",
    "discussion": "discussion",
    "discussions": "discussion",
    "conclusion": "conclusion",
    "conclusions": "conclusion",
    "concluding": "conclusion",
    "summary": "conclusion",
    "outlook": "conclusion",
}

# A cut last word shorter than this is too ambiguous to complete: "Disc" may be
# "Discussion" or an intervertebral disc, "Res" "Results" or "Research".
MIN_PREFIX_LENGTH = 5

_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=65_536)
def section_category(title: str | None) -> str:
    """The part of the paper a section title names.

    Returns one of ``introduction``, ``methods``, ``results``, ``discussion``,
    ``conclusion``, ``other`` (a title naming none of them) or ``unknown`` (no
    title: ``None``, empty or blank).

    Rules, in order:

    - The title is read as its alphabetic words, case-insensitively; numbering
      (``2.``, ``3.1``, ``II.``, ``IV)``) is not a word of :data:`SECTION_KEYWORDS`
      and so is passed over.
    - The *first* word that names a part decides: ``Results And Discussion`` is
      ``results``, ``Materials And Methods`` ``methods``, ``Concluding Remarks``
      ``conclusion``, ``Background`` ``introduction``.
    - Words match whole, except the title's last word, which the page may have cut:
      it matches when it is at least :data:`MIN_PREFIX_LENGTH` letters long and a
      prefix of keywords of one category only (``Discussio`` is ``discussion``).
    """
    if title is None:
        return "unknown"
    words = _WORD.findall(title.lower())
    if not words:
        return "unknown" if not title.strip() else "other"
    for word in words[:-1]:
        category = SECTION_KEYWORDS.get(word)
        if category is not None:
            return category
    return _last_word_category(words[-1])


@lru_cache(maxsize=4_096)
def _last_word_category(word: str) -> str:
    """The category of a title's last word, which may be cut: whole match, else an unambiguous prefix."""
    category = SECTION_KEYWORDS.get(word)
    if category is not None:
        return category
    if len(word) < MIN_PREFIX_LENGTH:
        return "other"
    completions = {category for keyword, category in SECTION_KEYWORDS.items() if keyword.startswith(word)}
    return completions.pop() if len(completions) == 1 else "other"
