"""Addressed, never ignored: the menu of what the bot can do.

A message that @-mentions the bot, or any message in a one-to-one chat, gets an answer: when no
handler took it (chit-chat, nothing sure enough, a bare "@社区小助手") `MenuHandler`, the last of the
registry, answers with a short menu; `帮助`, `你能做什么`, `怎么用` said as a whole message get it
wherever they are said (`HelpHandler`, early, as the classifier may read "怎么用" as a policy
question). A group message that does not address the bot never reaches the menu: chit-chat among
neighbours stays unanswered. Staff get their commands, volunteers a line about their team, and a
sender with a question pending ("which session?") is reminded of it instead.
"""

from __future__ import annotations

import functools
import re

from config.community import MenuRules
from core.message import Message
from handlers import texts_menu as texts
from handlers.base import Context, Incoming
from handlers.privacy import mask_name
from handlers.unsure import keep_unsure

# Said around a help word without changing what is asked: "请问你能做什么呀？", "小助手 怎么用".
_LEADS = ("请问一下", "请问", "问一下", "社区小助手", "小助手", "助手", "你好", "您好", "在吗", "那个")
_TRAILS = "啊呀呢吧嘛哈哦啦了的"
# Thanks and acknowledgements said to the bot ("谢谢", "好的 收到", "ok" under its confirmation): a
# short "不客气", not the whole menu again in the group.
_ACK = re.compile(r"^(?:(?:谢谢|多谢|感谢|谢了|谢啦|辛苦了|好的|好嘞|好滴|好|收到|知道了|明白了?|了解|ok|okay|嗯+"
                  r"|行|可以)[啊呀呢吧哈哦啦了的你您哒]*)+$")
_NOT_WORDS = str.maketrans("", "", " \t\n,，.。!！?？~～、:：;；…·'\"“”‘’()（）[]【】")
MAX_HELP_CHARS = 16  # longer messages say more than "help"


@functools.lru_cache(maxsize=16)
def _help_words(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(word.lower().translate(_NOT_WORDS) for word in words)


def asks_for_help(rules: MenuRules, text: str) -> bool:
    """The whole message asks what the bot can do ("帮助", "你能做什么？", "小助手 怎么用啊")."""
    if not text or len(text) > MAX_HELP_CHARS:
        return False
    compact = text.lower().translate(_NOT_WORDS)
    stripped = True
    while stripped:
        stripped = False
        for lead in _LEADS:
            if compact.startswith(lead) and len(compact) > len(lead):
                compact, stripped = compact[len(lead):], True
    compact = compact.rstrip(_TRAILS) or compact
    return compact in _help_words(tuple(rules.help_words))


def only_thanks(text: str) -> bool:
    """The whole (normalized) message only thanks or acknowledges."""
    compact = text.lower().translate(_NOT_WORDS)
    return bool(compact) and bool(_ACK.match(compact))


def is_addressed(message: Message) -> bool:
    """Said to the bot: an @-mention of it, or a one-to-one chat."""
    return message.group_id is None or message.mentions_bot


def menu_for(ctx: Context) -> str:
    """The menu for who is asking: staff, a volunteer, or a resident."""
    m, community = ctx.message, ctx.community
    lead = texts.greeting(mask_name(m.sender_name) if m.group_id is not None else None)
    if ctx.is_staff:
        return texts.staff_menu(lead, community.requests.web_url)
    services = [s.name for s in community.services]
    person = community.person(m.sender_id)
    if m.sender_role == "volunteer" or (person is not None and person.role == "volunteer"):
        return texts.volunteer_menu(lead, community.bot_name, services)
    return texts.resident_menu(lead, community.bot_name, services)


class HelpHandler:
    """"帮助", "你能做什么", "怎么用" (a whole message): the menu, before any label handler."""

    name = "help"

    def match(self, incoming: Incoming) -> bool | None:
        return asks_for_help(incoming.community.menu, incoming.text) or None

    async def handle(self, ctx: Context, _: bool) -> None:
        ctx.reply(menu_for(ctx))


class MenuHandler:
    """The last handler: an addressed message nothing else answered gets the menu.

    `fallback`: bot/routing.py also asks it when the handler that took an addressed message said
    nothing (a "+1" with no request to join), so an addressed message never meets silence.
    """

    name = "menu"
    fallback = True

    def match(self, incoming: Incoming) -> bool | None:
        return is_addressed(incoming.message) or None

    async def handle(self, ctx: Context, _: bool) -> None:
        if ctx.understanding.may_be_request:
            await keep_unsure(ctx)  # answered with the menu, and shown to staff too (待确认)
        state = ctx.conversation
        if state is not None and state.expires_at > ctx.now:
            m = ctx.message
            ctx.reply(texts.pending_question(texts.greeting(mask_name(m.sender_name) if m.group_id else None)))
            return
        if only_thanks(ctx.text):
            ctx.reply(texts.thanks_ack(in_group=ctx.message.group_id is not None))
            return
        ctx.reply(menu_for(ctx))
