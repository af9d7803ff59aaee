"""The live preview over HTTP: unsaved text as each channel would receive it, for the editor as you type."""

from __future__ import annotations

from typing import Annotated

from flask import Response, jsonify
from flask_babel import gettext as _
from pydantic import Field

from app.api import actor, api_blueprint, json_body
from app.openapi import Out, operation
from app.validation import Body, Msg, parse
from review import preview

bp = api_blueprint("preview_api", __name__)


class PreviewIn(Body):
    """`POST /preview`: the Markdown body the editor holds (nothing is saved)."""

    body: Annotated[str | None, Field(description="Markdown, as in `POST /statements`"),
                    Msg(lambda: _("必须是字符串"))] = ""


class PreviewOut(Out):
    """Each channel's HTML of the text, from the renderers publishing uses."""

    channels: dict[str, str] = Field(description="channel → HTML (`portal`, and `wechat` when available)")


@bp.post("/preview")
@operation("Render unsaved text for every channel (the editor's live preview)", body=PreviewIn,
           responses={200: PreviewOut})
def preview_text() -> Response:
    """Nothing is saved and only the Markdown's structure is checked (the same bounds as saving)."""
    actor()
    values = parse(PreviewIn, json_body())
    return jsonify({"channels": preview.render_text((values.body or "").replace("\r\n", "\n"))})
