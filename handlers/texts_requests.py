"""Every sentence of residents' requests (报事), staff commands, digests and the staff web, in one place.

Texts that a group can read get masked names and masked free text from the callers
(handlers/privacy.py); this module only words them.
"""

from __future__ import annotations

import datetime as dt

from config.themes import WEEKDAY_NAMES_ZH

CATEGORY_NAMES = {
    "repair": "报修",
    "sanitation": "环境卫生",
    "safety": "安全隐患",
    "parking": "停车交通",
    "dispute": "邻里纠纷",
    "elderly_care": "关爱老人",
    "policy": "政策咨询",
}
TIER_NAMES = {"grid": "网格", "community": "社区", "street": "街道"}
STATUS_NAMES = {
    "new": "待受理",
    "acknowledged": "已受理",
    "in_progress": "处理中",
    "resolved": "已解决",
    "closed": "已关闭",
    "rejected": "已驳回",
}
ACTION_NAMES = {"created": "登记", "merged": "合并反映", "status": "状态", "tier": "层级", "urgent": "紧急",
                "assigned": "指派", "category": "改类别", "split": "拆分", "overdue": "超期", "followup": "回访",
                "rated": "评价", "reopened": "居民说没解决，重新处理", "reply": "回复居民"}

EXCERPT_CHARS = 40


