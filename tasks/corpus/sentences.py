"""The words of a synthetic page: titles, abstracts, citation statements and section titles.

Statements read as the sentences in which one paper cites another: a supporting
one carries the cues of agreement ("consistent with", "confirmed"), a
contrasting one of disagreement ("in contrast to", "failed to confirm"), a
mentioning one neither ("has been described", "reviewed in"), set among a
sentence or three of context. They speak of the cited paper's own subject (the
treatment and setting of its title) about half the time, so that a search hit
can be judged against the paper it cites.

Lengths follow the real sample (``tests/fixtures/scd.2013.0023.txt``): statements
of two to four sentences (about 520 characters), abstracts of three to seven.
Benchmarks read MB/s, so shorter pages would flatter them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from tasks.reading.record import StatementType

SECTION_WIDTH = 60  # the page cuts section titles at this many characters


def between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)``, several times faster (the generator calls it a lot)."""
    return low + int(rng.random() * (high - low + 1))


@dataclass(frozen=True, slots=True)
class Subject:
    """What a paper is about: its title's words, and the same in a sentence's words."""

    title: str
    treatment: str  # "transplantation of UC-MSCs": what was done
    agent: str  # "UC-MSCs": what did it, as a sentence's subject


# (title phrase, treatment phrase, agent phrase)
TOPICS = tuple(
    Subject(*row)
    for row in (
        ("Human Umbilical Cord Mesenchymal Stem Cell Therapy", "infusion of umbilical cord-derived MSCs (UC-MSCs)", "UC-MSCs"),
        ("Regulatory T Cells", "adoptive transfer of regulatory T cells (Tregs)", "Tregs"),
        ("Interleukin-6 Blockade", "IL-6 receptor blockade with tocilizumab", "tocilizumab"),
        ("Bone Marrow–Derived Stromal Cells", "intramyocardial injection of bone marrow–derived stromal cells", "marrow stromal cells"),
        ("Induced Pluripotent Stem Cell–Derived Cardiomyocytes", "engraftment of iPSC-derived cardiomyocytes", "iPSC-derived cardiomyocytes"),
        ("Endothelial Progenitor Cells", "transplantation of endothelial progenitor cells (EPCs)", "EPCs"),
        ("Statin Therapy", "high-dose atorvastatin", "atorvastatin"),
        ("Exosomes from Mesenchymal Stem Cells", "treatment with MSC-derived exosomes", "MSC exosomes"),
        ("Tumour Necrosis Factor Inhibitors", "TNF inhibition with etanercept", "etanercept"),
    )
)
# (title phrase, the same as a sentence's setting)
SETTINGS = (
    ("in Patients with Active Rheumatoid Arthritis", "in patients with active rheumatoid arthritis"),
    ("in Type 2 Diabetes", "in patients with type 2 diabetes"),
    ("after Myocardial Infarction", "after acute myocardial infarction"),
    ("in Crohn’s Disease", "in patients with refractory Crohn’s disease"),
    ("in Children Aged 5–12 Years", "in children aged 5–12 years"),
    ("in Systemic Lupus Erythematosus", "in systemic lupus erythematosus"),
    ("in Mice", "in mice"),
    ("in Heart Failure with Reduced Ejection Fraction", "in heart failure with reduced ejection fraction"),
)
TITLE_SUBTITLES = (
    "Safety and Efficacy",
    "A Randomized Controlled Trial",
    "A Systematic Review and Meta-analysis",
    "Mechanisms and Perspectives",
    "Results from the Ørsted Cohort",
    "Lessons from 10 Years of Follow-up",
    "A Phase II Study",
)

