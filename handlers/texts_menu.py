"""What the bot says when it is addressed and nothing else answers: the menu of what it can do."""

from __future__ import annotations

from collections.abc import Sequence


def greeting(masked_name: str | None) -> str:
    """"@张** 您好！" in a group (the group sees who is answered), "您好！" in a private chat."""
    return f"@{masked_name} 您好！" if masked_name else "您好！"


def thanks_ack(*, in_group: bool) -> str:
    """The answer to thanks or "好的" said to the bot."""
    return "不客气～有需要随时@我。" if in_group else "不客气～有需要随时找我。"


def resident_menu(lead: str, bot_name: str, services: Sequence[str]) -> str:
    lines = [f"{lead}我是{bot_name}，可以帮您："]
    if services:
        lines.append(f"· 预约便民服务（{'、'.join(services)}）：说“想约周六上午理发”就行")
    lines += [
        "· 报事报修：直接说哪里出了什么问题，比如“3号楼2单元楼道灯不亮了”，急事会马上通知社区",
        "· 问社区活动：“今天有什么活动”“明天有啥活动”",
        "· 查看、取消预约：“我的预约”，“取消 预约码”",
        "· 政策咨询：医保、养老、补贴这些，直接问我",
    ]
    return "\n".join(lines)


def volunteer_menu(lead: str, bot_name: str, services: Sequence[str]) -> str:
    return (resident_menu(lead, bot_name, services)
            + "\n· 志愿服务：有人预约您所在服务队的服务，我会私信告诉您")


def staff_menu(lead: str, staff_web_url: str) -> str:
    return "\n".join([
        f"{lead}在工作群或私聊里可以这样用：",
        "· 工单：“#编号 处理中”“#编号 已解决 说明”“#编号 上报街道”“#编号 驳回 原因”",
        "· 服务场次：发“场次帮助”查看加场、关闭场次、名单和导出",
        f"· 工作台：{staff_web_url}（工单、待确认的消息、图表）",
    ])


def pending_question(lead: str) -> str:
    """A sender who was asked something (which session?) and said something else."""
    return f"{lead}刚才的问题还在等您回复：回复序号就行，说“算了”就不办了。需要别的帮助，说“帮助”。"