def category_name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def age_text(seconds: float) -> str:
    """"3 小时" / "12 天": how long a request has waited."""
    hours = int(seconds // 3600)
    if hours < 1:
        return f"{max(1, int(seconds // 60))} 分钟"
    if hours < 48:
        return f"{hours} 小时"
    return f"{hours // 24} 天"


# --- residents, in the group --------------------------------------------------------------------

def acknowledged(masked_name: str, number: int, category: str, place: str, tier: str) -> str:
    who = {"grid": "网格员", "community": "社区工作人员", "street": "社区工作人员"}[tier]
    extra = "，需要上报街道的社区会负责上报" if tier == "street" else ""
    return (f"@{masked_name} 收到，已登记为 #{number}（{category_name(category)} · {place}）。"
            f"{who}会尽快处理{extra}，处理好了会私信告诉您。")


def acknowledged_urgent(masked_name: str, number: int, category: str) -> str:
    return (f"@{masked_name} 收到！已登记为紧急事项 #{number}（{category_name(category)}），"
            "已经通知社区工作人员马上处理。有危险请先离开现场，必要时直接拨打 119 / 120 / 110。")


def policy_forwarded(masked_name: str, number: int, team_name: str) -> str:
    return (f"@{masked_name} 这个问题已经转给{team_name}（#{number}），志愿者了解清楚后会私信回复您。"
            "也可以周三下午来社区服务中心当面问。")


def hazard_answer(advice: str, numbers: list[tuple[str, str]]) -> str:
    lines = [advice] if advice else []
    if numbers:
        lines.append("紧急电话：" + "；".join(f"{name} {number}" for name, number in numbers))
    lines.append("如果正在发生，请先打电话，再在群里说一下几号楼几单元，社区马上安排人过去。")
    return "\n".join(lines)


def faq_answer_plain(masked_name: str, answer: str) -> str:
    return f"@{masked_name} {answer}"


def also_option(index: int, number: int, category: str, place: str, summary: str) -> str:
    return f"{index}. #{number} {category_name(category)} · {place}：{summary}"


def also_which(masked_name: str, lines: list[str]) -> str:
    return "\n".join([f"@{masked_name} 最近群里反映了几件事，您说的是哪一件？回复序号就行：", *lines,
                      "都不是的话，直接说一下您遇到的问题。"])


def also_pick(count: int) -> str:
    return f"请回复 1-{count} 之间的序号，或者说“都不是”。"


ALSO_WHICH_EXPIRED = "刚才的选择已经过期了，请直接说一下您遇到的问题。"
ALSO_WHICH_DROPPED = "好的，不合并。有问题直接在群里说就行。"


def faq_answer(masked_name: str, answer: str) -> str:
    return f"@{masked_name} {answer}\n还有不清楚的，可以再问我，或者周三政策宣讲日到社区服务中心咨询。"


def merged(masked_name: str, number: int, affected: int) -> str:
    return (f"@{masked_name} 收到，这个问题已经有邻居反映过了（#{number}），已合并记录，"
            f"目前共 {affected} 户反映，工作人员正在跟进。")


def already_reported(masked_name: str, number: int) -> str:
    return f"@{masked_name} 您反映的问题已经记下了（#{number}），工作人员正在跟进，处理好了会私信告诉您。"


# --- residents, privately -----------------------------------------------------------------------

def resolved_private(number: int, category: str, summary: str, note: str | None) -> str:
    lines = [f"您反映的问题（#{number} {category_name(category)}：{summary}）已经处理好了。"]
    if note:
        lines.append(f"处理说明：{note}")
    lines.append("如果还有问题，在群里再跟我说一声就行。谢谢您的反映！")
    return "\n".join(lines)


def rejected_private(number: int, category: str, summary: str, reason: str) -> str:
    return (f"您反映的问题（#{number} {category_name(category)}：{summary}）社区这边没法受理，"
            f"原因：{reason}\n如有疑问，可以在工作日到社区服务中心当面咨询。")


# --- staff --------------------------------------------------------------------------------------

def urgent_alert(number: int, category: str, place: str, grid: str, masked_name: str, text: str,
                 url: str) -> str:
    return (f"🚨紧急 #{number} {category_name(category)} · {place} · {grid}\n"
            f"{masked_name}：{text}\n"
            f"请立即处理，处理后回复“#{number} 处理中”。详情：{url}/requests/{number}")


def urgent_again(number: int, category: str, masked_name: str, text: str, affected: int, url: str) -> str:
    return (f"🚨#{number}（{category_name(category)}，紧急）又有居民反映，共 {affected} 户\n{masked_name}：{text}\n"
            f"详情：{url}/requests/{number}")


def urgent_escalated(number: int, category: str, masked_name: str, text: str, url: str) -> str:
    return (f"🚨#{number}（{category_name(category)}）有居民补充了紧急情况\n{masked_name}：{text}\n"
            f"请立即处理。详情：{url}/requests/{number}")


def status_changed(number: int, status: str, actor: str, note: str | None = None) -> str:
    tail = f"：{note}" if note else ""
    return f"#{number} 已改为「{STATUS_NAMES[status]}」（{actor}）{tail}"


def tier_changed(number: int, tier: str, actor: str, street_office: str) -> str:
    if tier == "street":
        office = street_office or "街道"
        return f"#{number} 已标记为上报街道（{office}），由社区负责对接（{actor}）"
    return f"#{number} 已转为{TIER_NAMES[tier]}层级处理（{actor}）"


def not_found(number: int) -> str:
    return f"没有找到 #{number}，请核对编号。"


def unchanged(number: int, status: str) -> str:
    return f"#{number} 已经是「{STATUS_NAMES[status]}」了。"


def tier_unchanged(number: int, tier: str) -> str:
    return f"#{number} 已经是{TIER_NAMES[tier]}层级了。"


def not_allowed(number: int, current: str, wanted: str) -> str:
    return f"#{number} 现在是「{STATUS_NAMES[current]}」，不能改为「{STATUS_NAMES[wanted]}」。"


def not_open(number: int, current: str) -> str:
    return (f"#{number} 现在是「{STATUS_NAMES[current]}」，办结了的事项不能再转层级或指派；"
            f"需要的话先发“#{number} 重新处理”。")


def stale(number: int, current: str, by: str | None) -> str:
    who = f"{by}" if by else "其他同事"
    return (f"#{number} 刚刚已被{who}改为「{STATUS_NAMES[current]}」，您这次的修改没有生效，"
            "请确认后再操作。")


REJECT_NEEDS_REASON = "驳回需要写明原因，例如：#12 驳回 不属于社区职责"
STAFF_ONLY = "这个指令只有社区工作人员可以使用。"
STAFF_GROUP_ONLY = "工单指令请在社区工作群里发，或者私聊我。"


# --- digest -------------------------------------------------------------------------------------

def digest_title(community_name: str, day: dt.date, weekly: bool) -> str:
    kind = "工单日报（含本周汇总）" if weekly else "工单日报"
    return f"【{community_name} {kind}】{day.month}月{day.day}日 {WEEKDAY_NAMES_ZH[day.weekday()]}"


def digest_totals(new: int, resolved: int, open_: int) -> str:
    return f"今日新增 {new} 件，办结 {resolved} 件，未办结 {open_} 件"


DIGEST_BREAKDOWN_HINT = "（新增/办结/未办结）"
DIGEST_BY_CATEGORY = "按类别"
DIGEST_BY_TIER = "按层级"
DIGEST_BY_GRID = "按网格"
DIGEST_NOTHING = "今天没有新的居民报事，也没有未办结的事项。"


def digest_urgent_head(count: int) -> str:
    return f"🚨 紧急未办结 {count} 件："


def digest_item(number: int, category: str, where: str, age: str, text: str, *, waited: bool = False) -> str:
    verb = "已等" if waited else "已"
    return f"  #{number} {category_name(category)} · {where} · {verb} {age}：{text}"


DIGEST_OLDEST_HEAD = "等待最久的未办结："
DIGEST_NO_GRID = "未分网格"


def digest_overdue_head(count: int) -> str:
    return f"⏰ 超期未办结 {count} 件（已自动上报上一级）："


def digest_overdue_item(number: int, category: str, where: str, due: str, text: str) -> str:
    return f"  #{number} {category_name(category)} · {where} · 期限 {due}：{text}"


def digest_on_time(on_time: int, total: int) -> str:
    return f"今日办结中按期完成 {on_time}/{total} 件（{round(100 * on_time / total)}%）"


def digest_satisfaction(days: int, count: int, satisfied: int, mean: float) -> str:
    share = round(100 * satisfied / count)
    return f"近 {days} 天回访 {count} 人次，满意 {satisfied} 人次（{share}%），平均 {mean:.1f} 分"


def digest_week(start: dt.date, end: dt.date, total: int, parts: str, chart_url: str) -> str:
    return (f"本周（{start.month}/{start.day}-{end.month}/{end.day}）共 {total} 件：{parts}\n"
            f"本周图表：{chart_url}")


def digest_footer(url: str) -> str:
    return f"工作台：{url}"


# --- staff web ----------------------------------------------------------------------------------

WEB_LOGIN_FAILED = "账号或密码不对"
WEB_SESSION_EXPIRED = "登录已过期，请重新登录"
WEB_BAD_FORM = "表单已失效，请刷新页面后再试"


def web_stale(number: int, current: str, by: str | None) -> str:
    who = by or "其他同事"
    return (f"#{number} 在您打开页面后已被{who}改为「{STATUS_NAMES[current]}」，您的修改没有保存，"
            "请看一下最新状态再操作。")


def web_status_changed_in_group(number: int, status: str, actor: str, note: str | None) -> str:
    return status_changed(number, status, f"{actor}，网页", note)
