"""The review workflow under random sequences of actions: nothing reaches `approved` without its licence.

Rounds and reverts are part of the exploration: a request for changes sends the statement back, a submit
without an edit resubmits the identical text, an edit may return to an earlier text (the same hash on a
new revision), and two people hold two roles each. Whoever once approved a text never approves it again.

Hypothesis draws a list of actions (edit, submit, reviews by the right and the wrong people with current
or stale hashes, agency confirmations, leader approvals); each example starts from a fresh statement and
replays them through the API. A model kept by the test itself, from the answers alone, says which
decisions count; whenever the API says `approved`, the model must agree that the licence is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from review.models import Decision, Statement
from tests.factories import Api, Office, user

AGENCIES = ("河南省农业农村厅", "省市场监督管理局")
TEXTS = ("经核实，网传信息不实。", "经核实，网传信息不实，特此说明。", "经核实，网传信息与事实不符。")
DIGESTS = ("情况说明", "情况通报", "")
PEOPLE = ("drafter", "expert", "expert2", "leader", "office", "hybrid", "boss")
NEVER_A_HASH = "f" * 64


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"EXPERT_APPROVALS_REQUIRED": 2}


@dataclass
class Cast:
    """The usual office plus two people holding two roles, who tempt separation of duties."""

    office: Office
    hybrid: Api  # drafter and expert: may review only until they write a revision
    boss: Api  # expert and leader: may approve one stage, never two

    def who(self, name: str) -> Api:
        return {
            "drafter": self.office.drafter, "expert": self.office.expert, "expert2": self.office.expert2,
            "leader": self.office.leader, "office": self.office.office, "hybrid": self.hybrid, "boss": self.boss,
        }[name]


@pytest.fixture
def cast(app: Flask) -> Cast:
    office = Office(app, "ZBS")
    return Cast(office, Api(app, user(app, office.unit, "drafter", "expert")),
                Api(app, user(app, office.unit, "expert", "leader")))


@dataclass
class Model:
    """What the test knows from the answers alone: text history, authors, and what counts now."""

    hashes: list[str]
    authors: set[str]
    status: str = "draft"
    #: Bumped by every accepted edit and submit: decisions of an earlier epoch do not count.
    epoch: int = 0
    decisions: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # epoch, hash, stage, verdict, who
    confirmations: list[tuple[int, str, str]] = field(default_factory=list)  # epoch, hash, agency

    @property
    def current(self) -> str:
        return self.hashes[-1]

    def stale(self, pick: int) -> str:
        older = [h for h in self.hashes if h != self.current]
        return older[pick % len(older)] if older else NEVER_A_HASH

    def counting(self, stage: str) -> list[str]:
        return [who for epoch, h, s, verdict, who in self.decisions
                if epoch == self.epoch and h == self.current and s == stage and verdict == "approve"]

    def confirmed(self) -> set[str]:
        return {agency for epoch, h, agency in self.confirmations if epoch == self.epoch and h == self.current}

    def approved_before(self, who: str, hash_: str) -> bool:
        """Separation of duties by text: anyone who ever approved this hash, in any round or stage."""
        return any(w == who and h == hash_ and v == "approve" for _, h, _, v, w in self.decisions)

    def waits_on(self, agencies: list[str]) -> str:
        """The stage an in-review statement waits on, by the model's own count."""
        if len(set(self.counting("expert"))) < 2:
            return "expert"
        return "agency" if not self.confirmed() >= set(agencies) else "leader"


# Actions: (kind, who, stage, verdict, hash choice, index). A review's stage "step" is the stage the
# statement waits on; the action "step" does the next right thing with someone drawn from who may do it,
# so that examples reach `approved` often enough to test something.
STEP_POOLS = {"expert": ("expert", "expert2", "boss", "hybrid"), "leader": ("leader", "boss"),
              "agency": ("drafter", "office")}
