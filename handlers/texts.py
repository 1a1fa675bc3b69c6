"""Every sentence the bot says to people, in one place, so wording can be reviewed and translated."""

from __future__ import annotations

import datetime as dt

from config.themes import WEEKDAY_NAMES_ZH, Theme

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def day_phrase(day: dt.date, today: dt.date) -> str:
    """今天 / 明天 / 12月3日(周四)."""
    if day == today:
        return "今天"
    if day == today + dt.timedelta(days=1):
        return "明天"
    if day == today + dt.timedelta(days=2):
        return "后天"
    return f"{day.month}月{day.day}日({WEEKDAY_NAMES_ZH[day.weekday()]})"


def date_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日 {WEEKDAY_NAMES_ZH[day.weekday()]}"


def theme_lines(theme: Theme) -> list[str]:
    lines = [f"【{theme.title}】{theme.description}"]
    if theme.time:
        lines.append(f"时间：{theme.time}")
    if theme.place:
        lines.append(f"地点：{theme.place}")
    if theme.bring:
        lines.append(f"温馨提示：{theme.bring}")
    return lines


def activity_answer(when: str, day: dt.date, theme: Theme, *, makeup_workday: bool = False) -> str:
    head = f"{when}（{date_label(day)}）的社区活动："
    if makeup_workday:
        head = f"{when}（{date_label(day)}）是调休工作日，社区活动照常："
    return "\n".join([head, *theme_lines(theme)])


def holiday_name_zh(holiday_name: str | None) -> str:
    """春节 for chinesecalendar's "Spring Festival"; a name from the community file as it is."""
    return HOLIDAY_NAMES_ZH.get(holiday_name or "", holiday_name or "法定节假日")


def holiday_morning_post(greeting: str, holiday_name: str | None) -> str:
    """The community's `themes.holiday_greeting`, its {holiday} placeholders filled with the name."""
    return greeting.replace("{holiday}", holiday_name_zh(holiday_name))


def provisional_calendar_notice(year: int, holidays: list[tuple[str, dt.date, dt.date]]) -> str:
    """Staff are told once a year that its official holiday schedule has not been entered."""
    def span(first: dt.date, last: dt.date) -> str:
        return f"{first.month}月{first.day}日" + ("" if last == first else f"-{last.month}月{last.day}日")

    listed = "、".join(f"{name}（{span(first, last)}）" for name, first, last in holidays) or "法定节假日"
    return (f"【日历提醒】{year}年的放假安排（含调休上班日）还没有录入。在录入之前，按法定假日规则暂定"
            f"{listed}不推送主题活动；调休上班的周末不会推送。国务院办公厅公布{year}年安排后，请把放假和"
            "调休日期填入社区配置文件的 themes.calendar 并重启机器人（或升级 chinesecalendar）。")


def no_activity_answer(when: str, day: dt.date, reason: str, holiday_name: str | None = None) -> str:
    label = date_label(day)
    if reason == "holiday":
        name = holiday_name_zh(holiday_name)
        return f"{when}（{label}）是{name}假期，社区主题活动暂停，祝大家节日快乐！"
    if reason == "weekend":
        return f"{when}（{label}）是周末，没有主题活动。便民服务照常，可以问我“周六能理发吗”。"
    if reason == "cancelled":
        return f"{when}（{label}）的社区活动取消了，给大家带来不便请谅解。"
    return f"{when}（{label}）没有安排社区主题活动。"


def morning_post(day: dt.date, theme: Theme, bot_name: str) -> str:
    lines = [f"早上好！今天是{date_label(day)}，{theme.title}。", *theme_lines(theme)[1:]]
    lines.insert(1, theme.description)
    lines.append(f"有需要的话在群里@{bot_name} 说一声就行～")
    return "\n".join(lines)


# --- Scheduled posts (bot/scheduler.py) -----------------------------------------------------------


def makeup_morning_post(day: dt.date, theme: Theme, bot_name: str) -> str:
    """A weekday theme on a weekend make-up workday (调休): say why, or it reads like a mistake."""
    lines = morning_post(day, theme, bot_name).split("\n")
    lines[0] = f"早上好！今天是{date_label(day)}，调休上班，社区活动照常：{theme.title}。"
    return "\n".join(lines)


def cancelled_morning_post(day: dt.date, note: str) -> str:
    text = f"早上好！今天（{date_label(day)}）的社区活动取消了，给大家带来不便请谅解。"
    return f"{text}\n{note}" if note else text


ERROR_FALLBACK = "抱歉，刚才没处理好您的消息，已经记下了，工作人员会跟进。"


# --- Staff web page (bot/staff_web/) --------------------------------------------------------------

WEB_DELIVERIES_TITLE = "发送失败"
WEB_DELIVERIES_NONE = "没有发送失败的消息。"
WEB_DELIVERIES_HINT = "以下消息已停止重试，不会再自动发送；请核对原因，必要时另行联系对方。"
CHANNEL_NAMES = {"wecom": "企业微信应用", "wecom_aibot": "企业微信智能机器人", "mp": "公众号", "sim": "模拟器"}


def web_login_locked(minutes: int) -> str:
    """The staff login after too many failed attempts (HTTP 429)."""
    return f"登录失败次数过多，请 {max(1, minutes)} 分钟后再试"


def web_deliveries_count(total: int, shown: int) -> str:
    return f"共 {total} 条" + (f"，显示最近 {shown} 条" if shown < total else "")
