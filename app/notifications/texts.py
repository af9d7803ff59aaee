"""Notification texts kept as a message id and its parameters, and put into words in the reader's language.

A notification is stored once but read by people who chose different languages, in the inbox, by e-mail and
through the gateway. So a caller hands `notify` a `Message`, made by `_m(…)` (the Simplified Chinese message
id, as `_()` takes it, and its parameters); the row keeps that, and each reading renders it in the language of
whoever reads: the page's language in the inbox, the recipient's own (`users.locale`) in a copy sent to them.
The rendered Chinese is stored beside it, for plain-text callers and for anyone reading the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale, gettext, pgettext
from flask_babel.speaklater import LazyString

#: What a parameter may be: plain values are shown as they are, messages are translated too (a label).
Param = str | int | float | None
DEFAULT_LOCALE = "zh_Hans_CN"


@dataclass(frozen=True)
class Message:
    """A translatable text: `msgid` (with `%(name)s` placeholders), an optional context, its parameters."""

    msgid: str
    params: Mapping[str, Param | Message] = field(default_factory=dict)
    context: str | None = None

    def render(self) -> str:
        """The text in the current language (the request's, or a `force_locale`'s)."""
        values = {k: v.render() if isinstance(v, Message) else v for k, v in self.params.items()}
        if self.context:
            return str(pgettext(self.context, self.msgid, **values))
        return str(gettext(self.msgid, **values))

    def to_json(self) -> dict[str, Any]:
        """What the row keeps: plain JSON, read back by `from_json`."""
        params = {k: v.to_json() if isinstance(v, Message) else v for k, v in self.params.items()}
        return {"id": self.msgid, "ctx": self.context, "params": params}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        params = {k: cls.from_json(v) if isinstance(v, Mapping) else v for k, v in (data.get("params") or {}).items()}
        return cls(data["id"], params, data.get("ctx"))


def _m(msgid: str, *, context: str | None = None, **params: Param | Message | LazyString) -> Message:
    """`_()` kept for later: `_m("【转办】%(title)s", title=…)` (babel.cfg extracts it like `_`). A lazy label
    (`_l`, `_lp`) given as a parameter is kept as a message of its own, so it is translated with the rest."""
    return Message(msgid, {k: _param(v) for k, v in params.items()}, context)


def _param(value: Param | Message | LazyString) -> Param | Message:
    if not isinstance(value, LazyString):
        return value
    if value._func is pgettext:
        return Message(value._args[1], {}, value._args[0])
    if value._func is gettext:
        return Message(value._args[0])
    return str(value)


#: What `notify` takes for a subject or a body: a message, or a text already in words (shown as it is).
Text = str | Message


def stored(subject: Text, body: Text) -> tuple[str, str, dict[str, Any] | None]:
    """The row's subject and body in the default language, and the messages to render them again later."""
    with force_locale(DEFAULT_LOCALE):
        words = [t.render() if isinstance(t, Message) else t for t in (subject, body)]
    kept = {name: t.to_json() for name, t in (("subject", subject), ("body", body)) if isinstance(t, Message)}
    return words[0], words[1], kept or None


def shown(kept: Mapping[str, Any] | None, part: str, fallback: str) -> str:
    """`part` ("subject" or "body") of a notification in the current language; as stored when it was plain."""
    if not kept or part not in kept:
        return fallback
    return Message.from_json(kept[part]).render()


def in_locale(locale: str | None, kept: Mapping[str, Any] | None, subject: str, body: str) -> tuple[str, str]:
    """Subject and body in `locale` (a recipient's own language; None = the default), for a copy sent out."""
    with force_locale(locale or DEFAULT_LOCALE):
        return shown(kept, "subject", subject), shown(kept, "body", body)
