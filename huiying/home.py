"""The home page, 我的工作: every work list the signed-in person has, from every package, most urgent first."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import nav
from cases import queries as case_queries
from cases.views import list_items
from review import worklists

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/")
@login_required
def home() -> str:
    """The signed-in person's statements to write, review or approve, and the cases waiting for them."""
    user = current_user._get_current_object()
    cases, cases_total = case_queries.waiting_for(user)
    return render_template("huiying/home.html", lists=worklists.for_user(user), cases=list_items(cases),
                           cases_total=cases_total)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    nav.add(app, nav.Entry("web.home", _l("我的工作"), 10, current=("web.home", "review.worklist")))
