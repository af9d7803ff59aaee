"""The figures as the tables people read: the page shows them under its charts, the bulletin prints them."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from cases import labels

Table = tuple[list[str], list[list[Any]]]


def rate(value: float | None) -> str:
    """0.6667 → 66.7%; no decided clock → —."""
    return "—" if value is None else f"{value * 100:.1f}%"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def level_name(key: str) -> str:
    return str(labels.LEVEL[int(key)]) if key.isdigit() else _("未研判")


def assessment(rows: list[dict[str, Any]]) -> Table:
    """考核统计表: one row per unit."""
    head = [_("单位"), _("牵头处置舆情"), _("办结"), _("时限数"), _("按时率"), _("超时"), _("发布回应"), _("撤回"),
            _("更正")]
    return head, [[r["name"], r["cases"], r["closed"], r["deadlines"], rate(r["on_time_rate"]), r["overdue"],
                   r["statements"], r["retracted"], r["corrected"]] for r in rows]


def deadlines(data: dict[str, Any]) -> Table:
    head = [_("时限"), _("总数"), _("按时"), _("超时完成"), _("已超时"), _("已免除"), _("进行中"), _("按时率")]
    return head, [[str(labels.DEADLINE_KIND.get(kind, kind)), f["total"], f["met"], f["met_late"], f["overdue"],
                   f["waived"], f["pending"], rate(f["on_time_rate"])] for kind, f in data["deadlines"].items()]


def levels(data: dict[str, Any]) -> Table:
    head = [_("等级"), _("舆情数"), _("回应用时中位数（小时）"), _("回应用时 P90（小时）")]
    rows = []
    for key, n in data["cases"]["by_level"].items():
        timing = data["response_hours"].get(key) or {"median": None, "p90": None}
        rows.append([level_name(key), n, hours(timing["median"]), hours(timing["p90"])])
    return head, rows


def all_tables(data: dict[str, Any], weeks: list[dict[str, Any]], rows: list[dict[str, Any]],
               names: dict[str, str]) -> dict[str, Table]:
    """Every table of the reports page, by the chart or section it belongs to."""
    cases, statements = data["cases"], data["statements"]
    return {
        "units": ([_("单位"), _("舆情数")], [[names.get(code, code), n] for code, n in cases["by_unit"].items()]),
        "weekly": ([_("周（起始日）"), _("舆情"), _("回应")], [[w["week"], w["cases"], w["responses"]] for w in weeks]),
        "deadlines": deadlines(data),
        "levels": levels(data),
        "sources": ([_("来源"), _("舆情数")],
                    [[str(labels.SOURCE.get(k, k)), n] for k, n in cases["by_source"].items() if n]),
        "statuses": ([_("状态"), _("舆情数")],
                     [[str(labels.STATUS.get(k, k)), n] for k, n in cases["by_status"].items()]),
        "channels": ([_("渠道"), _("发布数")], [[_("门户网站"), statements["by_channel"].get("portal", 0)],
                                              [_("微信公众号"), statements["by_channel"].get("wechat", 0)]]),
        "assessment": assessment(rows),
        "timing": ([_("环节"), _("中位数"), _("P90")], [
            [_("提交至领导批准（小时）"), hours(statements["submission_to_approval_hours"]["median"]),
             hours(statements["submission_to_approval_hours"]["p90"])],
            [_("批准至全部渠道上线（分钟）"), hours(statements["approval_to_live_minutes"]["median"]),
             hours(statements["approval_to_live_minutes"]["p90"])]]),
    }
