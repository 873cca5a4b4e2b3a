"""The ``citelake-check`` flow: a reference list, given by path or as text, checked and published as a Markdown artifact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flows.check import TEXT_NAME, check_flow, is_text
from flows.check_artifacts import ARTIFACT_KEY
from tasks.check.references import BadReferenceFile
from tasks.lake.location import LakeLocation

REPO = Path(__file__).resolve().parent.parent
# As in tests/test_check.py: the example API responses saved after every example page.
API_SAVED_AT = 1_749_988_800
RETRACTED = "10.1089/scd.2003.000012"


def test_a_single_line_is_a_path_unless_it_reads_as_a_reference(tmp_path, monkeypatch) -> None:
    assert not is_text(str(REPO / "examples" / "refs.bib"))
    assert not is_text("manuscript/missing.bib")  # reported as a file that cannot be read
    assert is_text(RETRACTED) and is_text(f"https://doi.org/{RETRACTED}")
    assert is_text("@article{k, doi = {10.1/x}}") and is_text("TY  - JOUR")
    assert is_text("manuscript/missing.bib\n10.1/x")  # more than one line is text
    # A file of that name in the working directory is the path, even when its name reads as a DOI.
    (tmp_path / "10.1089").mkdir()
    (tmp_path / "10.1089" / "refs").write_text(f"{RETRACTED}\n")
    monkeypatch.chdir(tmp_path)
    assert is_text("10.1089/other") and not is_text("10.1089/refs")
    assert is_text("# one comment line")


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory) -> LakeLocation:
    """The example pages and API responses ingested (the responses saved after the pages, as in tests/test_check.py)."""
    from tasks.lake.ingest import ingest

    root = tmp_path_factory.mktemp("check-flow")
    reports, responses = root / "reports", root / "api"
    shutil.copytree(REPO / "examples" / "reports", reports)
    shutil.copytree(REPO / "examples" / "api", responses)
    for response in responses.iterdir():
        os.utime(response, (API_SAVED_AT, API_SAVED_AT))
    location = LakeLocation(path=root / "lake")
    ingest(reports, location)
    ingest(responses, location)
    return location


def _artifact(state):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    (artifact,) = found
    return artifact


@pytest.mark.slow
def test_a_reference_file_is_checked_and_its_report_published(small_lake, prefect_harness) -> None:
    refs = REPO / "examples" / "refs.bib"
    state = check_flow(references=str(refs), lake=str(small_lake.path), return_state=True)
    assert state.is_completed(), state  # a retracted reference is reported, not a failed run
    counts = state.result()
    assert list(counts) == ["references", "retracted", "notice", "contrasting", "ok", "not_in_lake", "no_doi", "invalid_doi"]
    assert (counts["references"], counts["retracted"], counts["not_in_lake"], counts["no_doi"], counts["invalid_doi"]) == (
        7, 1, 1, 1, 1
    )
    artifact = _artifact(state)
    assert (artifact.key, artifact.type) == (ARTIFACT_KEY, "markdown")
    assert artifact.description.startswith("citelake check: 7 references: 1 retracted")
    markdown = artifact.data
    assert markdown.startswith("# Reference check: refs.bib\n")
    retracted = markdown.split("## Retracted (1)\n", 1)[1].split("\n## ", 1)[0]
    assert "### 2. haddad2003: " in retracted and f"DOI [`{RETRACTED}`]" in retracted
    assert "- Editorial notice: Retraction of 2021-06-15, from the scite API" in retracted
    assert markdown.rstrip().endswith(f"Checked `{refs}` against the lake `{small_lake.path}`.")


@pytest.mark.slow
def test_the_text_of_a_reference_list_is_checked_as_its_file_would_be(small_lake, prefect_harness) -> None:
    text = f"# pasted from the manuscript\n10.1089/scd.2013.0023\nhttps://doi.org/{RETRACTED.upper()}\n10.1016/j.cell.2006.07.024\n"
    state = check_flow(references=text, lake=str(small_lake.path), return_state=True)
    assert state.is_completed(), state
    counts = state.result()
    assert (counts["references"], counts["retracted"], counts["not_in_lake"]) == (3, 1, 1)
    markdown = _artifact(state).data
    assert markdown.startswith(f"# Reference check: {TEXT_NAME}\n")
    retracted = markdown.split("## Retracted (1)\n", 1)[1].split("\n## ", 1)[0]
    assert f"### 2. {RETRACTED}: " in retracted
    assert markdown.rstrip().endswith(f"Checked {TEXT_NAME} against the lake `{small_lake.path}`.")
    assert "citelake-check-" not in markdown  # the temporary file is never named

    # One DOI is text too, and the newest report is the artifact's latest version.
    state = check_flow(references=RETRACTED, lake=str(small_lake.path), return_state=True)
    assert state.result()["retracted"] == 1
    assert "## Retracted (1)" in _artifact(state).data


@pytest.mark.slow
def test_text_that_is_no_reference_list_fails_the_run_naming_it(small_lake, prefect_harness) -> None:
    state = check_flow(references="# nothing yet\n\n", lake=str(small_lake.path), return_state=True)
    assert state.is_failed()
    with pytest.raises(BadReferenceFile, match=f"^{TEXT_NAME}: no references in it"):
        state.result()
    state = check_flow(references="manuscript/missing.bib", lake=str(small_lake.path), return_state=True)
    with pytest.raises(BadReferenceFile, match="missing.bib: cannot read it"):
        state.result()


@pytest.mark.slow
def test_citelake_serve_serves_the_check_on_demand(small_lake, prefect_harness) -> None:
    from flows.deployments import scheduled_deployments

    (check,) = [d for d in scheduled_deployments("reports", lake=str(small_lake.path)) if d.flow_name == "citelake-check"]
    assert check.name == "on-demand" and not check.schedules and not check.triggers
    assert check.parameters == {"lake": str(small_lake.path), "catalog": None}
