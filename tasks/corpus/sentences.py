"""The words of a synthetic page: titles, abstracts, citation statements and section titles.

Lengths follow the real sample (``tests/fixtures/scd.2013.0023.txt``), since the
benchmarks' MB/s figures depend on page size.
"""

from __future__ import annotations

import random

SECTION_WIDTH = 60  # the page cuts section titles at this many characters


def between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)``, several times faster (the generator calls it a lot)."""
    return low + int(rng.random() * (high - low + 1))


WORDS = (
    "patients cells therapy treatment clinical trial cohort study results response disease "
    "mesenchymal stromal stem derived umbilical cord marrow immune regulatory inflammatory "
    "cytokines expression levels increased decreased reduced significantly compared with "
    "control group groups mice model vivo vitro analysis data evidence previous recent "
    "reported observed demonstrated showed suggest indicate associated efficacy safety "
    "outcome outcomes follow-up months weeks dose doses administration intravenous injection "
    "serum blood peripheral T-cell B-cell regulatory differentiation proliferation apoptosis "
    "signalling pathway receptor activation inhibition factor factors secreted paracrine "
    "mechanism mechanisms function dysfunction tissue repair regeneration damage injury "
    "chronic acute severe mild moderate remission relapse score scores index measured "
    "baseline randomized placebo-controlled phase trials systematic review meta-analysis "
    "however furthermore moreover although whereas thus therefore in the of and to a for "
    "by on at from that this these was were is are be been may might could not also both "
    "Müller naïve rôle café-au-lait 4×10(7) ±SD 37°C µg/mL Straße"
).split()
# Characters outside Windows-1252: a page holding one cannot be saved in that encoding.
RARE_WORDS = ("α-synuclein", "TNF-α", "IFN-γ", "≥50%", "β-cells", "κB")
AUTHORS = ("Wang", "Smith", "Müller", "García", "Nakamura", "O'Brien", "Kowalski", "Li", "Dupont")
TITLE_TOPICS = (
    "Human Umbilical Cord Mesenchymal Stem Cell Therapy",
    "Regulatory T Cells",
    "Interleukin-6 Blockade",
    "Bone Marrow–Derived Stromal Cells",
    "Gut Microbiota",
    "Deep Brain Stimulation",
    "CRISPR–Cas9 Editing",
    "Tumour Necrosis Factor Inhibitors",
    "Thymic Function",
)
TITLE_SETTINGS = (
    "in Patients with Active Rheumatoid Arthritis",
    "in Type 2 Diabetes",
    "after Myocardial Infarction",
    "in Crohn’s Disease",
    "in Children Aged 5–12 Years",
    "in Systemic Lupus Erythematosus",
    "in Mice",
)
TITLE_SUBTITLES = (
    "Safety and Efficacy",
    "A Randomized Controlled Trial",
    "A Systematic Review and Meta-analysis",
    "Mechanisms and Perspectives",
    "Results from the Ørsted Cohort",
    "Lessons from 10 Years of Follow-up",
)
SECTIONS = (
    "Introduction",
    "Background",
    "Discussion",
    "Results",
    "Methods",
    "Materials And Methods",
    "Results And Discussion",
    "Conclusions",
    "2. Methods",
    "II. Results",
    "4. Discussion",
    "Mesenchymal Stromal Cells",
    "Limitations Of Msc-mediated Immune Modulation In the Clinical Setting",
    "Statistical Analysis",
)
SECTION_WORDS = (
    "Role Of Immune Cells In the Regulation Of Tissue Repair After Injury And Chronic "
    "Inflammation Therapeutic Potential Clinical Translation Future Directions Stromal"
).split()


# Lengths follow the real sample (tests/fixtures): its statements hold three or four
# sentences of 15 to 30 words (about 560 characters), its abstract about 600
# characters before the page cut it. Shorter pages would understate MB/s figures.
def sentence(rng: random.Random) -> list[str]:
    words = rng.choices(WORDS, k=between(rng, 12, 30))
    words[0] = words[0][:1].upper() + words[0][1:]
    if rng.random() < 0.08:
        words[rng.randrange(1, len(words))] = rng.choice(RARE_WORDS)
    if rng.random() < 0.2:  # an abbreviation in brackets
        words.insert(rng.randrange(1, len(words)), f"({rng.choice(('UC-MSCs', 'RA', 'DMARDs', 'Tregs'))})")
    return words


def statement_tokens(rng: random.Random) -> list[str]:
    """A statement's canonical tokens with a citation marker of one of the page's styles."""
    tokens: list[str] = []
    marker_style = rng.randrange(5)
    if marker_style == 3 and rng.random() < 0.3:
        tokens.append(str(between(rng, 1, 60)))  # superscript left over from the previous sentence
    sentences = between(rng, 2, 4)
    for position in range(sentences):
        words = sentence(rng)
        if rng.random() < 0.15:  # quoted words inside the text
            at = rng.randrange(1, len(words) - 1)
            open_quote, close_quote = rng.choice((("“", "”"), ('"', '"')))
            words[at] = open_quote + words[at]
            words[at + 1] = words[at + 1] + close_quote
        if rng.random() < 0.12:  # an ellipsis inside the text
            at = rng.randrange(1, len(words) - 1)
            if rng.random() < 0.5:
                words.insert(at, "…")
            else:
                words[at] += "..."
        if marker_style == 0:
            words.append(f"[{between(rng, 1, 80)}].")
        elif marker_style == 1:
            first = between(rng, 1, 60)
            words.append(f"[{first},{first + between(rng, 1, 5)}].")
        elif marker_style == 2:
            first = between(rng, 1, 60)
            words.append(f"[{first}–{first + between(rng, 2, 6)}].")
        elif marker_style == 3:
            words[-1] += "."
            if position < sentences - 1:
                words.append(str(between(rng, 1, 200)))  # superscript flattened into the text
        else:
            author = rng.choice(AUTHORS)
            words.append(f"({author} et al., {between(rng, 1995, 2024)}).")
        tokens.extend(words)
    return tokens


def section_title(rng: random.Random) -> str:
    if rng.random() < 0.25:  # a long title, cut by the page
        title = " ".join(rng.choices(SECTION_WORDS, k=10))
    else:
        title = rng.choice(SECTIONS)
    return title[:SECTION_WIDTH].rstrip()