step = st.tuples(st.just("step"), st.integers(0, 3), st.none(),
                 st.sampled_from(["approve"] * 5 + ["request_changes"]), st.none(), st.none())
# an edit may keep the text (index 0: "save" with no change) or return to an older one: the same hash on a
# new revision, where only decisions of the new round may count
edit = st.tuples(st.just("edit"), st.sampled_from(["drafter", "hybrid"]), st.none(), st.none(), st.none(),
                 st.one_of(st.just(0), st.integers(1, len(TEXTS) * len(DIGESTS))))
submit = st.tuples(st.just("submit"), st.sampled_from(["drafter", "hybrid"]), st.none(), st.none(), st.none(),
                   st.just(0))
review = st.tuples(
    st.just("review"),
    st.sampled_from(["expert", "expert2", "drafter", "leader", "hybrid", "boss"]),
    st.sampled_from(["step", "step", "expert", "leader"]),
    st.sampled_from(["approve", "approve", "request_changes"]),
    st.sampled_from(["current", "current", "current", "stale"]),
    st.integers(0, 5),
)
confirm = st.tuples(st.just("confirm"), st.sampled_from(["drafter", "office"]), st.none(), st.none(),
                    st.sampled_from(["current", "current", "stale"]), st.integers(0, 1))
# st.one_of picks its branches evenly, so weights go through the kind drawn first
KINDS = {"step": step, "edit": edit, "submit": submit, "review": review, "confirm": confirm}
ACTION = st.sampled_from(["step"] * 7 + ["edit", "edit", "submit", "review", "review", "review", "confirm"]).flatmap(
    KINDS.__getitem__)
ACTIONS = st.lists(ACTION, min_size=4, max_size=20)
SCENARIOS = st.tuples(st.integers(1, 2), ACTIONS)


def check_licence(app: Flask, cast: Cast, model: Model, statement_id: int, body: dict[str, Any]) -> None:
    """`approved` only with two experts, every agency and a separate leader, all on the current text."""
    assert body["revision"]["hash"] == model.current
    assert body["pending_stage"] is None
    experts = model.counting("expert")
    leaders = model.counting("leader")
    assert len(set(experts)) >= 2, (experts, model)
    assert not set(experts) & model.authors
    assert model.confirmed() >= set(body["agencies"])
    assert len(leaders) == 1, leaders
    assert leaders[0] not in experts and leaders[0] not in model.authors
    # the stored decisions say the same: this round, this revision, this hash
    with app.app_context():
        row = db.session.get(Statement, statement_id)
        assert row is not None and row.current_revision is not None
        assert row.approved_revision_id == row.current_revision_id
        counted = db.session.scalars(select(Decision).where(
            Decision.statement_id == statement_id, Decision.round == row.review_round,
            Decision.revision_id == row.current_revision_id, Decision.decision == "approve",
        )).all()
        assert all(d.revision_hash == model.current for d in counted)
        names = {cast.who(name).user.username: name for name in PEOPLE}
        by_stage = {s: {names[d.reviewer.username] for d in counted if d.stage == s} for s in ("expert", "leader")}
        assert by_stage == {"expert": set(experts), "leader": set(leaders)}


def concrete(action: tuple[Any, ...], model: Model, pending: str | None) -> tuple[Any, ...]:
    """A "step" becomes the submit, review or confirmation the statement waits for."""
    kind, who, _, verdict = action[:4]
    if kind != "step":
        return action
    if model.status in ("draft", "changes_requested"):
        return ("submit", "drafter", None, None, None, 0)
    if pending in STEP_POOLS:
        pool = STEP_POOLS[pending]
        if pending != "agency":  # the next right thing: someone who may still approve this text
            pool = tuple(p for p in pool if p not in model.authors
                         and not model.approved_before(p, model.current)) or pool
        person = pool[who % len(pool)]
        if pending == "agency":
            todo = [i for i, a in enumerate(AGENCIES) if a not in model.confirmed()]
            return ("confirm", person, None, None, "current", todo[0] if todo else 0)
        return ("review", person, pending, verdict, "current", 0)
    return ("submit", "drafter", None, None, None, 0)


