"""Public portal pages (interface §4), the public record, the office's publishing desk, and /healthz."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import werkzeug
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from rq import Worker
from sqlalchemy import and_, func, or_, select, text

from app import paging, params, prg
from app.errors import HuiyingError, Invalid
from app.extensions import db, get_redis
from app.models import Role, Unit, User
from app.paging import Cut
from publishing import checkpoints, corrections, ledger, queues, services
from publishing.models import Delivery, DeliveryState, Release
from review import renderings
from review import services as review_services
from review.labels import CHANNEL, STATUS
from review.models import Channel, Revision, Statement, Status

bp = Blueprint("publishing", __name__, template_folder="templates")

PER_PAGE = 20


def channel_name(channel: str) -> str:
    """门户网站 / 微信公众号: what people read for a channel's stored name."""
    return CHANNEL.get(channel, channel)


#: A statement cancelled before its go-live time ends `retracted` (interface §3), but nothing was said:
#: people read that, not 已撤回.
CANCELLED = _l("已取消（未发出）")


def status_label(st: Statement) -> str:
    """The word for a statement's state as lists and pages show it: 已取消（未发出） for a cancelled one.

    Asked of the release by id: list rows load only their own columns (review/worklists.py), and few are retracted.
    """
    if st.status == Status.RETRACTED and db.session.scalar(
            select(Release.cancelled).where(Release.statement_id == st.id)):
        return str(CANCELLED)
    return STATUS.get(st.status, st.status)


def _page() -> int:
    return params.page_number(request.args.get("page"))


def _portal_published():
    """Releases that went out on the portal (retracted ones stay listed, with their notice)."""
    return (
        select(Release, Delivery.published_at, Delivery.url)
        .join(Delivery, (Delivery.release_id == Release.id) & (Delivery.channel == Channel.PORTAL))
        .where(Delivery.published_at.is_not(None))
    )


def _public_units() -> list[Unit]:
    """The units that have said something on the portal: the public list's unit filter."""
    speaking = select(Statement.unit_id).join(Release, Release.statement_id == Statement.id).join(
        Delivery, (Delivery.release_id == Release.id) & (Delivery.channel == Channel.PORTAL)
    ).where(Delivery.published_at.is_not(None))
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(speaking)).order_by(Unit.code)))


@bp.get("/releases")
def releases() -> str:
    """The portal's list, newest first; searchable by words of the title or text, and by unit."""
    page = _page()
    query = _portal_published()
    q = request.args.get("q", "").strip()[:100]
    units = _public_units()
    unit = next((u for u in units if u.code == request.args.get("unit", "")), None)
    if q or unit is not None:
        query = query.join(Statement, Statement.id == Release.statement_id)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        published_text = Revision.id == Release.revision_id
        # a retracted text is no longer shown, so its words must not find it either (its title still does)
        query = query.join(Revision, published_text).where(
            or_(Revision.title.ilike(like), and_(Release.retracted_at.is_(None), Revision.body.ilike(like))))
    if unit is not None:
        query = query.where(Statement.unit_id == unit.id)
    at = Cut(page, PER_PAGE)
    rows, total = paging.rows_of(query.order_by(Delivery.published_at.desc()), at)
    return render_template("publishing/releases.html", rows=rows, page=page, pages=at.pages(total),
                           corrected=_corrected([rel.statement_id for rel, _p, _u in rows]),
                           q=q, units=units, unit=unit.code if unit else "", total=total)


def _corrected(statement_ids: list[int]) -> dict[int, int]:
    """{original id: id of its latest published correction} among these statements (one query)."""
    if not statement_ids:
        return {}
    found = db.session.execute(
        _portal_published().with_only_columns(Statement.corrects_id, Release.statement_id)
        .join(Statement, Statement.id == Release.statement_id)
        .where(Statement.corrects_id.in_(statement_ids)).order_by(Delivery.published_at)
    ).all()
    return {original: correction for original, correction in found}


