"""The parts of a community's request rules that describe a request's life (issue 16): how an
emergency is worded, which numbers to call, what a problem is about (its object, for merging),
deadlines on working days, the street office's contacts, 回访, and the words of staff commands.

Read by config/community.py's `RequestRules`; every word list is matched on normalized text
(Simplified, half-width, lower-case), so the file may be written in Traditional characters too.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    # As config/community.py's: unknown keys are typos far more often than extensions.
    model_config = ConfigDict(extra="forbid", frozen=True)


class UrgentCue(_Model):
    """One kind of emergency, said by any of `words` alone, or by one word of every set of a
    `together` entry within `within` characters ("a person" + "cannot get out").

    `unless` words anywhere in the message make it a look-alike (轮胎漏气, 火灾隐患). `advice` and
    `numbers` (ids of the community's `emergency_numbers`) answer a question about this hazard
    ("要是…应该打什么电话", "怎么检查燃气泄漏").
    """

    id: str
    category: str = "safety"  # the request's category when the classifier gives no report label
    words: list[str] = Field(default_factory=list)
    together: list[list[list[str]]] = Field(default_factory=list)
    within: int = Field(default=12, ge=1)
    unless: list[str] = Field(default_factory=list)
    advice: str = ""
    numbers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _says_something(self) -> UrgentCue:
        if not self.words and not self.together:
            raise ValueError("an urgent cue needs 'words' or 'together'")
        for entry in self.together:
            if len(entry) < 2 or any(not words for words in entry):
                raise ValueError("each 'together' entry needs at least two non-empty word sets")
        return self


class EmergencyNumber(_Model):
    """A number residents are told to call (火警 119, 急救 120, the gas company's repair line …)."""

    id: str
    name: str
    number: str


class Deadline(_Model):
    """How long a request may take: clock `hours` (day and night, for emergencies), or
    `working_hours` / `working_days` counted in the community's working time on working days
    (the holiday calendar with its make-up workdays decides which days work)."""

    hours: float | None = Field(default=None, gt=0)
    working_hours: float | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Deadline:
        given = [v for v in (self.hours, self.working_hours, self.working_days) if v is not None]
        if len(given) != 1:
            raise ValueError("a deadline needs exactly one of 'hours', 'working_hours' or 'working_days'")
        return self


class WorkingTime(_Model):
    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(17, 30)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingTime:
        if self.end <= self.start:
            raise ValueError("working time must end after it starts")
        return self

    @property
    def hours_a_day(self) -> float:
        return (dt.datetime.combine(dt.date.min, self.end) - dt.datetime.combine(dt.date.min, self.start)
                ).total_seconds() / 3600


class StreetContacts(_Model):
    """Who at the street office gets a request escalated to the street tier, with its history:
    a group (kind: street) and/or people of this file."""

    group: str | None = None
    people: list[str] = Field(default_factory=list)


# Staff commands on a request, "#12 <word> …": the word (or a synonym) names the action. Longest
# words are tried first, so "已解决" is not read as "解决".
DEFAULT_COMMAND_WORDS: dict[str, list[str]] = {
    "acknowledged": ["收到", "受理", "已受理"],
    "in_progress": ["处理中", "在处理", "正在处理", "重新处理", "跟进中", "在跟进", "已派单", "已派人", "办理中",
                    "在办"],
    "resolved": ["已解决", "解决了", "已处理", "处理好了", "处理完了", "办结", "已办结", "修好了", "已修好",
                 "已完成", "完成了", "搞定了", "已解答", "解答了", "已答复"],
    "closed": ["关闭", "已关闭", "结案"],
    "rejected": ["驳回", "不予受理", "不受理", "退回"],
    "tier:street": ["上报街道", "报街道", "转街道", "报给街道", "报给街道办", "上报街道办", "转街道办", "上报区里",
                    "报区里", "上报区"],
    "tier:community": ["上报社区", "转社区", "报社区", "报给社区"],
    "tier:grid": ["转网格", "退回网格", "交回网格"],
    "assign": ["指派", "派给", "交给", "分给", "转给", "指派给"],
    "category": ["改为", "改成", "类别改为", "分类改为", "改类别"],
    "split": ["拆分", "拆出", "拆开", "分开"],
    "progress": ["进度", "查进度", "查询", "怎么样了", "状态"],
    "contact": ["联系方式", "联系电话", "电话", "怎么联系", "联系人"],
    "reply": ["回复", "答复", "回电"],
}
# Words that start a command without a request number.
DEFAULT_PROXY_WORDS = ["代报", "帮居民报", "替居民报"]
DEFAULT_MY_TASKS_WORDS = ["我的工单", "我的任务", "我负责的"]
# A resident asking after their own requests ("我的报修", "我报的楼道灯修好了没").
DEFAULT_STATUS_CUES = ["我的报修", "我的报事", "我的反映", "我报的", "我反映的", "我提的", "我报修的", "我投诉的",
                       "报修进度", "报事进度"]
# A resident saying a resolved request is not fixed (回访, or unasked shortly after resolution).
DEFAULT_NOT_FIXED_CUES = ["还是不行", "没修好", "还没修好", "没有修好", "没解决", "没有解决", "还没解决", "还是坏的",
                          "还是没好", "根本没修"]
# Words staff use for a category ("#12 改为 报修", "代报 卫生 …"), besides the category's own name.
DEFAULT_CATEGORY_WORDS: dict[str, list[str]] = {
    "repair": ["报修", "维修", "修理", "repair"],
    "sanitation": ["环境卫生", "卫生", "环卫", "保洁", "sanitation"],
    "safety": ["安全隐患", "安全", "隐患", "safety"],
    "parking": ["停车交通", "停车", "交通", "parking"],
    "dispute": ["邻里纠纷", "纠纷", "矛盾", "dispute"],
    "elderly_care": ["关爱老人", "老人", "养老", "关爱", "elderly_care"],
    "policy": ["政策咨询", "政策", "咨询", "policy"],
}
# 满意 / 一般 / 不满意, or a mark 1-5.
DEFAULT_SATISFACTION_WORDS: dict[str, int] = {
    "非常满意": 5, "很满意": 5, "满意": 5, "挺好": 4, "还可以": 4, "还行": 3, "一般": 3, "马马虎虎": 3,
    "不太满意": 2, "不满意": 1, "很不满意": 1, "非常不满意": 1, "太差": 1, "很差": 1,
}
