"""Links in a statement to the portal's own release pages that lead nowhere (interface §10 `dead_internal_link`)."""

from __future__ import annotations

from collections.abc import Iterator

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from publishing.models import Delivery, Release
from review import checks
from review.models import Channel


def live_release_pages(ids: set[int]) -> set[int]:
    """The statement ids among `ids` whose `/releases/{id}` page exists (it went out on the portal)."""
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Release.statement_id)
        .join(Delivery, (Delivery.release_id == Release.id) & (Delivery.channel == Channel.PORTAL))
        .where(Release.statement_id.in_(ids), Delivery.published_at.is_not(None))
    ))


def dead_internal_links(draft: checks.Draft) -> Iterator[checks.Finding]:
    """A link to `/releases/{id}` for a statement that never went out on the portal."""
    found = [link for link in checks.links(draft.body) if link.release_id is not None]
    live = live_release_pages({link.release_id for link in found if link.release_id is not None})
    for link in found:
        if link.release_id not in live:
            yield checks.Finding(checks.Code.DEAD_INTERNAL_LINK,
                                 _("链接指向的发布页面不存在：%(u)s", u=link.url), link.url, "body",
                                 link.start, link.end)