@bp.get("/releases/<int:statement_id>")
def release(statement_id: int) -> str | tuple[str, int]:
    row = db.session.execute(_portal_published().where(Release.statement_id == statement_id)).first()
    if row is None:
        abort(404)
    rel, published_at, url = row
    if rel.retracted_at is None and rel.id not in ledger.releases_on_record([rel]):
        current_app.logger.error("release %d: the stored text no longer matches the ledger; not served", statement_id)
        return render_template("publishing/not_on_record.html", rel=rel), 409
    fixes = db.session.execute(
        _portal_published().join(Statement, Statement.id == Release.statement_id)
        .where(Statement.corrects_id == statement_id).order_by(Delivery.published_at)
    ).all()
    html = Markup(renderings.html_or_notice("portal", rel.revision.body)) if rel.retracted_at is None else None
    return render_template("publishing/release.html", rel=rel, st=rel.statement, published_at=published_at,
                           html=html, corrections=fixes)


_SITE_PATH = re.compile(r'(\s(?:src|href))="/(?!/)')


def absolute_urls(html: str, base: str) -> str:
    """A feed is read elsewhere: `/media/…` and other site paths in sanitized HTML become absolute."""
    return _SITE_PATH.sub(lambda m: f'{m.group(1)}="{base.rstrip("/")}/', html)


#: the Atom extension element carrying the latest signed checkpoint (docs/ledger.md)
CHECKPOINT_NS = "urn:huiying:ledger:checkpoint"


@bp.get("/releases/feed.xml")
def feed() -> Response:
    rows = db.session.execute(_portal_published().order_by(Delivery.published_at.desc()).limit(50)).all()
    base = current_app.config["PUBLIC_BASE_URL"]
    updated = max((p for _r, p, _u in rows), default=datetime(2017, 2, 24, tzinfo=UTC))
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">',
        f"<title>{escape(current_app.config['INSTITUTION_NAME'] + ' · ' + _('权威发布'))}</title>",
        f'<link rel="alternate" type="text/html" href="{escape(base)}/releases"/>',
        f'<link rel="self" type="application/atom+xml" href="{escape(base)}/releases/feed.xml"/>',
        f"<id>{escape(base)}/releases/feed.xml</id>",
        f"<updated>{updated.isoformat()}</updated>",
    ]
    checkpoint, key = checkpoints.latest_stored(), checkpoints.public_key_info()
    if checkpoint is not None and key is not None:  # the record's latest signed head, for readers who keep copies
        attributes = " ".join(f"{name}={quoteattr(str(value))}" for name, value in
                              [*checkpoint.json().items(), ("public_key", key["public_key"])])
        parts.append(f'<hy:checkpoint xmlns:hy="{CHECKPOINT_NS}" {attributes}/>')
    on_record = ledger.releases_on_record(rel for rel, _p, _u in rows)
    for rel, published_at, _url in rows:
        link = f"{base}/releases/{rel.statement_id}"
        st = rel.statement
        retracted = rel.retracted_at is not None
        if not retracted and rel.id not in on_record:  # changed in the database since: never pass it on
            parts += ["<entry>", f"<title>{escape(_('此条信息暂停提供'))}</title>",
                      f'<link rel="alternate" type="text/html" href="{escape(link)}"/>', f"<id>{escape(link)}</id>",
                      f"<published>{published_at.isoformat()}</published>",
                      f"<updated>{published_at.isoformat()}</updated>",
                      f"<author><name>{escape(st.unit.name)}</name></author>",
                      f"<summary>{escape(_('本站存档的文字与发布记录不一致，暂停提供。'))}</summary>", "</entry>"]
            continue
        original = corrections.original_of(st)  # a correction says so in readers too (更正说明)
        content = (
            escape(_("该信息已撤回：%(r)s", r=rel.retraction_reason or "")) if retracted
            else escape(absolute_urls((corrections.notice_html(original) if original else "")
                                      + renderings.html_or_notice("portal", rel.revision.body), base))
        )
        mark = ("[" + _("已撤回") + "] " if retracted else "") + ("[" + _("更正") + "] " if original else "")
        parts += [
            "<entry>",
            f"<title>{escape(mark)}{escape(rel.revision.title)}</title>",
            f'<link rel="alternate" type="text/html" href="{escape(link)}"/>',
            f"<id>{escape(link)}</id>",
            f"<published>{published_at.isoformat()}</published>",
            f"<updated>{(rel.retracted_at or published_at).isoformat()}</updated>",
            f"<author><name>{escape(st.unit.name)}</name></author>",
            f"<summary>{escape(rel.revision.digest or rel.revision.title)}</summary>",
            f'<content type="html">{content}</content>',
            "</entry>",
        ]
    parts.append("</feed>")
    return Response("\n".join(parts), mimetype="application/atom+xml")