def play(app: Flask, cast: Cast, agencies: int, actions: list[tuple[Any, ...]]) -> str:
    """Replay `actions` on a fresh statement; returns the final status."""
    names = {cast.who(name).user.username: name for name in PEOPLE}
    created = cast.office.draft(channels=["portal"], agencies=list(AGENCIES[:agencies]), body=TEXTS[0],
                                digest=DIGESTS[0])
    sid = created["id"]
    model = Model(hashes=[created["revision"]["hash"]], authors={"drafter"})
    pending: str | None = None
    for action in actions:
        kind, who, stage, verdict, hash_choice, index = concrete(action, model, pending)
        api = cast.who(who)
        chosen = model.current if hash_choice == "current" else model.stale(index)
        before = model.status
        if kind == "edit":
            text = {"body": TEXTS[(index - 1) % len(TEXTS)], "digest": DIGESTS[(index - 1) // len(TEXTS)]}
            resp = api.put(f"/statements/{sid}", text if index else {})
        elif kind == "submit":
            resp = api.post(f"/statements/{sid}/submit")
        elif kind == "review":
            stage = (pending or "expert") if stage == "step" else stage
            if stage == "agency":
                stage = "leader"
            resp = api.post(f"/statements/{sid}/reviews", {
                "revision_hash": chosen, "stage": stage, "decision": verdict,
                "comment": "请核实数据" if verdict == "request_changes" else "",
            })
        else:
            resp = api.post(f"/statements/{sid}/confirmations", {
                "revision_hash": chosen, "agency": AGENCIES[index % agencies], "contact": "张科长",
                "method": "phone",
            })
        assert resp.status_code < 500, (kind, who, resp.get_data(as_text=True))
        if resp.status_code >= 400:
            continue
        body = resp.get_json()
        # what must never be accepted, whatever else happened before
        if kind in ("review", "confirm"):
            assert chosen == model.current, "a decision on a stale hash was accepted"
            assert before == "in_review"
        if kind == "review":
            assert names[api.user.username] not in model.authors, "an author reviewed"
            if verdict == "approve":
                assert not model.approved_before(names[api.user.username], chosen), \
                    "one person approved the same text twice (another stage, round or a reverted edit)"
        if kind == "edit":
            model.hashes.append(body["revision"]["hash"])
            model.authors.add(names[api.user.username])
            model.epoch += 1
        elif kind == "submit":
            model.epoch += 1
        elif kind == "review":
            model.decisions.append((model.epoch, chosen, stage, verdict, names[api.user.username]))
        else:
            model.confirmations.append((model.epoch, chosen, AGENCIES[index % agencies]))
        model.status, pending = body["status"], body["pending_stage"]
        if model.status == "in_review":
            assert pending == model.waits_on(body["agencies"]), (pending, model)
        if model.status == "approved":
            check_licence(app, cast, model, sid, body)
            return model.status
    return model.status


#: The plain path to an approval (submit, two experts, the agency, the leader): random runs reach `approved` in 0–20 of
#: 40 examples, so the property's own check that it met an approval must not hang on the draw.
STRAIGHT = (1, [("step", 0, None, "approve", None, None)] * 8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(scenario=STRAIGHT)
@given(scenario=SCENARIOS)
def _explore(app: Flask, cast: Cast, reached: list[str], scenario: tuple[int, list[tuple[Any, ...]]]) -> None:
    agencies, actions = scenario
    reached.append(play(app, cast, agencies, actions))


def test_nothing_is_approved_without_its_licence(app: Flask, cast: Cast) -> None:
    reached: list[str] = []
    _explore(app, cast, reached)
    # a property that never met an approval proved nothing
    assert "approved" in reached, sorted(set(reached))
