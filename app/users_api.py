"""People and the audit trail over the API (interface §11): parse, call one service, shape."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import accounts, audit, paging
from app.api import actor, api_blueprint, json_body, page_args
from app.errors import Forbidden
from app.models import Role, User
from app.openapi import operation
from app.schemas import AuditList, AuditQuery, UserCreate, UserCreated, UserList, UserOut, UserUpdate
from app.validation import Paging, parse_query

bp = api_blueprint("users_api", __name__)


def _admin() -> User:
    user = actor()
    if not user.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以管理用户"))
    return user


@bp.get("/users")
@operation("List users (admin)", query=Paging, responses={200: UserList}, errors=(403,))
def list_users() -> Response:
    """Every user, by username (admin)."""
    _admin()
    users, total = paging.page_of(select(User).options(selectinload(User.unit), selectinload(User.role_rows))
                                  .order_by(User.username), page_args())
    return jsonify({"items": [accounts.user_json(u) for u in users], "total": total})


@bp.post("/users")
@operation("Create a user (admin)", body=UserCreate, responses={201: UserCreated}, errors=(403,))
def create_user() -> tuple[Response, int]:
    """A new user (admin); `password` in the answer only when the server chose it — shown this once."""
    user, password = accounts.admin_create_user(_admin(), json_body())
    body = accounts.user_json(user)
    if password is not None:
        body["password"] = password
    return jsonify(body), 201


@bp.put("/users/<username>")
@operation("Change a user (admin)", body=UserUpdate, responses={200: UserOut}, errors=(403,))
def update_user(username: str) -> Response:
    """Change any of name, unit, roles, email, phone, wechat_id, active (admin); never a deletion."""
    return jsonify(accounts.user_json(accounts.update_user(_admin(), username, json_body())))


def _auditor() -> None:
    if not actor().has_role(Role.OFFICE, Role.ADMIN):
        raise Forbidden(_("只有院办公室和系统管理员可以查看审计记录"))


@bp.get("/audit")
@operation("The audit trail (office, admin)", query=AuditQuery, responses={200: AuditList}, errors=(403,))
def audit_events() -> Response:
    """The audit trail, newest first, filtered (office, admin)."""
    _auditor()
    wanted = parse_query(AuditQuery, request.args, _("筛选条件有误"))
    filters = audit.parse_filters(request.args)
    rows, total = audit.search(filters, wanted.cut)
    return jsonify({"items": [audit.event_json(e) for e in rows], "total": total})


@bp.get("/audit.csv")
@operation("The audit trail as CSV (office, admin)", query=AuditQuery, responses={200: "text/csv"},
           errors=(403,))
def audit_csv() -> Response:
    """The same events as CSV (office, admin): the export."""
    _auditor()
    parse_query(AuditQuery, request.args, _("筛选条件有误"))
    body = audit.to_csv(audit.parse_filters(request.args))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=huiying-audit.csv"})
