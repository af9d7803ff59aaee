"""The operators' and integrators' documentation (docs/) says what the code does, and stands on its own."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.signing import sign, signed_headers
from tests.conftest import TEST_REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_environment_variable_the_app_reads_is_documented() -> None:
    read = set()
    for source in (ROOT / "app/config.py", ROOT / "app/__init__.py", ROOT / "huiying/devrun.py"):
        read |= set(re.findall(r"""(?:env|environ)\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", _read(source)))
        read |= set(re.findall(r"""(?:env|environ)\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""", _read(source)))
    assert {"SECRET_KEY", "DATABASE_URL", "TRUSTED_PROXIES", "HUIYING_INSTANCE"} <= read  # the scan works
    documented = _read(DOCS / "configuration.md")
    missing = sorted(name for name in read if f"`{name}`" not in documented)
    assert not missing, f"docs/configuration.md does not describe {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_resolve(page: Path) -> None:
    for target in LINK.findall(_read(page)):
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE), f"{page.name} links outside: {target}"
        path = target.split("#", 1)[0]
        if path:
            assert (page.parent / path).exists(), f"{page.name} links to a missing file: {target}"


def test_the_index_lists_every_page() -> None:
    index = _read(DOCS / "README.md")
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name
    assert "](docs/README.md)" in _read(ROOT / "README.md")


def _webhook_verifier() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", _read(DOCS / "webhooks.md"), re.DOTALL)
    (code,) = [block for block in blocks if "def verify(" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - the documented snippet itself
    return namespace["verify"]


def test_the_documented_signature_check_accepts_huiyings_signatures_and_nothing_else() -> None:
    verify = _webhook_verifier()
    body = '{"event":"notification","subject":"【提醒】舆情处置时限已过半"}'.encode()
    headers = signed_headers("gateway-secret", "5b1c6f0e-0000-4000-8000-000000000000", body, user_agent="t")
    assert verify("gateway-secret", headers, body)
    assert not verify("other-secret", headers, body)
    assert not verify("gateway-secret", headers, body.replace("过半".encode(), "已过".encode()))
    assert not verify("gateway-secret", {**headers, "X-Huiying-Signature": ""}, body)

    stale = str(int(time.time()) - 3600)  # a replay of an old request, correctly signed
    replayed = {**headers, "X-Huiying-Timestamp": stale, "X-Huiying-Signature": sign("gateway-secret", stale, body)}
    assert not verify("gateway-secret", replayed, body)
    fresh = str(int(time.time()))
    portal = {"X-Huiying-Timestamp": fresh, "X-Huiying-Signature": sign("cms-secret", fresh, body)}
    assert verify("cms-secret", portal, body)


def test_the_worker_page_names_every_queue_and_periodic_step(tmp_path: Path) -> None:
    from app import periodic
    from app.notifications.outgoing import QUEUE_NAME
    from publishing.queues import QUEUE_NAMES

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'docs.db'}", "REDIS_URL": TEST_REDIS_URL,
                      "SECRET_KEY": "docs-test", "MEDIA_ROOT": str(tmp_path / "media")})
    page = _read(DOCS / "worker.md")
    steps = [name for name, _ in periodic.steps(app)]
    assert steps  # the packages declared some
    for name in [*QUEUE_NAMES, QUEUE_NAME, *steps]:
        assert f"| `{name}` |" in page, f"docs/worker.md does not describe {name!r}"