# The vocabulary of other papers' work, for the half of the sentences not about the cited paper.
AGENTS = (
    "mesenchymal stromal cells (MSCs)",
    "bone marrow mononuclear cells",
    "cardiac progenitor cells",
    "naïve CD4+ T cells",
    "dendritic cells",
    "M2 macrophages",
    "adipose-derived stem cells",
    "hematopoietic stem cells (HSCs)",
    "low-dose interleukin-2",
    "rituximab",
    "metformin",
    "empagliflozin",
)
TREATMENTS = (
    "intravenous infusion of 1×10(6) cells/kg",
    "intracoronary delivery of autologous cells",
    "co-culture with MSCs for 72 h",
    "knockdown of HIF-1",
    "overexpression of VEGF",
    "pretreatment with interferon gamma",
    "repeated subcutaneous injections",
    "hypoxic preconditioning at 37 °C",
    "a single intraperitoneal dose of 50 µg",
    "methotrexate plus hydroxychloroquine",
)
EFFECTS_UP = ("increased", "improved", "enhanced", "restored", "promoted", "preserved")
EFFECTS_DOWN = ("reduced", "attenuated", "suppressed", "lowered", "inhibited", "decreased")
MEASURES = (
    "left ventricular ejection fraction (LVEF)",
    "infarct size",
    "serum levels of IL-6 and IL-17",
    "the proportion of CD4+CD25+Foxp3+ regulatory T cells",
    "disease activity (DAS28) scores",
    "cardiomyocyte apoptosis in the border zone",
    "the frequency of Th17 cells in peripheral blood",
    "capillary density",
    "collagen deposition and fibrosis",
    "HbA1c",
    "insulin secretion",
    "neutrophil infiltration",
    "proliferation of activated T cells",
    "the number of circulating endothelial progenitor cells",
    "C-reactive protein levels",
    "joint swelling and erosion",
    "glucose tolerance",
    "the rate of major adverse cardiac events",
)
MECHANISMS = (
    "paracrine signalling",
    "secretion of prostaglandin E2",
    "indoleamine 2,3-dioxygenase activity",
    "mitochondrial transfer",
    "immune privilege",
    "homing to the injured tissue",
    "the PI3K/Akt pathway",
    "cell–cell contact through PD-L1",
    "polarisation of macrophages towards an M2 phenotype",
)
MODELS = (
    "in a murine model of collagen-induced arthritis",
    "in a rat model of ischaemia–reperfusion injury",
    "in a porcine model of chronic ischaemia",
    "in human umbilical vein endothelial cells (HUVECs)",
    "in vitro",
    "in a phase II trial of 172 patients",
    "in NOD/SCID mice",
    "in a cohort of 1,204 patients followed for 5 years",
    "in streptozotocin-induced diabetic rats",
)
TOPIC_NOUNS = (
    "the immunomodulatory capacity of MSCs",
    "the safety of cell therapy in autoimmune disease",
    "cardiac regeneration after infarction",
    "the role of regulatory T cells in tolerance",
    "the search for biomarkers of disease activity",
    "the expansion of stromal cells in culture",
    "the pathogenesis of rheumatoid arthritis",
    "adverse remodelling in heart failure",
    "the clinical translation of stem cell therapies",
)
# Terms Windows-1252 cannot hold: a page with one is saved as UTF-8 whatever its style,
# so they stay as rare as in real pages (a sentence in twelve) for cp1252 pages to occur.
RARE_MEASURES = ("serum TNF-α levels", "IFN-γ production", "NF-κB activation", "β-cell function", "TGF-β1 expression")
P_RARE = 0.08

# Author–year markers: each name must match \w+ (a test finds the marker so).
AUTHORS = ("Wang", "Smith", "Müller", "García", "Nakamura", "Kowalski", "Li", "Dupont", "Okafor", "Lindqvist")

# The citing sentence, by the statement's type: {finding} is a clause, {topic} a noun phrase.
SUPPORTING = (
    "Consistent with previous reports, {finding}",
    "These results are in agreement with the findings of a recent study, which showed that {finding}",
    "As previously shown, {finding}",
    "Our data confirm that {finding}",
    "In line with earlier work, we observed that {finding}",
    "This confirms the observation that {finding}",
    "Similarly, it has been demonstrated that {finding}, which agrees with our results",
    "We found, as did others, that {finding}",
)
CONTRASTING = (
    "In contrast to previous reports, {nonfinding}",
    "Contrary to an earlier study suggesting that {finding}, we found no such effect",
    "We did not replicate the observation that {finding}",
    "However, a subsequent randomised trial failed to confirm that {finding}",
    "Unlike earlier studies, {nonfinding}",
    "These data contradict the previous claim that {finding}",
    "Our results differ from those of a prior study in which {finding}",
)
MENTIONING = (
    "{Topic} has been described in detail",
    "{Topic} is reviewed in",
    "Cells were isolated and expanded as described previously, and {treatment} was used as in",
    "Several studies have tested {agent} {setting}",
    "Several groups have investigated {topic}",
    "It has been proposed that {finding}",
    "{Topic} has received growing attention over the past decade",
    "The protocol for {treatment} followed that of",
    "Earlier studies examined whether {finding}",
)
CONTEXT = (
    "Much remains unknown about {topic}, despite considerable progress over the past two decades",
    "The effects of {agent} are thought to depend on {mechanism}",
    "Patients received {treatment} and were followed for {months} months",
    "We assessed {measure} at baseline and after {months} months",
    "The mechanisms underlying this effect may involve {mechanism}",
    "Taken together, these observations suggest that {topic} deserves further study in larger cohorts",
    "A number of questions remain, including the optimal dose and timing of {treatment}",
    "Animals were randomised to {treatment} or vehicle control and examined by an investigator blinded to the group",
)
ABSTRACT_BACKGROUND = (
    "{Topic} remains an unmet clinical need",
    "Treatment with {agent} has shown promise {setting}, but its mechanism of action is unclear",
    "Few studies have examined {topic} {setting}",
)
ABSTRACT_METHODS = (
    "We enrolled {n} patients and randomised them to {treatment} or placebo",
    "We investigated whether {treatment} {effect} {measure} {setting}",
    "We measured {measure} at baseline and after {months} months of follow-up",
)
ABSTRACT_RESULTS = (
    "{Treatment_} {effect} {measure} compared with controls (p < 0.05)",
    "No serious adverse events were recorded during {months} months of follow-up",
    "The effect was accompanied by reduced {measure_short} and depended on {mechanism}",
    "An improvement in {measure} was seen in {n} of the treated patients",
)
ABSTRACT_CONCLUSION = (
    "These findings suggest that {treatment} is safe {setting_short}",
    "The benefit of {agent} may depend on {mechanism}, which warrants larger trials",
)

