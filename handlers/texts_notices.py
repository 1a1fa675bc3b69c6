"""Every sentence of staff notices (the staff's preview and answers, the post residents read), in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from config.themes import WEEKDAY_NAMES_ZH

NOTICE_HELP = "\n".join([
    "发通知（仅限社区工作人员，在工作群或私聊里发）：",
    "· 通知 发往 内容　例：通知 全部居民群 明天9:00-12:00停水，请提前储水",
    "　发往可以写：全部居民群、群名、3号楼、1-4号楼（写几个用空格或顿号隔开）；不写就是全部居民群",
    "· 先给您看预览（发往哪些群、多少人），回复“确认”立即发送，“定时 明天 8:00”定时发送，“取消”作废",
    "· 通知列表 —— 最近的通知；取消通知 编号 —— 撤回还没发出的定时通知",
])

NOTICE_STAFF_ONLY = "抱歉，发通知只有社区工作人员可以使用。"
NOTICE_NOT_HERE = "发通知请在工作群或私聊里操作，确认后再发到居民群。"
NOTICE_EMPTY = "通知内容是空的。格式：通知 全部居民群 明天9:00-12:00停水"
NOTICE_NO_GROUPS = "没有找到要发往的居民群。"
NOTICE_EXPIRED = "刚才的通知预览已过期，没有发送。请重新发一次“通知 …”，或在工作台确认。"
NOTICE_DROPPED = "好的，这条通知作废了，不会发送。"
NOTICE_ANSWER_HINT = "请回复“确认”立即发送，“定时 明天 8:00”定时发送，或“取消”作废。"


def too_long(length: int, limit: int) -> str:
    return f"通知太长了（{length}字），请控制在{limit}字以内，或分成几条发。"


def day_time(when: dt.datetime) -> str:
    """11月26日(周四) 08:00."""
    return f"{when.month}月{when.day}日({WEEKDAY_NAMES_ZH[when.weekday()]}) {when:%H:%M}"


def group_line(name: str, members: int) -> str:
    return f"{name}（{members}人）"


def preview(notice_id: int, groups: Sequence[str], people: int, text: str, unknown: Sequence[str] = ()) -> str:
    lines = [f"【通知预览】#{notice_id}", f"发往：{'、'.join(groups)}，共{len(groups)}个群、约{people}人"]
    if unknown:
        lines.append(f"（没认出的发往：{'、'.join(unknown)}，已忽略）")
    lines += ["——", text, "——", NOTICE_ANSWER_HINT]
    return "\n".join(lines)


def post(community_name: str, text: str) -> str:
    """What residents read in their group."""
    return f"【社区通知】\n{text}\n—— {community_name}"


def sent(notice_id: int, groups: int, people: int) -> str:
    return f"通知 #{notice_id} 已发送到 {groups} 个群（约{people}人）。"


def scheduled(notice_id: int, when: dt.datetime, groups: int) -> str:
    return f"通知 #{notice_id} 将于 {day_time(when)} 发送到 {groups} 个群。要撤回请发“取消通知 {notice_id}”。"


def bad_time(problem: str) -> str:
    return f"定时没看懂：{problem}。例如“定时 明天 8:00”。"


def not_changeable(notice_id: int, status: str) -> str:
    return f"通知 #{notice_id} {STATUS_NAMES.get(status, status)}，不能再改了。"


def unknown_notice(notice_id: int) -> str:
    return f"没有编号为 #{notice_id} 的通知。发“通知列表”可以查看。"


def cancelled(notice_id: int) -> str:
    return f"通知 #{notice_id} 已撤回，不会发送。"


def missed(notice_id: int, when: dt.datetime, text: str) -> str:
    return (f"【通知未发出】通知 #{notice_id} 原定 {day_time(when)} 发送，当时机器人没有运行，已过了太久，没有补发。"
            f"需要的话请重新发送。内容：{text}")


STATUS_NAMES = {"draft": "未确认", "scheduled": "待发送", "sent": "已发送", "cancelled": "已撤回",
                "missed": "未发出（已过时）"}
VIA_NAMES = {"chat": "聊天", "web": "工作台"}


def listing(lines: Sequence[str]) -> str:
    if not lines:
        return "还没有发过通知。发“通知 全部居民群 内容”试试。"
    return "\n".join(["最近的通知：", *lines])


def listing_line(notice_id: int, status: str, author: str, when: dt.datetime, groups: int, excerpt: str) -> str:
    return f"#{notice_id} {STATUS_NAMES.get(status, status)} {author} {day_time(when)} {groups}个群：{excerpt}"


# --- the staff page ----------------------------------------------------------------------------------

WEB_TITLE = "通知"
WEB_HINT = "通知会先显示预览（发往哪些群、多少人），确认后才发送；也可以定时发送。"
WEB_NONE = "还没有通知。"
WEB_NEED_TEXT = "请填写通知内容（2000字以内）。"
WEB_NEED_GROUPS = "请至少选择一个居民群或写一个楼号。"
WEB_BAD_TIME = "定时时间要写成 2026-12-01 08:00 这样，并且晚于现在。"
