"""What staff and residents are told when staff teach the bot: 待确认, corrected categories, labels by name."""

from __future__ import annotations

from handlers.texts_requests import category_name

LABEL_NAMES = {
    "booking:haircut": "预约理发",
    "booking:appliance_repair": "预约小家电维修",
    "booking:free_clinic": "预约义诊",
    "booking:knife_sharpening": "预约磨刀",
    "booking:legal_aid": "预约法律咨询",
    "report:repair": "报修",
    "report:sanitation": "环境卫生",
    "report:safety": "安全隐患",
    "report:parking": "停车交通",
    "report:dispute": "邻里纠纷",
    "report:elderly_care": "关爱老人",
    "inquiry:policy": "政策咨询",
    "query:today_activity": "问今天活动",
    "query:my_bookings": "查我的预约",
    "cancel_booking": "取消预约",
    "chitchat": "闲聊",
}


def label_name(label: str | None) -> str:
    return LABEL_NAMES.get(label or "", label or "—")


def reading_reason(by: str, label: str, confidence: float, rules_label: str, rules_score: float | None,
                   model_top: tuple[str, float] | None) -> str:
    """Why the bot read a message as it did, for staff (the decision's `by`, nlp/decide.py; `linli
    explain` prints the same in English)."""
    if by == "alarm":
        return "长消息的后半段有紧急用词，按安全隐患处理"
    if by == "urgent":
        return f"有紧急用词，关键词规则判为「{label_name(rules_label)}」"
    if by == "rules":
        score = f"（得分 {rules_score:g}）" if rules_score is not None else ""
        return f"模型拿不准或看法相同，关键词规则有把握：「{label_name(rules_label)}」{score}"
    if by == "model" and label == "chitchat" and model_top is not None and model_top[0] != "chitchat":
        return f"模型最看好「{label_name(model_top[0])}」（{model_top[1]:.2f}），但没有明显高过闲聊，按闲聊处理"
    if by == "model":
        return f"模型判断为「{label_name(label)}」（把握 {confidence:.2f}）"
    return f"只按关键词规则：「{label_name(label)}」"


# --- the resident, privately, when staff file what they said -----------------------------------------

def filed_for_you(excerpt: str, answer: str) -> str:
    """The usual acknowledgment, after a line saying which message staff filed for them."""
    return f"您之前说的“{excerpt}”，社区工作人员看到了，已经帮您登记：\n{answer}"


# --- staff, on the staff page ---------------------------------------------------------------------

WEB_UNSURE_TITLE = "待确认"
WEB_UNSURE_HINT = ("机器人拿不准、在群里没有回复的消息。是居民的诉求就选类别登记"
                   "（居民会收到私信，紧急情况照常通知工作群），不是就标为闲聊。"
                   "每一次选择都会记下来，机器人下次训练时学习。")
WEB_UNSURE_NONE = "没有待确认的消息。"
WEB_UNSURE_CHITCHAT = "已标为闲聊，机器人会记住这类消息不用回复。"


def web_unsure_count(total: int, shown: int) -> str:
    return f"共 {total} 条" + (f"，显示最近 {shown} 条" if shown < total else "")


def web_unsure_filed(number: int | None, category: str) -> str:
    if number is None:
        return f"已按「{category_name(category)}」处理，居民已收到私信。"
    return f"已登记为 #{number}（{category_name(category)}），居民已收到私信。"


def web_unsure_gone(by: str | None) -> str:
    return f"这条消息已经被{by or '其他同事'}处理过了。"


