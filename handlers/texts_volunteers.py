"""Every sentence of the volunteers' side, attendance and service hours, in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from handlers.privacy import mask_name
from handlers.texts_booking import staff_roster_line

# ---------------------------------------------------------------------------------------------
# Volunteers' sessions ("场次名单")

VOLUNTEER_NO_TEAM = "您还没有加入服务队，没有要服务的场次。"
ROSTER_SENT = "场次名单含居民信息，已私信发给您。"
ROSTER_NOT_YOURS = "这个场次不是您所在服务队的，看不了名单。可以发“场次名单”看自己队的场次。"


def volunteer_sessions(lines: Sequence[str], days: int) -> str:
    if not lines:
        return f"未来{days}天您所在的服务队没有场次。"
    return "\n".join([f"您所在服务队未来{days}天的场次（编号 服务 时间 已约/名额）：", *lines,
                      "看某一场的居民名单请发“场次名单 编号”。"])


def volunteer_session_block(session_id: int, service_name: str, when_text: str, place: str, booked: int,
                            capacity: int, people: Sequence[str], absent: Sequence[str]) -> str:
    lines = [f"#{session_id} {service_name} {when_text} {place} 已约{booked}/{capacity}"]
    lines += [f"  {i}. {p}" for i, p in enumerate(people, start=1)] or ["  暂无预约"]
    if absent:
        lines.append(f"  请假：{'、'.join(absent)}")
    return "\n".join(lines)


def roster_person(name: str, addr: str, item: str | None, code: str, present: bool) -> str:
    """A line of the staff's roster (texts_booking.staff_roster_line), and whether they came."""
    return staff_roster_line(name, addr, item, code) + (" ✔已到" if present else "")


# ---------------------------------------------------------------------------------------------
# A volunteer who cannot come

ABSENCE_WHICH_DAY = "是哪天的哪一场去不了？比如“12月5号的理发我有事去不了”。"


def absence_no_session(day_text: str) -> str:
    return f"{day_text}您所在的服务队没有场次，不用请假。如果是要取消您自己的预约，请说“取消 预约码”。"


def absence_recorded(sessions: Sequence[str], told: Sequence[str], already: bool) -> str:
    head = "之前已经记下了" if already else "收到，已记下"
    who = "、".join(told) if told else "社区工作人员"
    return (f"{head}：{'；'.join(sessions)} 您去不了。已告诉{who}。居民的预约不受影响。\n"
            "如果是要取消您自己的预约，请说“取消 预约码”。")


def absence_notice(volunteer: str, team: str, session_text: str, booked: int, capacity: int,
                   remaining: Sequence[str], said: str) -> str:
    lines = [f"【志愿者请假】{team} {volunteer}：{session_text} 去不了。", f"原话：{said}",
             f"本场已约 {booked}/{capacity}，居民预约不受影响。"]
    if remaining:
        lines.append(f"本场在岗：{'、'.join(remaining)}。")
    else:
        lines.append("本场已没有在岗的志愿者，请安排替补或通知居民。")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Checking residents in ("到场 VT83QX")

CHECK_IN_WHO = "签到要由本场服务队的志愿者或社区工作人员操作。居民到了现场报预约码就行。"


def checked_in(name: str, service_name: str, when_text: str, present: int, booked: int, *, masked: bool,
               corrected: bool = False) -> str:
    shown = mask_name(name) if masked else name
    note = "（已从爽约改为到场）" if corrected else ""
    return f"已签到：{shown} · {service_name} {when_text}{note}（已到 {present}/{booked}）"


def already_checked_in(code: str) -> str:
    return f"预约码 {code} 已经签到过了。"


def check_in_unknown(code: str) -> str:
    return f"没有找到预约码 {code}，请核对一下。"


def check_in_not_booked(code: str, status: str) -> str:
    return f"预约码 {code} {'还在候补，没有名额' if status == 'waitlisted' else '已经取消了'}，不能签到。"


def check_in_too_early(code: str, when_text: str, minutes: int) -> str:
    return f"预约码 {code} 的场次是 {when_text}，开始前{minutes}分钟起才能签到。"


def check_in_closed(code: str) -> str:
    return f"预约码 {code} 的场次已经被社区关闭了。"


# ---------------------------------------------------------------------------------------------
# No-shows, flagged to staff


def no_show_flag(name: str, addr: str, count: int, window_days: int, last: str) -> str:
    return (f"【爽约提醒】{name}（{addr}）近{window_days}天有{count}次预约没有到场，最近一次：{last}。"
            "系统没有限制其预约，请网格员了解一下情况（是否行动不便、需要上门服务）。")


# ---------------------------------------------------------------------------------------------
# Service hours

HOURS_HEADER = ("志愿者", "服务队", "服务场次", "服务时长（小时）")
TEAM_HOURS_HEADER = ("服务队", "志愿者人数", "服务人次", "服务时长（小时）")


def hours(minutes: int) -> str:
    """90 -> "1.5"."""
    value = round(minutes / 60, 1)
    return f"{value:g}"


def hours_title(community: str, first: dt.date, last: dt.date) -> str:
    return f"{community} 志愿服务时长 {first:%Y-%m-%d} 至 {last:%Y-%m-%d}"


def digest_hours(first: dt.date, last: dt.date, total_minutes: int, teams: Sequence[tuple[str, int]]) -> str:
    parts = "；".join(f"{name} {hours(m)}小时" for name, m in teams)
    return (f"志愿服务（{first.month}月{first.day}日-{last.month}月{last.day}日）：共 {hours(total_minutes)} 小时"
            + (f"（{parts}）" if parts else ""))
