"""Who may write the session cookie: a response that changed something in it a person will see, and only that.

A browser sends a page's requests side by side (the page, its pictures, its QR code, its icon), each with the
cookie it held when the request left, and keeps whichever Set-Cookie arrives last. A response that sends the
session back as its request found it therefore undoes what another response wrote meanwhile: the sign-in form's
CSRF token above all, and signing in then fails with 页面已过期.
"""

from __future__ import annotations

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import LoginManager

#: What a browser fetches for a page without showing it as one (Fetch's `Sec-Fetch-Dest`): no flash is read and
#: no form is filled there, so nothing such a request does to the session is for anyone to see.
NOT_A_PAGE = frozenset({"image", "style", "script", "font", "audio", "video", "track", "manifest"})


class PersonLoginManager(LoginManager):
    """Flask-Login, whose session protection guards sessions that hold a person, and only those.

    Its check marks a non-empty session whose `_id` (a hash of address and browser) is not this request's as not
    fresh. A session that holds nobody (a flash such as 请先登录, the sign-in form's CSRF token) has no `_id`, so
    every anonymous request that asked who is signed in wrote `_fresh = False`, sending the whole session back:
    the QR code of a release, answered after the sign-in form, overwrote the form's token
    (maxcountryman/flask-login#569). A session that holds a person is checked as before.
    """

    def _session_protection_failed(self) -> bool:
        if "_user_id" not in session and "_id" not in session:
            return False  # nobody to protect, nothing to mark
        return bool(super()._session_protection_failed())


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, never written by the answer to a picture, a style or a script.

    Such an answer is read by nobody: a flash it consumed would be lost and a CSRF token it made (an error page
    for a missing picture renders the layout) sits in no form, while its cookie could arrive after the page's.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.headers.get("Sec-Fetch-Dest") in NOT_A_PAGE:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
