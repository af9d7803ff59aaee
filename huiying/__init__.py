"""The shell on top: composes every package into one application, and owns what belongs to none of them — the
home page ("my work", every package's work lists), the demo institution and the development runner.

`app.create_app` stays the composition root (`gunicorn 'app:create_app()'`, `flask --app app`, the `huiying`
command): it sets up the kernel and then calls `compose`, the one import from the kernel upward. The layers, from
the bottom: app ← cases ← review ← publishing ← interaction ← wechat ← reports ← huiying (pyproject.toml's import-linter
contract, checked by `make lint`).
"""

from __future__ import annotations

from flask import Flask


def compose(app: Flask) -> None:
    """Register every package on `app`, bottom layer first, then the shell's own pages and commands."""
    from cases import init_app as init_cases
    from huiying import cli, home
    from interaction import init_app as init_interaction
    from publishing import init_app as init_publishing
    from reports import init_app as init_reports
    from review import init_app as init_review
    from review.lifecycle import require_release_step
    from wechat import init_app as init_wechat

    init_cases(app)
    init_review(app)
    init_publishing(app)
    init_interaction(app)
    init_wechat(app)
    init_reports(app)
    home.init_app(app)
    cli.init_app(app)
    require_release_step(app)  # an approval that releases nothing must be impossible, not silent
