"""The `huiying` command as an operator types it (interface §1)."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import ApiToken, User, hash_token


def run(app: Any, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_units_users_tokens(app: Any) -> None:
    assert run(app, "units", "create", "OFFICE", "院办公室").exit_code == 0
    result = run(app, "units", "create", "ZBS", "植物保护研究所", "--parent", "OFFICE")
    assert result.exit_code == 0
    again = run(app, "units", "create", "ZBS", "重复")
    assert again.exit_code == 1 and "ZBS" in again.output

    result = run(app, "users", "create", "li", "--unit", "ZBS", "--role", "drafter", "--role", "expert",
                 "--name", "李四", "--password-stdin", input="a long password\n")
    assert result.exit_code == 0, result.output
    assert "password" not in result.output
    result = run(app, "users", "create", "wang", "--unit", "ZBS", "--role", "leader")
    assert result.exit_code == 0
    printed = [line for line in result.output.splitlines() if line.startswith("password: ")]
    assert len(printed) == 1 and len(printed[0]) > 20
    assert run(app, "users", "create", "zhao", "--unit", "NOPE", "--role", "leader").exit_code == 1
    assert run(app, "users", "create", "zhao", "--unit", "ZBS", "--role", "boss").exit_code != 0

    with app.app_context():
        li = User.by_username("li")
        assert li is not None and li.check_password("a long password")
        assert {r.value for r in li.roles} == {"drafter", "expert"} and li.display_name == "李四"

    result = run(app, "tokens", "create", "li")
    assert result.exit_code == 0
    token = result.output.strip()
    assert "\n" not in token and token.startswith("hy_")
    with app.app_context():
        stored = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        assert stored is not None and token not in stored.token_hash
    resp = app.test_client().get("/api/v1/statements", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert run(app, "tokens", "create", "nobody").exit_code == 1


def test_demo_is_idempotent(app: Any) -> None:
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    assert "zbs_drafter" in first.output
    second = run(app, "demo")
    assert second.exit_code == 0 and second.output.strip() == ""
    with app.app_context():
        assert User.by_username("office") is not None


def test_ledger_verify_on_empty_ledger(app: Any) -> None:
    result = run(app, "ledger", "verify")
    assert result.exit_code == 0 and result.output.strip() == "OK 0 " + "0" * 64
