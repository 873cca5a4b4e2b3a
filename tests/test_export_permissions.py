"""An export is for others to read: its folder and files follow the umask, not mkdtemp's private 0700."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation

REPO = Path(__file__).resolve().parent.parent


def test_the_export_folder_and_files_follow_the_umask(tmp_path: Path) -> None:
    location = LakeLocation(path=tmp_path / "lake")
    open_lake(location).close()  # an empty lake: its tables exist
    out_dir = tmp_path / "export"

    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "export", str(out_dir), "--lake", str(location.path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out_dir.stat().st_mode) == 0o755
    files = sorted(out_dir.iterdir())
    assert files
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files} == {path.name: "0o644" for path in files}
