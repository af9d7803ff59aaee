"""Temporary shell."""

from flask import Blueprint, Flask

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> str:
    return "ok"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
