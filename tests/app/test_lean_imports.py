"""The app and the release worker do not load the document libraries until a document is made.

python-docx and openpyxl cost each web and release worker ~12 MB at start (issue 13: a release worker over
10,000 publications measured 153 MB against a goal of 150); only the requests and the daily job that write
a .docx or .xlsx need them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_REDIS_URL

PROBE = """
import sys
from app import create_app
app = create_app()
import publishing.worker, publishing.dispatch, wechat.channel, reports.schedule, reports.api, cases.api
print(",".join(m for m in ("docx", "openpyxl") if m in sys.modules))
"""


def test_starting_the_app_and_the_worker_loads_no_document_library(tmp_path: Path) -> None:
    env = {"HUIYING_INSTANCE": str(tmp_path), "REDIS_URL": TEST_REDIS_URL, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""])
