"""改为发布: a statement waiting for the mass-send quota goes out now as a free publication (interface §14).

One service for the JSON API (`POST /statements/{id}/wechat-mode`) and the statement page's form, so both
check the same rights and write the same audit event.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app import audit
from app.errors import Forbidden, WrongState
from app.extensions import db
from app.models import Role, User
from app.tx import begin_write
from review.models import Statement
from review.services import get_statement
from wechat import quota


def may_switch(user: User, st: Statement) -> bool:
    """The statement's unit's leader and office may switch it (not its drafter, not its experts)."""
    return user.has_role(Role.OFFICE) or (user.has_role(Role.LEADER) and user.unit_id == st.unit_id)


def switch_to_publish(actor: User, statement_id: int) -> Statement:
    """Take the statement out of the queue for the next mass send and publish it freely now; 409 when it is
    not waiting for quota (sent meanwhile, never a mass send, retracted)."""
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    if not may_switch(actor, st):
        raise Forbidden(_("只有本单位领导或办公室可以改为发布"))
    if not quota.switch_to_publish(actor, st):
        raise WrongState(_("该回应没有在等待群发名额，不能改为发布"))
    audit.record(actor, "statement.wechat_mode", st, before={"wechat_mode": st.wechat_mode},
                 after={"wechat_mode": "publish"})
    st.wechat_mode = "publish"
    db.session.commit()  # its delivery was made ready now in this transaction (quota.switch_to_publish)
    found = db.session.get(Statement, statement_id)
    assert found is not None
    return found
