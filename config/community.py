"""The community data model: groups, grids, people, teams, services, themes, request rules; and the
`Directory` of all communities a deployment serves. Read from YAML by config/loader.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.derived import cached_on
from config.request_rules import (
    DEFAULT_CATEGORY_WORDS,
    DEFAULT_COMMAND_WORDS,
    DEFAULT_MY_TASKS_WORDS,
    DEFAULT_NOT_FIXED_CUES,
    DEFAULT_PROXY_WORDS,
    DEFAULT_SATISFACTION_WORDS,
    DEFAULT_STATUS_CUES,
    Deadline,
    EmergencyNumber,
    StreetContacts,
    UrgentCue,
    WorkingTime,
)
from config.themes import (
    WEEKDAYS,
    Themes,
)


class ConfigError(Exception):
    """A community file that cannot be used; `str()` is the message an operator sees."""


class _Model(BaseModel):
    # Unknown keys are typos far more often than extensions: reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grid(_Model):
    id: str
    name: str
    buildings: list[int] = Field(default_factory=list)
    workers: list[str] = Field(default_factory=list)  # staff ids of the grid workers


class Group(_Model):
    id: str
    name: str
    # street: the street office's group, told of requests escalated to the street tier.
    kind: Literal["residents", "staff", "volunteers", "street"]
    buildings: list[int] = Field(default_factory=list)
    theme_posts: bool = True  # per-group opt-out of the morning theme post
    # The channel whose sender delivers timed posts (morning theme …) to this group: "sim" (the web
    # simulator) until a group is wired to WeCom, e.g. channel: wecom.
    channel: str = "sim"
    # WeCom (bot/channels/wecom*.py): the chat id the AI bot reports for this group, the app group
    # chat (appchat) our WeCom app created for it, and the environment variable holding the key of
    # its group robot (default LINLI_WECOM_ROBOT_KEY_<ID>, e.g. LINLI_WECOM_ROBOT_KEY_G_RES_1).
    wecom_chat_id: str | None = None
    appchat_id: str | None = None
    robot_key_env: str | None = None
    # How many people are in the group. WeCom counts a post to an app group chat once per member
    # against the corp's 20,000 person-times a minute, so linli paces appchat posts by it. Unset:
    # the people of this file who list the group (at least 2); set it when the chat has more.
    # An appchat holds 2..2000 members.
    members: int | None = Field(default=None, ge=1, le=2000)


class Person(_Model):
    id: str
    name: str
    role: Literal["resident", "staff", "volunteer"]
    groups: list[str] = Field(default_factory=list)
    building: int | None = None
    unit: int | None = None
    room: str | None = None
    phone: str | None = None
    # WeCom member UserID (default: the same as `id`) and Official Account openid of this person.
    wecom_userid: str | None = None
    mp_openid: str | None = None
    # Staff web login (bot/staff_web/passwords.py): "scrypt$n$r$p$salt$hash", never the password itself.
    password_hash: str | None = None


class Team(_Model):
    id: str
    name: str
    purpose: str = ""
    members: list[str] = Field(default_factory=list)
    # The member who is told when a volunteer of the team cannot come (handlers/volunteers.py);
    # unset: the other members are told.
    lead: str | None = None


class SessionRule(_Model):
    """A recurring weekly session (`weekday`) or a one-off dated session (`date`)."""

    weekday: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]
    date: dt.date | None = None
    start: dt.time
    end: dt.time
    capacity: int = Field(gt=0)
    place: str | None = None  # overrides the service's place

    @model_validator(mode="after")
    def _one_of_weekday_or_date(self) -> SessionRule:
        if (self.weekday is None) == (self.date is None):
            raise ValueError("a session needs exactly one of 'weekday' (recurring) or 'date' (one-off)")
        if self.end <= self.start:
            raise ValueError("a session must end after it starts")
        return self


class Service(_Model):
    id: Literal["haircut", "appliance_repair", "free_clinic", "knife_sharpening", "legal_aid"]
    name: str
    team: str
    place: str
    note: str = ""
    sessions: list[SessionRule] = Field(default_factory=list)


Tier = Literal["grid", "community", "street"]
# Where links point when neither the community file nor LINLI_PUBLIC_URL says (a process on its defaults).
DEFAULT_STAFF_WEB_URL = "http://127.0.0.1:8080/staff"


class FaqEntry(_Model):
    """A policy question answered from config: every keyword must occur ("缴|交" means either)."""

    id: str
    keywords: list[str] = Field(min_length=1)
    answer: str


class RequestRules(_Model):
    """Residents' requests (issue 5): tiers, urgency, merging, the policy FAQ, the staff web."""

    # 小事不出网格，大事不出社区，特事上报街道: the tier a category starts at ...
    category_tiers: dict[str, Tier] = Field(default_factory=lambda: {
        "repair": "grid", "sanitation": "grid", "parking": "grid", "dispute": "grid",
        "elderly_care": "community", "safety": "community", "policy": "community"})
    # ... and words that raise it (the highest tier whose cue occurs wins).
    tier_cues: dict[Tier, list[str]] = Field(default_factory=dict)
    # Emergencies that alert the staff group at once (config/request_rules.py `UrgentCue`: words
    # alone, or word sets together); a bare word is a cue of its own. A cue right after a "what if"
    # word (within `hypothetical_within` characters) is a worry, not an emergency.
    urgent_cues: list[UrgentCue] = Field(default_factory=list)
    hypothetical_cues: list[str] = Field(default_factory=lambda: ["万一", "要是", "如果", "假如", "怕"])
    hypothetical_within: int = Field(default=6, ge=1)
    # A question about a hazard ("…应该打什么电话", "怎么检查燃气泄漏") is answered, not filed,
    # unless the message says it is happening now (`present_cues`, or a place).
    hazard_question_cues: list[str] = Field(default_factory=lambda: [
        "打什么电话", "打哪个电话", "什么电话", "哪个电话", "电话是多少", "电话多少", "打几号", "怎么检查", "如何检查",
        "怎么判断", "如何判断", "怎么预防", "如何预防", "注意什么", "注意哪些", "怎么处理", "怎么办", "咋办", "找谁"])
    present_cues: list[str] = Field(default_factory=lambda: [
        "了", "快来", "救命", "现在", "正在", "赶紧", "马上", "刚才", "刚刚", "着呢", "!"])

    @field_validator("urgent_cues", mode="before")
    @classmethod
    def _bare_words_are_cues(cls, value: Any) -> Any:
        """Older files list bare words (`urgent_cues: [燃气味, 着火]`): each alone is enough."""
        if not isinstance(value, list):
            return value
        words = [v for v in value if isinstance(v, str)]
        rest = [v for v in value if not isinstance(v, str)]
        return rest + ([{"id": "words", "words": words}] if words else [])

    # Same category and building within this window: one request, more residents affected.
    merge_window_minutes: int = Field(default=120, ge=0)
    # "+1" / "我家也是" joins the group's latest request when it is at most this old.
    also_window_minutes: int = Field(default=120, ge=0)
    # ... and when several were reported in the group that long, the one reported in the last
    # `also_recent_minutes` if it is the only one; otherwise the resident is asked which.
    also_recent_minutes: int = Field(default=10, ge=0)
    also_cues: list[str] = Field(default_factory=lambda: [
        "+1", "同上", "我家也", "我们家也", "我们也", "俺家也", "我这也", "我这边也", "我们这也", "我也是", "也是这样",
        "同问"])
    policy_team: str | None = None  # who answers policy questions the FAQ cannot
    faq: list[FaqEntry] = Field(default_factory=list)
    weekly_digest_weekday: Literal[WEEKDAYS] = "sunday"  # type: ignore[valid-type]
    oldest_open_in_digest: int = Field(default=5, ge=0)
    staff_session_minutes: int = Field(default=480, ge=1)
    # Linked from digests and alerts. Unset (""): LINLI_PUBLIC_URL + "/staff" (bot/linli.py fills it in).
    staff_web_url: str = ""
    # What a problem is about, per category: one request is one object at one place (楼道灯 is
    # not 门禁). category -> object -> the words that name it.
    objects: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    # Deadlines per category, and "urgent" for urgent requests of any category; working time.
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    working_time: WorkingTime = Field(default_factory=WorkingTime)
    # The street office: who gets requests escalated to the street tier.
    street_contacts: StreetContacts = Field(default_factory=StreetContacts)
    # 回访: this long after a request is resolved its reporters are asked whether it is really
    # solved and how satisfied they are (0: never); their answer is awaited `followup_answer_days`.
    followup_after_hours: float = Field(default=24, ge=0)
    followup_answer_days: int = Field(default=3, ge=1)
    # How often the overdue and 回访 checks run (a scheduler job of the leader process).
    check_every_minutes: int = Field(default=5, ge=1)
    # Words of commands and answers (config/request_rules.py has the defaults).
    command_words: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_COMMAND_WORDS))
    proxy_words: list[str] = Field(default_factory=lambda: list(DEFAULT_PROXY_WORDS))
    my_tasks_words: list[str] = Field(default_factory=lambda: list(DEFAULT_MY_TASKS_WORDS))
    status_cues: list[str] = Field(default_factory=lambda: list(DEFAULT_STATUS_CUES))
    not_fixed_cues: list[str] = Field(default_factory=lambda: list(DEFAULT_NOT_FIXED_CUES))
    satisfaction_words: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SATISFACTION_WORDS))
    category_words: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_CATEGORY_WORDS))
    # A photo or location a resident sends joins their open request reported at most this many
    # minutes before, or waits this long for the report that follows (handlers/attachments.py).
    attachment_window_minutes: int = Field(default=10, ge=0)

    def category_named(self, word: str) -> str | None:
        """The category a staff member means ("报修", "卫生", "repair"), or None."""
        word = word.strip().lower()
        return next((c for c, words in self.category_words.items() if word in words), None)

    @property
    def web_url(self) -> str:
        """The staff page's address for links: `staff_web_url`, else the local default."""
        return (self.staff_web_url or DEFAULT_STAFF_WEB_URL).rstrip("/")

    @field_validator("command_words")
    @classmethod
    def _known_command_actions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(DEFAULT_COMMAND_WORDS))
        if unknown:
            raise ValueError(f"unknown command action(s) {unknown}; known: {sorted(DEFAULT_COMMAND_WORDS)}")
        return {**DEFAULT_COMMAND_WORDS, **value}

    @field_validator("satisfaction_words")
    @classmethod
    def _marks_1_to_5(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(word for word, mark in value.items() if not 1 <= mark <= 5)
        if bad:
            raise ValueError(f"satisfaction marks are 1-5: {bad}")
        return value


class MenuRules(_Model):
    """The menu of what the bot can do (handlers/menu.py): what asks for it, said as a whole message."""

    help_words: list[str] = Field(default_factory=lambda: [
        "帮助", "菜单", "使用说明", "怎么用", "怎么使用", "咋用", "你能做什么", "你能干什么", "你能干啥", "你会什么",
        "你会做什么", "你会干啥", "你都能做什么", "能做什么", "能干什么", "能干啥", "有什么功能", "有啥功能", "help"])


class UnsureRules(_Model):
    """Messages kept for staff as 待确认 (handlers/unsure.py): how long, how many, when they are pruned."""

    keep_days: int = Field(default=30, ge=1)  # rows last seen longer ago are deleted
    max_pending: int = Field(default=500, ge=1)  # the oldest pending rows beyond this many are deleted
    prune_time: dt.time = dt.time(3, 30)  # the daily prune job, local time


class Attendance(_Model):
    """Checking residents in at sessions, no-shows and volunteers' service hours (handlers/attendance.py,
    handlers/service_hours.py)."""

    # 到场 <code> is taken from this long before a session starts (and any time after it).
    check_in_opens_minutes: int = Field(default=60, ge=0)
    # When the day's sessions are closed out: no-shows and service hours recorded (a daily job).
    close_time: dt.time = dt.time(21, 0)
    # A resident with this many no-shows within the window is flagged to staff (never blocked).
    no_show_flag_after: int = Field(default=3, ge=1)
    no_show_window_days: int = Field(default=90, ge=1)


class WeeklyReport(_Model):
    """The weekly post to the residents' groups (handlers/weekly_report.py): off unless enabled."""

    enabled: bool = False
    weekday: Literal[WEEKDAYS] = "friday"  # type: ignore[valid-type]
    time: dt.time = dt.time(18, 0)
    top_kinds: int = Field(default=3, ge=1, le=7)  # the most common kinds of requests shown
    thanks: str = "感谢各支志愿服务队和每一位热心邻居！"


class Community(_Model):
    id: str
    name: str
    street_office: str = ""
    timezone: str = "Asia/Shanghai"
    bot_name: str = "社区小助手"
    digest_time: dt.time = dt.time(17, 30)
    reminder_time: dt.time = dt.time(19, 0)  # booking reminders for the next day
    day_list_time: dt.time = dt.time(7, 30)  # the volunteer teams' lists for the day
    grids: list[Grid] = Field(default_factory=list)
    groups: list[Group]
    people: list[Person] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    themes: Themes = Field(default_factory=Themes)
    requests: RequestRules = Field(default_factory=RequestRules)
    menu: MenuRules = Field(default_factory=MenuRules)
    unsure: UnsureRules = Field(default_factory=UnsureRules)
    attendance: Attendance = Field(default_factory=Attendance)
    weekly_report: WeeklyReport = Field(default_factory=WeeklyReport)
    # Numbers residents are given when they ask about a hazard (and in urgent acknowledgments).
    emergency_numbers: list[EmergencyNumber] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    # Lookups used all over the handlers. Groups and people are indexed by id (the outbox looks
    # up a group for every post it sends, and a fan-out posts to thousands of groups); the index
    # is built on first use and belongs to the very lists it was built from (see `_by_id`).
    def group(self, group_id: str) -> Group | None:
        return _by_id(self, "groups", self.groups).get(group_id)

    def person(self, person_id: str) -> Person | None:
        return _by_id(self, "people", self.people).get(person_id)

    def member_count(self, group: Group) -> int:
        """The group's `members`, else how many people of this file list it (at least 2)."""
        if group.members is not None:
            return group.members
        return max(2, _listed_members(self).get(group.id, 0))

    def team(self, team_id: str) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def teams_of(self, person_id: str) -> list[Team]:
        """The volunteer teams a person is a member of, in file order."""
        return [t for t in self.teams if person_id in t.members]

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def staff_ids(self) -> frozenset[str]:
        """Configured staff (asked of nearly every message: built once, with the people list)."""
        return cached_on(self, "staff_ids", (self.people,),
                       lambda: frozenset(p.id for p in self.people if p.role == "staff"))

    def staff_group(self) -> Group | None:
        return next((g for g in self.groups if g.kind == "staff"), None)

    def street_group(self) -> Group | None:
        """The street office's group (`requests.street_contacts.group`), if any."""
        gid = self.requests.street_contacts.group
        return self.group(gid) if gid else None

    def emergency_number(self, number_id: str) -> EmergencyNumber | None:
        return next((n for n in self.emergency_numbers if n.id == number_id), None)

    def grid_for_building(self, building: int | None) -> Grid | None:
        if building is None:
            return None
        return next((g for g in self.grids if building in g.buildings), None)


def _by_id(model: BaseModel, name: str, items: list[Any]) -> dict[str, Any]:
    """`items` by id (the first of equal ids, as a scan would find), cached with the model."""
    def index() -> dict[str, Any]:
        found: dict[str, Any] = {}
        for item in items:
            found.setdefault(item.id, item)
        return found

    return cached_on(model, f"{name}_by_id", (items,), index)


def _listed_members(community: Community) -> dict[str, int]:
    """How many people of the community list each group, cached with the community."""
    def count() -> dict[str, int]:
        counts: dict[str, int] = {}
        for person in community.people:
            for group_id in set(person.groups):
                counts[group_id] = counts.get(group_id, 0) + 1
        return counts

    return cached_on(community, "listed_members", (community.people,), count)




class CommunityFile(_Model):
    """A community file: one or more communities."""

    communities: list[Community] = Field(min_length=1)


class Directory:
    """All communities of a deployment, indexed for the lookups a message needs."""

    def __init__(self, communities: Sequence[Community], source: Path | None = None) -> None:
        self.communities = list(communities)
        self.source = source
        self._group_index = {g.id: (c, g) for c in self.communities for g in c.groups}

    def community(self, community_id: str) -> Community | None:
        return next((c for c in self.communities if c.id == community_id), None)

    def with_public_url(self, public_url: str) -> Directory:
        """The same communities, each linking to `public_url`/staff unless its file sets `staff_web_url`."""
        base = public_url.rstrip("/")
        communities = [
            c if c.requests.staff_web_url else
            c.model_copy(update={"requests": c.requests.model_copy(update={"staff_web_url": f"{base}/staff"})})
            for c in self.communities
        ]
        return Directory(communities, source=self.source)

    def find_group(self, group_id: str) -> tuple[Community, Group] | None:
        return self._group_index.get(group_id)

    def all_groups(self) -> Iterable[tuple[Community, Group]]:
        return self._group_index.values()
