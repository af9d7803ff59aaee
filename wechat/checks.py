"""WeChat's draft limits as a pre-publication check (interface §10 `wechat_limit`), so a text that cannot go
out on the official account is stopped before anyone signs it, not at go-live."""

from __future__ import annotations

from collections.abc import Iterator

from review import checks, renderings
from review.models import Channel
from review.render import structure_problem
from wechat.channel import PLACEHOLDER_IMAGE_URL
from wechat.render import ContentLimitError, article, check_limits


def wechat_limits(draft: checks.Draft) -> Iterator[checks.Finding]:
    """Title, digest and rendered content against `draft/add`'s limits, with images as uploaded URLs."""
    if Channel.WECHAT not in draft.channels:
        return
    # unsaved text (the editor's live checks) meets the bounds saving applies before it reaches a renderer
    problem = structure_problem(draft.body)
    if problem:
        yield checks.Finding(checks.Code.WECHAT_LIMIT, problem, "", "body")
        return
    try:  # rendered once per text: saving stores this very rendering (review/renderings.py)
        html = article(draft.body, image_url=lambda _src: PLACEHOLDER_IMAGE_URL, store=False).html
    except renderings.RenderRefused as refused:
        yield checks.Finding(checks.Code.WECHAT_LIMIT, refused.reason, "", "body")
        return
    for title, digest, content in ((draft.title, "", ""), ("", draft.digest, ""), ("", "", html)):
        try:
            check_limits(title, digest, content)
        except ContentLimitError as error:
            yield checks.Finding(checks.Code.WECHAT_LIMIT, error.reason, "", error.field)
