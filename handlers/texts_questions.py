"""Every sentence of the answers to residents' questions about sessions, activities and named days."""

from __future__ import annotations

import datetime as dt

from config.themes import WEEKDAY_NAMES_ZH, Theme
from handlers.texts import date_label, theme_lines
from handlers.texts_booking import day_text

EXIT_ACK = "好的～有需要随时@我。"


def _part(part: str | None) -> str:
    return {"am": "上午", "pm": "下午"}.get(part or "", "")


# --- "周六能理发吗", "今天有义诊吗" ----------------------------------------------------------------


def that_day(service_name: str, day: dt.date, part: str | None, today: dt.date) -> str:
    when = "今天" if day == today else ("明天" if day == today + dt.timedelta(days=1) else "")
    return f"{when}{day_text(day)}{_part(part)}有{service_name}，还有名额："


def none_that_day(service_name: str, day: dt.date, part: str | None, today: dt.date) -> str:
    when = "今天" if day == today else ""
    return f"{when}{day_text(day)}{_part(part)}没有{service_name}。"


def full_that_day(service_name: str, day: dt.date, today: dt.date) -> str:
    when = "今天" if day == today else ""
    return f"{when}{day_text(day)}的{service_name}已经约满了。"


def ahead(service_name: str) -> str:
    return f"{service_name}近期的场次："


# --- "下周三是什么主题日", "国庆有活动吗", "这周五清洁日几点集合" -------------------------------------


def _date(day: dt.date, today: dt.date) -> str:
    year = f"{day.year}年" if day.year != today.year else ""
    return f"{year}{day.month}月{day.day}日"


def _span(first: dt.date, last: dt.date, today: dt.date) -> str:
    if first == last:
        return f"{_date(first, today)}({WEEKDAY_NAMES_ZH[first.weekday()]})"
    return f"{_date(first, today)}-{_date(last, today) if last.year != first.year else f'{last.month}月{last.day}日'}"


def holiday_activities(name: str, first: dt.date, last: dt.date, today: dt.date, provisional: bool) -> str:
    text = f"{name}假期（{_span(first, last, today)}）社区主题活动暂停，祝大家节日快乐！"
    if provisional:
        text += "放假安排以国务院公布的为准，公布后社区会在群里通知。"
    return text + "便民服务有没有场次，可以问我，比如“那天能理发吗”。"


def named_day_lead(name: str, day: dt.date, today: dt.date) -> str:
    return f"{name}是{_date(day, today)}({WEEKDAY_NAMES_ZH[day.weekday()]})。"


def meeting(when: str, day: dt.date, theme: Theme) -> str:
    """When and where a theme meets: the lines of the day's activity answer, without the description."""
    lines = [f"{when}（{date_label(day)}）{theme.title}：", *theme_lines(theme)[1:]]
    if not theme.time and not theme.place:
        lines.append("具体时间地点请留意群里的通知。")
    return "\n".join(lines)


def no_such_activity_soon(title: str, days: int) -> str:
    return f"未来{days}天没有安排{title}。"


def not_that_day(title: str, when: str, day: dt.date, actual: str) -> str:
    return f"{when}（{date_label(day)}）不是{title}，{actual}"