def _seq(name: str, lo: int) -> int | None:
    """A ledger seq from the query string (`lo`…2³¹−1), None when absent; else 400 naming `name`."""
    raw = request.args.get(name, "")
    if not raw.strip():
        return None
    try:
        return params.integer(raw, lo)
    except params.Unreadable as exc:
        raise Invalid(_("记录序号有误"), fields={name: exc.message}) from None


@bp.get("/record")
def record() -> str | werkzeug.Response:
    """The public ledger, newest first: every statement ever made, retractions and failures included.

    Paged by key (`?before=<seq>` older, `?after=<seq>` newer), so the millionth entry costs what the first does;
    an old `?page=N` link is sent to the same entries by key (seq counts from 1 without gaps).
    """
    head = ledger.head()
    if "page" in request.args:
        page = _page()
        if page == 1:
            return redirect(url_for("publishing.record"), 301)
        start = head["seq"] - (page - 1) * PER_PAGE
        return redirect(url_for("publishing.record", before=start + 1) if start >= 1
                        else url_for("publishing.record", after=0), 301)  # beyond the end: the oldest page
    before, after = _seq("before", 1), _seq("after", 0)
    entries = ledger.window(before=before, after=after, size=PER_PAGE)
    newest = entries[0].seq if entries else (after or 0)
    oldest = entries[-1].seq if entries else (before or head["seq"] + 1)
    return render_template("publishing/record.html", entries=entries, total=head["seq"],
                           newer=newest if newest < head["seq"] else None, older=oldest if oldest > 1 else None,
                           head=head, checkpoint=checkpoints.latest_stored(), key=checkpoints.public_key_info())


@dataclass(frozen=True)
class DeskPanel:
    """A section a package above adds to /desk (WeChat's mass-send quota): its template, and what the template
    needs, from the person looking (as `panel`)."""

    template: str
    context: Callable[[User], dict[str, Any]]


_DESK_PANELS = "huiying_desk_panels"


def add_desk_panel(app: Flask, panel: DeskPanel) -> None:
    """Register a /desk section (a package's `init_app` calls this); shown after the scheduled releases."""
    app.extensions.setdefault(_DESK_PANELS, []).append(panel)


def _require_desk() -> None:
    if not current_user.has_role(Role.OFFICE, Role.LEADER, Role.ADMIN):
        abort(403)


@bp.get("/desk")
@login_required
def desk() -> str:
    """The office's publishing desk: scheduled releases, the panels of the packages above (the mass-send
    quota), queue depths, failed deliveries, recent publications."""
    _require_desk()
    failed = select(Delivery).where(Delivery.state == DeliveryState.FAILED)
    recent = select(Delivery).where(Delivery.published_at.is_not(None))
    scheduled = (select(Release).join(Statement, Statement.id == Release.statement_id)
                 .where(Statement.status == Status.SCHEDULED))
    if not current_user.sees_all_units:
        mine = select(Statement.id).where(Statement.unit_id == current_user.unit_id)
        failed, recent = failed.where(Delivery.statement_id.in_(mine)), recent.where(Delivery.statement_id.in_(mine))
        scheduled = scheduled.where(Statement.unit_id == current_user.unit_id)
    try:
        depths = queues.depths()
    except Exception:
        depths = None
    return render_template(
        "publishing/desk.html",
        depths=depths,
        failed=db.session.scalars(failed.order_by(Delivery.updated_at.desc()).limit(100)).all(),
        recent=db.session.scalars(recent.order_by(Delivery.published_at.desc()).limit(30)).all(),
        scheduled=db.session.scalars(scheduled.order_by(Release.go_live_at).limit(100)).all(),
        in_flight=db.session.scalar(select(func.count(Delivery.id)).where(
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]))),
        panels=[(p.template, p.context(current_user._get_current_object()))
                for p in current_app.extensions.get(_DESK_PANELS, [])],
    )


