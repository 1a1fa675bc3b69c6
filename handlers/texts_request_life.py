"""Every sentence of a request's later life: residents told of each step, owners, the street office,
staff commands and their usage lines, status on demand, deadlines and 回访.

Texts a group can read get masked names and text from the callers (handlers/privacy.py); texts
sent privately to staff, owners, the street office and the volunteers who must call a resident
back carry what staff see on the staff page.
"""

from __future__ import annotations

import datetime as dt

from handlers.texts_requests import STATUS_NAMES, TIER_NAMES, category_name

# --- residents, privately, at each step -----------------------------------------------------------


def _about(number: int, category: str, summary: str) -> str:
    return f"您反映的问题（#{number} {category_name(category)}：{summary}）"


def taken_up_private(number: int, category: str, summary: str, status: str, owner: str | None) -> str:
    who = f"，由{owner}负责" if owner else ""
    verb = "已经受理" if status == "acknowledged" else "已经在处理了"
    return f"{_about(number, category, summary)}{verb}{who}。处理好了会再告诉您。"


def reopened_private(number: int, category: str, summary: str) -> str:
    return f"{_about(number, category, summary)}重新打开处理了，处理好了会再告诉您。"


def escalated_private(number: int, category: str, summary: str, tier: str, street_office: str) -> str:
    if tier == "street":
        office = street_office or "街道"
        return (f"{_about(number, category, summary)}社区处理不了，已经上报{office}协调解决。"
                "街道处理一般需要更长一些时间，社区会继续跟进，有进展会告诉您。")
    if tier == "community":
        return (f"{_about(number, category, summary)}已经上报社区，由社区工作人员统一协调处理，"
                "有进展会告诉您。")
    return f"{_about(number, category, summary)}交回网格员继续处理，有进展会告诉您。"


def split_private(number: int, category: str, summary: str) -> str:
    return (f"您反映的问题（{summary}）之前被合并到了别的事项里，现在已经单独登记为 #{number}"
            f"（{category_name(category)}），工作人员会单独跟进，处理好了会告诉您。")


def volunteer_reply_private(number: int, team_name: str, text: str) -> str:
    return f"关于您咨询的问题（#{number}），{team_name}的志愿者回复您：\n{text}"


# --- owners, teams, the street office (privately, as staff see it) --------------------------------


def assigned_private(number: int, category: str, place: str, text: str, contacts: list[str], by: str,
                     due: str | None, url: str) -> str:
    lines = [f"【工单 #{number}】{by}指派给您：{category_name(category)} · {place}", f"内容：{text}"]
    lines += [f"反映人：{c}" for c in contacts]
    if due:
        lines.append(f"期限：{due}")
    lines.append(f"处理后在工作群发“#{number} 处理中”或“#{number} 已解决 说明”。详情：{url}/requests/{number}")
    return "\n".join(lines)


def team_asked_private(number: int, team_name: str, category: str, text: str, contacts: list[str]) -> str:
    lines = [f"【{team_name} · #{number} {category_name(category)}】请联系居民了解情况：", f"内容：{text}"]
    lines += [f"居民：{c}" for c in contacts]
    lines.append(f"回复居民：“#{number} 回复 内容”；办好了：“#{number} 已解答 说明”。")
    return "\n".join(lines)


def contact_private(number: int, contacts: list[str]) -> str:
    return "\n".join([f"#{number} 的反映人（请勿外传）：", *contacts])


def contact_line(name: str, phone: str | None, place: str) -> str:
    parts = [name]
    if phone:
        parts.append(phone)
    if place:
        parts.append(place)
    return "，".join(parts)


def street_escalation(number: int, community_name: str, category: str, place: str, text: str,
                      history: list[str], url: str) -> str:
    lines = [f"【{community_name} 上报街道 #{number}】{category_name(category)} · {place}", f"内容：{text}",
             "处理经过："]
    lines += [f"  {h}" for h in history]
    lines.append(f"详情：{url}/requests/{number}")
    return "\n".join(lines)


def history_line(at: dt.datetime, actor: str, what: str, note: str) -> str:
    tail = f"：{note}" if note else ""
    return f"{at.month}月{at.day}日 {at:%H:%M} {actor} {what}{tail}"


# --- staff, in the group or privately ------------------------------------------------------------


def assigned(number: int, owner: str, by: str) -> str:
    return f"#{number} 已指派给{owner}（{by}），已私信告知。"


def assigned_team(number: int, team: str, by: str) -> str:
    return f"#{number} 已交给{team}跟进（{by}），志愿者已收到居民联系方式。"


def owner_unchanged(number: int, owner: str) -> str:
    return f"#{number} 已经由{owner}负责了。"


def unknown_owner(name: str, staff: list[str]) -> str:
    return f"没有找到工作人员或志愿队“{name}”。可以指派给：{'、'.join(staff)}"


def category_changed(number: int, before: str, after: str, tier: str, by: str) -> str:
    return (f"#{number} 类别已由「{category_name(before)}」改为「{category_name(after)}」，"
            f"按{TIER_NAMES[tier]}层级处理（{by}）")


def category_unchanged(number: int, category: str) -> str:
    return f"#{number} 已经是「{category_name(category)}」了。"


def unknown_category(word: str, names: list[str]) -> str:
    return f"没有“{word}”这个类别。可以改为：{'、'.join(names)}"


def split_done(number: int, masked_name: str, new_number: int, by: str) -> str:
    return f"已把 {masked_name} 的反映从 #{number} 拆分为 #{new_number}（{by}），并已私信告知。"


def split_unknown(number: int, who: str, names: list[str]) -> str:
    listed = "、".join(names) if names else "没有其他反映人"
    return f"#{number} 里没有找到“{who}”。可以拆分的反映人：{listed}"