# What a sentence may add after a comma (real ones run to 15-30 words): a finding's
# circumstances, a method's details, or a remark on anything else.
RESULT_CLAUSES = (
    "and this effect persisted for up to {months} months after treatment",
    "an effect that was independent of age, sex and baseline disease activity",
    "although the number studied was small (n = {n})",
    "which was accompanied by a marked change in {measure_short}",
    "particularly in those with the most severe disease at baseline",
    "suggesting that {mechanism} plays a central role in this process",
    "whereas the untreated controls showed no change over the same period",
    "even after adjustment for potential confounders in a multivariable model",
)
METHOD_CLAUSES = (
    "as measured by flow cytometry and enzyme-linked immunosorbent assay",
    "as determined by echocardiography and cardiac magnetic resonance imaging",
    "with no serious adverse events reported during the follow-up period",
    "following a protocol approved by the local ethics committee",
    "using the same criteria for inclusion and exclusion as the original study",
)
REMARK_CLAUSES = (
    "a point that has been raised by several authors",
    "which is relevant to the design of future clinical trials",
    "and this has implications for the interpretation of earlier results",
    "as discussed in recent reviews of the field",
)
METHOD_OPENINGS = ("Patients ", "We assessed", "We measured", "We enrolled", "Animals ", "Cells ", "The protocol")
CLAUSES = RESULT_CLAUSES + METHOD_CLAUSES + REMARK_CLAUSES


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
    "Statistical Analysis",
    "Study Population",
    "Cell Culture And Flow Cytometry",
)
# Long titles the page cuts at SECTION_WIDTH, title-cased as it shows them.
LONG_SECTIONS = (
    "Limitations Of Msc-mediated Immune Modulation In the Clinical Setting",
    "Mesenchymal Stromal Cells As A Treatment For Refractory Autoimmune Disease",
    "Regulatory T Cells In the Maintenance Of Peripheral Tolerance And Their Expansion",
    "Cardiac Regeneration After Myocardial Infarction: From Progenitor Cells To Paracrine Effects",
    "Safety And Feasibility Of Intravenous Cell Therapy In Patients With Rheumatoid Arthritis",
    "Paracrine Mechanisms Of Stem Cell-mediated Repair In the Ischaemic Heart",
    "The Role Of Inflammatory Cytokines In the Progression Of Heart Failure",
    "Future Directions For Clinical Translation Of Cell-based Therapies",
)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(
    rng: random.Random, template: str, subject: Subject, setting: str, *, own: bool | None = None, clause: float = 1.0
) -> str:
    """``template`` with its slots filled, and a clause added after a comma with probability ``clause``.

    Unless ``own`` says, about half of the slots name the cited paper's subject and setting.
    """
    if own is None:
        own = rng.random() < 0.5
    agent = subject.agent if own else rng.choice(AGENTS)
    treatment = subject.treatment if own else rng.choice(TREATMENTS)
    where = setting if own else rng.choice(MODELS)
    measure = rng.choice(RARE_MEASURES) if rng.random() < P_RARE else rng.choice(MEASURES)
    values = {
        "finding": f"{treatment} {rng.choice(EFFECTS_UP + EFFECTS_DOWN)} {measure} {where}",
        "nonfinding": f"{treatment} did not alter {measure} {where}",
        "topic": rng.choice(TOPIC_NOUNS),
        "agent": agent,
        "treatment": treatment,
        "treatment_": treatment,
        "setting": where,
        "setting_short": setting,
        "measure": measure,
        "measure_short": rng.choice(MEASURES),
        "mechanism": _maybe_quoted(rng, rng.choice(MECHANISMS)),
        "effect": rng.choice(EFFECTS_UP + EFFECTS_DOWN),
        "months": str(rng.choice((3, 6, 12, 24, 36))),
        "n": str(between(rng, 12, 480)),
    }
    values.update({_capital(key): _capital(value) for key, value in values.items()})
    text = template.format_map(values)
    # A template that ends naming a work ("reviewed in") takes its citation marker next.
    if not template.endswith((" in", " of")) and rng.random() < clause:
        if "finding}" in template or "{effect}" in template:
            clauses = RESULT_CLAUSES
        elif template.startswith(METHOD_OPENINGS):
            clauses = METHOD_CLAUSES
        else:
            clauses = REMARK_CLAUSES
        text += ", " + rng.choice(clauses).format_map(values)
    return text