@bp.post("/desk/deliveries/<int:statement_id>/<channel>/retry")
@login_required
def desk_retry(statement_id: int, channel: str) -> werkzeug.Response:
    try:
        services.retry_delivery(current_user._get_current_object(), statement_id, channel)
        flash(_("已重新排队发送"))
    except HuiyingError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(request.referrer or url_for("publishing.desk"))


@bp.get("/statements/<int:statement_id>/live")
@login_required
def statement_live(statement_id: int) -> Response:
    """The statement page's publishing block, re-rendered: the page patches it in place (no reload, so a
    form being typed in is never touched)."""
    st = review_services.get_statement(current_user._get_current_object(), statement_id)
    rel = st.release  # type: ignore[attr-defined]  # the backref publishing.models adds to review's Statement
    if rel is None:
        abort(404)
    unsettled = [d for d in rel.deliveries if d.state in (DeliveryState.PENDING, DeliveryState.SENDING)]
    in_flight = st.status in ("approved", "scheduled", "publishing") or bool(unsettled)
    # a statement waiting hours for the next mass-send period is looked at once a minute, not every 3 s
    waiting = bool(unsettled) and all((d.data or {}).get("waiting_for_quota") for d in unsettled)
    return jsonify({
        "status": st.status, "status_label": status_label(st), "in_flight": in_flight,
        "poll_seconds": 60 if waiting else 3,
        "html": render_template("publishing/_deliveries.html", st=st, rel=rel),
    })


@bp.post("/statements/<int:statement_id>/retract")
@login_required
def retract_form(statement_id: int) -> werkzeug.Response:
    page = url_for("review.statement", statement_id=statement_id)
    try:
        if request.form.get("confirm_retract") != "yes":
            # as with approving: one confirmed tap, for a step the public sees (the box is above the button)
            raise Invalid(_("请确认撤回：勾选后再从所有渠道撤回"), fields={"confirm_retract": _("请勾选确认")})
        services.retract(current_user._get_current_object(), statement_id, {"reason": request.form.get("reason", "")})
    except HuiyingError as error:
        db.session.rollback()
        return prg.back(page, error, form="retract", typed=request.form)
    flash(_("已撤回，各渠道正在撤下"), "success")
    return redirect(page)


@bp.post("/statements/<int:statement_id>/cancel")
@login_required
def cancel_form(statement_id: int) -> werkzeug.Response:
    """取消发布 from the statement page or the desk; back to where the button was."""
    page = url_for("review.statement", statement_id=statement_id)
    back_to = url_for("publishing.desk") if request.form.get("from") == "desk" else page
    try:
        services.cancel(current_user._get_current_object(), statement_id, {"reason": request.form.get("reason", "")})
    except HuiyingError as error:
        db.session.rollback()
        if back_to != page:
            flash(error.message, "error")
            return redirect(back_to)
        return prg.back(page, error, form="cancel", typed=request.form)
    flash(_("已取消发布：该回应不会发出"), "success")
    return redirect(back_to)


@bp.post("/statements/<int:statement_id>/correct")
@login_required
def correct_form(statement_id: int) -> werkzeug.Response:
    try:
        fix = review_services.correct(current_user._get_current_object(), statement_id)
    except HuiyingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("review.statement", statement_id=statement_id))
    flash(_("已创建更正草稿"), "success")
    return redirect(url_for("review.edit", statement_id=fix.id))


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """`{"db": "ok", "redis": "ok", "workers": n}`, 503 when a part is down (interface §6)."""
    body: dict[str, object] = {"db": "ok", "redis": "ok", "workers": 0}
    healthy = True
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:
        body["db"], healthy = f"error: {type(error).__name__}", False
    finally:
        db.session.rollback()
    try:
        redis = get_redis()
        redis.ping()
        body["workers"] = Worker.count(connection=redis)
    except Exception as error:
        body["redis"], healthy = f"error: {type(error).__name__}", False
    return jsonify(body), 200 if healthy else 503