def split_first(number: int) -> str:
    return f"#{number} 是这位居民最先反映的，不能拆出；请拆分后来合并进来的反映人。"


def reply_sent(number: int) -> str:
    return f"已把您的回复私信转给 #{number} 的居民。"


def contact_sent(number: int) -> str:
    return f"#{number} 的联系方式已私信发给您。"


def proxy_filed(number: int, masked_name: str, category: str, place: str, tier: str, *, reachable: bool) -> str:
    told = (f"每一步进展会私信告诉{masked_name}本人" if reachable
            else "这位居民不在通讯录里，进展会私信告诉您，请转告")
    return f"已替{masked_name}登记为 #{number}（{category_name(category)} · {place} · {TIER_NAMES[tier]}），{told}。"


def my_tasks(name: str, lines: list[str]) -> str:
    if not lines:
        return f"{name}，您目前没有未办结的工单。"
    return "\n".join([f"{name}，您负责的未办结工单 {len(lines)} 件：", *lines])


def task_line(number: int, category: str, where: str, status: str, due: str | None, overdue: bool, text: str) -> str:
    deadline = f" · {'已超期' if overdue else '期限'} {due}" if due else ""
    return f"  #{number} {category_name(category)} · {where} · {STATUS_NAMES[status]}{deadline}：{text}"


def reporter_reopened(number: int, masked_name: str, text: str) -> str:
    return f"#{number} 的居民 {masked_name} 说还没解决：{text}\n已重新打开，请再跟进。"


def low_rating(number: int, masked_name: str, mark: int, text: str) -> str:
    return f"#{number} 回访：{masked_name} 评价 {mark} 分（{text}），请关注。"


STAFF_USAGE = ("工单指令：#编号 收到 / 处理中 / 已解决 说明 / 驳回 原因 / 关闭 / 上报社区 / 上报街道 / 转网格 / "
               "指派 姓名 / 改为 类别 / 拆分 姓名 / 进度 / 联系方式；代报 楼栋 事项 姓名 电话；我的工单")
TEAM_USAGE = "志愿者指令：#编号 联系方式 / 回复 内容 / 已解答 说明 / 进度"
RESIDENT_USAGE = "查询您反映的事项：发“#编号 进度”或“我的报修”。"
PROXY_USAGE = "代报格式：代报 3号楼2单元 漏水 张阿姨 13900000000（写明楼栋、事项、居民姓名和电话）"
PROXY_NEEDS_CATEGORY = "没看出是哪一类事项，请在代报里写上类别，例如：代报 报修 3号楼2单元 漏水 张阿姨 139…"
NO_NOTE_TO_REPLY = "回复内容不能为空，例如：#12 回复 低保需要带户口本和收入证明到社区办理。"
TEAM_ONLY = "这个指令只有社区工作人员或负责这件事的志愿队可以使用。"
NOT_YOURS = "只能查询您自己反映的事项。"
SPLIT_NEEDS_WHO = "请写明要拆出的居民，例如：#12 拆分 张秀兰"


# --- residents: status on demand -----------------------------------------------------------------


def my_requests(masked_name: str, lines: list[str]) -> str:
    if not lines:
        return f"@{masked_name} 没有查到您反映过的事项。有问题直接在群里说就行。"
    return "\n".join([f"@{masked_name} 您反映的事项：", *lines])


def my_request_line(number: int, category: str, where: str, status: str, owner: str | None, text: str,
                    rated: int | None = None) -> str:
    who = f"（{owner}负责）" if owner and status in ("new", "acknowledged", "in_progress") else ""
    mark = f" · 您的评价 {rated} 分" if rated else ""
    return f"  #{number} {category_name(category)} · {where} · {STATUS_NAMES[status]}{who}{mark}：{text}"


# --- 回访 ------------------------------------------------------------------------------------------


def followup_question(number: int, category: str, summary: str) -> str:
    return (f"您好！您反映的问题（#{number} {category_name(category)}：{summary}）已经处理了一段时间，"
            "现在真的解决了吗？请回复：满意 / 一般 / 不满意（也可以打 1-5 分）；"
            "如果还没修好，回复“没修好”，我们会重新处理。")


def thanks_for_rating(masked_name: str, number: int, mark: int) -> str:
    if mark >= 4:
        return f"@{masked_name} 谢谢您的评价（#{number}，{mark} 分）！"
    return f"@{masked_name} 谢谢您的评价（#{number}，{mark} 分），我们会转告工作人员改进。"


def reopened_for_resident(masked_name: str, number: int) -> str:
    return f"@{masked_name} 抱歉还没解决，#{number} 已经重新打开，工作人员会再跟进。"


RATING_HOW = "请回复 满意 / 一般 / 不满意，或者打 1-5 分；还没修好请回复“没修好”。"


# --- deadlines ---------------------------------------------------------------------------------------


def overdue_staff(number: int, category: str, where: str, owner: str | None, due: str, tier: str | None,
                  url: str) -> str:
    who = f"负责人：{owner}" if owner else "尚未指派负责人"
    raised = f"，已自动上报{TIER_NAMES[tier]}" if tier else ""
    return (f"⏰ #{number} {category_name(category)} · {where} 已超过期限（{due}）{raised}。{who}。"
            f"详情：{url}/requests/{number}")


def overdue_owner(number: int, category: str, where: str, due: str, url: str) -> str:
    return (f"⏰ 您负责的 #{number}（{category_name(category)} · {where}）已超过期限（{due}），"
            f"已自动上报上一级，请尽快处理并更新进度。详情：{url}/requests/{number}")


def when_text(at: dt.datetime) -> str:
    return f"{at.month}月{at.day}日 {at:%H:%M}"