def _maybe_quoted(rng: random.Random, phrase: str) -> str:
    """A term the citing author put in quotes, in one of the two quote styles the pages show."""
    if rng.random() < 0.3:
        open_quote, close_quote = rng.choice((("“", "”"), ('"', '"')))
        return f"{open_quote}{phrase}{close_quote}"
    return phrase


def title(rng: random.Random) -> tuple[str, Subject, str]:
    """A paper's title, its subject and its setting in a sentence's words."""
    subject = rng.choice(TOPICS)
    setting_title, setting = rng.choice(SETTINGS)
    return f"{subject.title} {setting_title}: {rng.choice(TITLE_SUBTITLES)}", subject, setting


def abstract(rng: random.Random, subject: Subject, setting: str) -> str:
    """Three to seven sentences: background, methods, results and a conclusion."""
    parts = [ABSTRACT_BACKGROUND, ABSTRACT_METHODS, ABSTRACT_RESULTS, ABSTRACT_CONCLUSION]
    middle = [rng.choice((ABSTRACT_METHODS, ABSTRACT_RESULTS)) for _ in range(between(rng, 0, 3))]
    parts[2:2] = middle
    return " ".join(_capital(_fill(rng, rng.choice(templates), subject, setting, own=True, clause=0.8)) + "." for templates in parts)


def _sentence(rng: random.Random, template: str, subject: Subject, setting: str) -> list[str]:
    words = _capital(_fill(rng, template, subject, setting)).split(" ")
    if rng.random() < 0.12:  # an ellipsis inside the text, where the citing author left words out
        at = rng.randrange(1, len(words) - 1)
        if rng.random() < 0.5:
            words.insert(at, "…")
        else:
            words[at] += "..."
    return words


CITING = {"supporting": SUPPORTING, "contrasting": CONTRASTING, "mentioning": MENTIONING}


def statement_tokens(rng: random.Random, statement_type: StatementType, subject: Subject, setting: str) -> list[str]:
    """A statement's canonical tokens, each sentence with a citation marker of one of the page's styles.

    One sentence cites with the cues of ``statement_type``; the others are its context.
    """
    tokens: list[str] = []
    marker_style = rng.randrange(5)
    if marker_style == 3 and rng.random() < 0.3:
        tokens.append(str(between(rng, 1, 60)))  # superscript left over from the previous sentence
    sentences = between(rng, 2, 4)
    context = rng.sample(CONTEXT, sentences - 1)  # no context sentence twice in a statement
    context.insert(rng.randrange(sentences), rng.choice(CITING[statement_type]))
    for position, template in enumerate(context):
        words = _sentence(rng, template, subject, setting)
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
    title = rng.choice(LONG_SECTIONS) if rng.random() < 0.25 else rng.choice(SECTIONS)
    return title[:SECTION_WIDTH].rstrip()


# Every word a statement may hold, for benchmarks that query generated lakes (bench/bench_search.py).
WORDS = tuple(
    sorted(
        {
            word
            for phrases in (SUPPORTING, CONTRASTING, MENTIONING, CONTEXT, CLAUSES, AGENTS, TREATMENTS, MEASURES, MECHANISMS, MODELS, TOPIC_NOUNS)
            for phrase in phrases
            for word in re.sub(r"\{\w+\}", " ", phrase).split()
        }
        | {word for subject in TOPICS for word in f"{subject.treatment} {subject.agent}".split()}
    )
)
