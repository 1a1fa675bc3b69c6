"""Every sentence of the booking capability (residents, volunteers, staff), in one place.

Kept beside handlers/texts.py (same conventions) so the booking wording can be reviewed alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from config.community import Community, Person
from config.themes import WEEKDAY_NAMES_ZH
from handlers.privacy import mask_name

# ---------------------------------------------------------------------------------------------
# Pieces


def when(starts_at: dt.datetime, ends_at: dt.datetime, tz: ZoneInfo) -> str:
    """11月28日(周六) 09:00-11:30."""
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    return f"{start.month}月{start.day}日({WEEKDAY_NAMES_ZH[start.weekday()]}) {start:%H:%M}-{end:%H:%M}"


def day_text(day: dt.date) -> str:
    return f"{day.month}月{day.day}日({WEEKDAY_NAMES_ZH[day.weekday()]})"


def address(person: Person | None) -> str:
    """3号楼2单元501 from the community file; only ever sent to the volunteer team and staff."""
    if person is None or person.building is None:
        return "地址未登记"
    text = f"{person.building}号楼"
    if person.unit is not None:
        text += f"{person.unit}单元"
    if person.room:
        text += person.room
    return text


def session_line(service_name: str, when_text: str, place: str, *, free: int | None = None) -> str:
    line = f"{service_name} {when_text} {place}"
    if free is not None:
        line += f"（剩{free}个名额）"
    return line


CANCEL_HINT = "如需取消，请说“取消 {code}”。"

# ---------------------------------------------------------------------------------------------
# Residents, in the group


def booked(name: str, service_name: str, when_text: str, place: str, code: str, note: str = "") -> str:
    lines = [
        f"{mask_name(name)}，预约成功！",
        f"{service_name}：{when_text}",
        f"地点：{place}",
        f"预约码：{code}",
    ]
    if note:
        lines.append(f"温馨提示：{note}")
    lines.append(CANCEL_HINT.format(code=code))
    return "\n".join(lines)


def waitlisted(name: str, service_name: str, when_text: str, position: int, code: str) -> str:
    return (
        f"{mask_name(name)}，{service_name} {when_text} 已约满，已为您登记候补，排第{position}位。\n"
        f"有人取消时会自动为您补上并私信通知您。候补码：{code}"
    )


def moved(booked_text: str, old_when: str, old_code: str) -> str:
    """A booking moved: the new one's confirmation, and the old one's end."""
    first, _, rest = booked_text.partition("\n")
    return "\n".join([first.replace("预约成功！", "已为您改约！"), rest,
                      f"原来 {old_when} 的预约（{old_code}）已取消。"])


def kept_while_waiting(waitlisted_text: str, old_when: str, old_code: str) -> str:
    """A move that only got a waitlist place: the old booking stays until the new one is certain."""
    return (f"{waitlisted_text}\n原来 {old_when} 的预约（{old_code}）先为您保留；"
            f"不想要了请说“取消 {old_code}”。")


def already_booked(name: str, service_name: str, when_text: str, code: str, status: str) -> str:
    if status == "waitlisted":
        return f"{mask_name(name)}，您已经在 {service_name} {when_text} 的候补名单上了（候补码 {code}），不用重复登记。"
    return f"{mask_name(name)}，您已经约好了 {service_name} {when_text}（预约码 {code}），不用重复预约。"


def offer(lead: str, lines: Sequence[str], *, waitlist_when: str | None = None, question: bool = False) -> str:
    """The numbered choice; the resident answers with a number, a day, 排队, or 算了.

    `question`: the answer to "周六能理发吗" — nothing is booked until they reply.
    """
    out = [lead] if lead else []
    if lines:
        out.append("可以约的场次：")
        out += [f"{i}. {line}" for i, line in enumerate(lines, start=1)]
    if waitlist_when:
        out.append(f"也可以回复“排队”登记 {waitlist_when} 的候补。")
    if lines and question:
        out.append(("回复“1”预约" if len(lines) == 1 else "回复序号预约（如“1”）") + "，说“算了”就不约了。")
    elif lines:
        out.append("请回复序号（如“1”），说“算了”就不约了。")
    else:
        out.append("说“算了”就不约了。")
    return "\n".join(out)


def ask_which(service_name: str) -> str:
    return f"想约{service_name}是吧？"


def which_session(service_name: str, day: dt.date) -> str:
    return f"{day_text(day)}有几场{service_name}，您约哪一场？"


def no_session_that_day(service_name: str, day: dt.date, part: str | None) -> str:
    return f"{day_text(day)}{_part_word(part)}没有{service_name}的场次。"


def session_started(service_name: str, when_text: str) -> str:
    return f"{service_name} {when_text} 这一场已经开始或结束了。"


def day_passed(day: dt.date) -> str:
    return f"{day_text(day)}已经过去了。"


def too_far(day: dt.date, last: dt.date) -> str:
    return f"{day_text(day)}太远了，目前只开放到{day_text(last)}的预约。"


def session_full(service_name: str, when_text: str) -> str:
    return f"{service_name} {when_text} 已经约满了。"


def session_gone(service_name: str) -> str:
    return f"抱歉，您选的{service_name}场次刚刚被取消了。"


def nothing_bookable(service_name: str) -> str:
    return f"近期暂时没有可以预约的{service_name}场次，有新场次会在群里通知，请留意。"


def service_unavailable() -> str:
    return "抱歉，咱们社区暂时没有开通这项服务。"


def pick_a_number(count: int) -> str:
    if count == 0:  # only the waitlist was offered
        return "近期场次都约满了，回复“排队”可以登记候补，或说“算了”不约了。"
    if count == 1:
        return "请回复“1”确认，或说“算了”不约了。"
    return f"请回复 1 到 {count} 之间的序号，或说“算了”不约了。"


def day_not_offered(day: dt.date) -> str:
    return f"上面的场次里没有{day_text(day)}的，请回复序号选择。"


def nothing_to_wait_for() -> str:
    return "上面的场次还有名额，直接回复序号就能约上。"


CHOICE_EXPIRED = "刚才的选择已过期，请重新说一下想约什么、哪天。"
BOOKING_DROPPED = "好的，这次先不约了。需要的时候随时说～"
CANCEL_DROPPED = "好的，预约保持不变。"


def _part_word(part: str | None) -> str:
    return {"am": "上午", "pm": "下午"}.get(part or "", "")


# ---------------------------------------------------------------------------------------------
# Residents: my bookings and cancelling


def my_bookings(name: str, lines: Sequence[str]) -> str:
    head = f"{mask_name(name)}，您的预约："
    return "\n".join([head, *[f"{i}. {line}" for i, line in enumerate(lines, start=1)],
                      "取消请说“取消 预约码”。"])


def my_booking_line(service_name: str, when_text: str, code: str, status: str, position: int | None) -> str:
    if status == "waitlisted":
        return f"{service_name} {when_text} 候补第{position}位（候补码 {code}）"
    return f"{service_name} {when_text}（预约码 {code}）"


def no_bookings(name: str) -> str:
    return f"{mask_name(name)}，您目前没有待参加的预约。想约的话直接说，比如“周六上午想理发”。"


def cancelled(name: str, service_name: str, when_text: str, code: str) -> str:
    return f"{mask_name(name)}，已取消 {service_name} {when_text} 的预约（{code}）。"


def cancelled_many(name: str, lines: Sequence[str]) -> str:
    return "\n".join([f"{mask_name(name)}，已取消以下预约：", *lines])


def which_to_cancel(name: str, lines: Sequence[str]) -> str:
    return "\n".join([
        f"{mask_name(name)}，您有这些预约，要取消哪一个？",
        *[f"{i}. {line}" for i, line in enumerate(lines, start=1)],
        "请回复序号，说“算了”就不取消了。",
    ])


def no_matching_booking(name: str) -> str:
    return f"{mask_name(name)}，没有找到您说的这个预约。"


def unknown_code(code: str) -> str:
    return f"没有找到预约码为 {code} 的预约，请核对一下。可以说“我的预约”查看自己的预约。"


def already_cancelled(code: str) -> str:
    return f"预约 {code} 已经取消过了。"


def too_late_to_cancel(code: str) -> str:
    return f"预约 {code} 的场次已经开始或结束了，无法再取消。"


def promoted_private(service_name: str, when_text: str, place: str, code: str) -> str:
    return (
        f"好消息！{service_name} {when_text} 有人取消，您已从候补转为预约成功。\n"
        f"地点：{place}\n预约码：{code}\n{CANCEL_HINT.format(code=code)}"
    )


def session_closed_private(service_name: str, when_text: str, code: str) -> str:
    return (
        f"抱歉，{service_name} {when_text} 这一场取消了，您的预约（{code}）随之取消。"
        "需要的话可以在群里重新预约其他场次。"
    )


def reminder(service_name: str, when_text: str, place: str, code: str, note: str = "") -> str:
    lines = [f"温馨提醒：您预约了明天的{service_name}。", f"时间：{when_text}", f"地点：{place}",
             f"预约码：{code}"]
    if note:
        lines.append(f"提示：{note}")
    lines.append(f"如果去不了，请在群里说“取消 {code}”，把名额让给其他邻居。")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Volunteer team (private messages; may contain the address)


def team_new_booking(service_name: str, when_text: str, name: str, addr: str, item: str | None,
                     code: str, booked_count: int, capacity: int, *, from_waitlist: bool = False) -> str:
    head = "【候补转正】" if from_waitlist else "【新预约】"
    lines = [f"{head}{service_name} {when_text}", f"居民：{name}（{addr}）"]
    if item:
        lines.append(f"需要：{item}")
    lines.append(f"预约码：{code}　已约 {booked_count}/{capacity}")
    return "\n".join(lines)


def team_cancellation(service_name: str, when_text: str, name: str, addr: str, item: str | None,
                      code: str) -> str:
    lines = [f"【取消预约】{service_name} {when_text}", f"居民：{name}（{addr}）"]
    if item:
        lines.append(f"原需要：{item}")
    lines.append(f"预约码：{code}")
    return "\n".join(lines)


def team_session_closed(service_name: str, when_text: str, count: int) -> str:
    return f"【场次取消】{service_name} {when_text} 已由社区关闭，{count} 位居民的预约已取消并已通知。"


def team_day_list(service_name: str, day: dt.date, sessions: Sequence[tuple[str, str, Sequence[str], int]]) -> str:
    """sessions: (time range, place, lines of booked residents, number waitlisted)."""
    lines = [f"【今日名单】{day_text(day)} {service_name}"]
    for time_range, place, people, waiting in sessions:
        lines.append(f"{time_range} {place}：已约{len(people)}人" + (f"，候补{waiting}人" if waiting else ""))
        lines += [f"  {i}. {p}" for i, p in enumerate(people, start=1)] or ["  暂无预约"]
    return "\n".join(lines)


def team_day_person(name: str, addr: str, item: str | None, code: str) -> str:
    return f"{name}（{addr}）" + (f" 需要：{item}" if item else "") + f" [{code}]"


# ---------------------------------------------------------------------------------------------
# Staff commands (staff group or private chat)

STAFF_HELP = "\n".join([
    "场次命令（仅限社区工作人员，在工作群或私聊里发）：",
    "· 场次列表 [服务]　例：场次列表 理发 —— 看近期场次和编号",
    "· 加场 服务 日期 开始-结束 人数 [地点]　例：加场 理发 12月6日 14:00-16:00 10人",
    "· 关闭场次 编号　例：关闭场次 12 —— 已约居民会收到私信通知",
    "· 场次名单 编号　例：场次名单 12",
    "· 导出 编号　例：导出 12 —— 预约名单CSV私信发给您",
    "· 到场 预约码　例：到场 VT83QX —— 给到场的居民签到（本场服务队的志愿者也可以）",
    "发通知给居民群：发“通知帮助”查看。",
    "服务可以写：理发、家电维修、义诊、磨刀、法律咨询。",
])

STAFF_ONLY = "抱歉，场次管理命令只有社区工作人员可以使用。需要预约的话直接说，比如“周六上午想理发”。"
STAFF_NOT_HERE = "场次命令会显示居民信息，请在工作群或私聊里发送。"


def staff_bad_command(problem: str) -> str:
    return f"没看懂这条命令：{problem}\n发“场次帮助”查看格式。"


def staff_session_added(session_id: int, service_name: str, when_text: str, capacity: int, place: str,
                        outcome: str) -> str:
    if outcome == "exists":
        return f"这个时间已经有{service_name}场次了：#{session_id} {when_text}，未重复添加。"
    verb = "已重新开放" if outcome == "reopened" else "已加场"
    return f"{verb} #{session_id}：{service_name} {when_text}，{capacity}人，地点：{place}"


def staff_session_closed(session_id: int, service_name: str, when_text: str, count: int) -> str:
    return f"已关闭场次 #{session_id}（{service_name} {when_text}），取消了 {count} 个预约并已私信通知居民。"


def staff_session_already_closed(session_id: int) -> str:
    return f"场次 #{session_id} 之前已经关闭了。"


def staff_unknown_session(session_id: int) -> str:
    return f"没有编号为 #{session_id} 的场次。发“场次列表”可以查看编号。"


def staff_roster(session_id: int, service_name: str, when_text: str, capacity: int, booked_lines: Sequence[str],
                 waiting_lines: Sequence[str], closed: bool) -> str:
    lines = [f"场次 #{session_id} {service_name} {when_text}" + ("（已关闭）" if closed else ""),
             f"已约 {len(booked_lines)}/{capacity}："]
    lines += [f"{i}. {line}" for i, line in enumerate(booked_lines, start=1)] or ["（暂无）"]
    if waiting_lines:
        lines.append(f"候补 {len(waiting_lines)} 人：")
        lines += [f"{i}. {line}" for i, line in enumerate(waiting_lines, start=1)]
    return "\n".join(lines)


def staff_roster_line(name: str, addr: str, item: str | None, code: str) -> str:
    return f"{name} {addr}" + (f" 需要：{item}" if item else "") + f" [{code}]"


def staff_session_list(lines: Sequence[str]) -> str:
    if not lines:
        return "近期没有场次。可以用“加场”添加。"
    return "\n".join(["近期场次（编号 服务 时间 已约/名额）：", *lines])


def staff_session_list_line(session_id: int, service_name: str, when_text: str, booked: int, capacity: int,
                            waiting: int) -> str:
    return f"#{session_id} {service_name} {when_text} {booked}/{capacity}" + (f" 候补{waiting}" if waiting else "")


def staff_export_sent(session_id: int, count: int) -> str:
    return f"场次 #{session_id} 的预约名单（{count} 条）已私信发给您。"


def staff_export_caption(session_id: int, service_name: str, when_text: str) -> str:
    return f"场次 #{session_id} {service_name} {when_text} 预约名单（CSV）："


EXPORT_HEADER = ("预约码", "状态", "姓名", "地址", "电话", "需要", "预约时间")
STATUS_ZH = {"booked": "已预约", "waitlisted": "候补", "cancelled": "已取消"}


def service_name(community: Community, service_id: str) -> str:
    service = community.service(service_id)
    return service.name if service else service_id
