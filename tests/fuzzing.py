"""Structure-aware fuzzing of every HTTP endpoint (issue 17 item 1): hypothesis strategies that build
requests an attacker (or a broken proxy) might send, shared by the CI share of the suite
(tests/bot/test_fuzz_endpoints.py) and the long run (bench/faults/fuzz.py).

The earlier fuzzer sent random bytes and small JSON, and never the shapes that broke the bot: JSON
nested 30,000 deep, numbers of 5,000 digits, 20-digit numbers that overflow the database, XML with
entities, wrong types in every field, and callbacks correctly signed by WeChat's scheme around
plaintext that is not what WeChat sends. Here every request is built from those shapes, for every
route: the simulator's API, the three WeChat callbacks (sealed with wechatpy's own crypto, as an
independent client), the staff pages with a logged-in session, health, metrics and static files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

import xmltodict
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from tests.bot.channels.conftest import (
    AES_KEY,
    AIBOT_CHAT_RES_1,
    AIBOT_TOKEN,
    APP_TOKEN,
    CORP_ID,
    MP_APP_ID,
    MP_TOKEN,
    STAFF_LI_USERID,
    ZHANG_OPENID,
    sha1_signature,
)


@dataclass(frozen=True)
class Case:
    """One request: method, target (path and query, encoded), headers, body. A callback to seal
    carries `seal` instead of target and body: (channel, plaintext, nonce, seconds of skew, byte to
    flip or -1, mask); the driver seals it when sending (wechatpy draws random bytes, which a
    hypothesis strategy must not)."""

    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    kind: str = ""  # what it exercises, for the statistics
    seal: tuple[str, str, str, int, int, int] | None = None


# -- values -------------------------------------------------------------------------------------

SHORT_TEXT = st.text(max_size=40)
# Numbers as JSON / query text: ordinary, beyond 64 bits, beyond Python's 4,300-digit int limit, and
# the tokens Python's json accepts but JSON does not.
NUMBER_TEXTS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(19, 6000).map(lambda n: "9" * n),
    st.integers(1, 40).map(lambda n: "-" + "9" * n),
    st.sampled_from(["0", "-0", "1e999999", "-1e999999", "1.5", "0.0000001e-99999", "NaN", "Infinity", "-Infinity",
                     "00012", "1_000", "０１２", "²", "١٢٣"]),
)
ODD_TEXTS = st.sampled_from(["", " ", "\x00", "\ufeff", "\u2028", "💥" * 50, "a" * 300, "<script>alert(1)</script>",
                             "'; DROP TABLE inbox; --", "%00", "../../etc/passwd", "]]>", "&lol;", "\r\n\r\n"])
TEXTS = st.one_of(SHORT_TEXT, ODD_TEXTS, NUMBER_TEXTS)


def _obj(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs.items()) + "}"


JSON_LEAVES = st.one_of(st.just("null"), st.sampled_from(["true", "false"]), NUMBER_TEXTS,
                        TEXTS.map(lambda t: json.dumps(t, ensure_ascii=False)))
# Deep nesting, built directly (hypothesis' own recursion stays shallow): arrays, objects, mixed.
DEEP_JSON = st.one_of(
    st.integers(30, 40_000).map(lambda d: "[" * d + "]" * d),
    st.integers(30, 10_000).map(lambda d: '{"a":' * d + "1" + "}" * d),
    st.integers(30, 10_000).map(lambda d: '[{"x":' * d + "0" + "}]" * d),
    st.integers(30, 40_000).map(lambda d: "[" * d),  # never closed
)
JSON_VALUES = st.one_of(
    st.recursive(JSON_LEAVES, lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(st.text(max_size=8), children, max_size=4).map(_obj)), max_leaves=10),
    DEEP_JSON,
)


def json_object(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """An object with the expected fields, each absent, plausible, or any JSON at all (wrong types)."""
    return st.fixed_dictionaries({}, optional={k: v | JSON_VALUES for k, v in fields.items()}).map(_obj)


def broken(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The text cut short somewhere, or with a byte's worth of garbage in the middle."""
    return st.tuples(text, st.integers(0, 10_000), st.sampled_from(["", "\\", '"', "\x00", "}", "]"])).map(
        lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1):][1:])


def _json_text(choices: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(choices).map(json.dumps)


# -- the simulator ----------------------------------------------------------------------------------

GROUPS = ["g-res-1", "g-res-2", "g-staff", "g-vol", "nope", ""]
USERS = ["r-zhang", "staff-li", "staff-wang", "v-he", "guest-1"]
SIM_MESSAGE = json_object({
    "group": _json_text(GROUPS), "user": _json_text(USERS) | TEXTS.map(json.dumps),
    "text": _json_text(["今天有什么活动", "理发", "+1", "#1 已解决", "@社区小助手 #1 处理中", "3号楼楼道灯不亮"])
    | TEXTS.map(json.dumps), "msg_id": NUMBER_TEXTS | TEXTS.map(json.dumps), "name": TEXTS.map(json.dumps)})
SIM_GOOD = st.fixed_dictionaries({
    "group": st.sampled_from(GROUPS[:4]), "user": st.sampled_from(USERS),
    "text": st.sampled_from(["今天有什么活动", "大家好", "3号楼楼道灯不亮"])}).map(json.dumps)
SIM_BODIES = st.one_of(SIM_GOOD, SIM_MESSAGE, JSON_VALUES, broken(SIM_MESSAGE)).map(
    lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=300)


def simulator_cases() -> st.SearchStrategy[Case]:
    post = SIM_BODIES.map(lambda b: Case("POST", "/api/sim/messages", {"Content-Type": "application/json"}, b,
                                         "sim post"))
    timeline = st.tuples(st.sampled_from(["groups", "users"]), st.sampled_from(GROUPS + USERS) | TEXTS,
                         st.one_of(st.just(""), (NUMBER_TEXTS | TEXTS).map(lambda v: "?after=" + quote(v)))).map(
        lambda t: Case("GET", f"/api/sim/{t[0]}/{quote(t[1], safe='') or 'x'}/messages{t[2]}", kind="sim poll"))
    other = st.sampled_from(["/", "/api/sim/directory", "/static/app.js", "/static/../../etc/passwd",
                             "/static/%2e%2e/x", "/healthz", "/metrics", "/api/sim/uploads/1",
                             "/api/sim/uploads/99999999999999999999"]).map(lambda p: Case("GET", p, kind="get"))
    # The image button's multipart form: fields of any shape, a part that is no image or far too big.
    image_fields = st.dictionaries(st.sampled_from(["group", "user", "text", "name", "image", "x"]), TEXTS, max_size=5)
    image = st.tuples(image_fields, st.binary(max_size=300), st.sampled_from(["b", "", "x" * 80])).map(
        lambda t: Case("POST", "/api/sim/images", {"Content-Type": f"multipart/form-data; boundary={t[2]}"},
                       b"".join(f"--{t[2]}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n".encode(
                           "utf-8", "surrogatepass") + v.encode("utf-8", "surrogatepass") + b"\r\n"
                                for k, v in t[0].items())
                       + f"--{t[2]}\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n".encode()
                       + t[1] + f"\r\n--{t[2]}--\r\n".encode(), "sim image"))
    return st.one_of(post, post, timeline, other, image)


# -- WeChat callbacks ---------------------------------------------------------------------------

DTDS = [
    '<!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',  # billion laughs
    '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',  # an external entity
    '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',  # a parameter entity
    '<?xml version="1.0" encoding="utf-8"?>',
]
XML_VALUES = st.one_of(TEXTS, st.sampled_from(["&lol3;", "&e;", "<a><b>x</b></a>", "<![CDATA[x]]>", "]]>"]))


def _element(tag: str, value: str, how: int) -> str:
    if how == 0 and "]]>" not in value:
        return f"<{tag}><![CDATA[{value}]]></{tag}>"
    if how == 1:
        return f"<{tag}>{escape(value)}</{tag}>"
    return f"<{tag}>{value}</{tag}>"  # raw: entities, markup, whatever it is


def xml_message(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    elements = st.fixed_dictionaries({}, optional={k: st.tuples(v | XML_VALUES, st.integers(0, 2))
                                                   for k, v in fields.items()})
    return st.tuples(st.sampled_from(["", "", *DTDS]), elements).map(
        lambda t: t[0] + "<xml>" + "".join(_element(k, v, how) for k, (v, how) in t[1].items()) + "</xml>")


def _seconds_now() -> st.SearchStrategy[str]:
    return st.just(str(int(time.time())))


WECOM_XML = xml_message({
    "ToUserName": st.just(CORP_ID), "FromUserName": st.sampled_from([STAFF_LI_USERID, "zhangsan", "u" * 200]),
    "CreateTime": _seconds_now() | NUMBER_TEXTS, "MsgType": st.sampled_from(["text", "event", "image", "voice"]),
    "Content": st.sampled_from(["今天有什么活动", "#1 处理中", "收到"]), "MsgId": NUMBER_TEXTS,
    "AgentID": st.sampled_from(["1000002", "5"]), "Event": st.sampled_from(["enter_agent", "subscribe"])})
MP_XML = xml_message({
    "ToUserName": st.just("gh_test"), "FromUserName": st.sampled_from([ZHANG_OPENID, "o-new", "o" * 200]),
    "CreateTime": _seconds_now() | NUMBER_TEXTS, "MsgType": st.sampled_from(["text", "event", "voice", "image"]),
    "Content": st.sampled_from(["今天有什么活动", "你好"]), "MsgId": NUMBER_TEXTS,
    "Recognition": st.sampled_from(["今天有什么活动"]), "Event": st.sampled_from(["subscribe", "CLICK"])})
DEEP_XML = st.integers(30, 6_000).map(lambda d: "<xml>" + "<a>" * d + "x" + "</a>" * d + "</xml>")
AIBOT_JSON = json_object({
    "msgid": NUMBER_TEXTS.map(json.dumps) | _json_text(["aib-1", "aib-2", "m" * 200]),
    "aibotid": _json_text(["aib-test"]), "chattype": _json_text(["group", "single", "channel"]),
    "chatid": _json_text([AIBOT_CHAT_RES_1, "unknown-chat"]),
    "from": json_object({"userid": _json_text([STAFF_LI_USERID, "wangwu", "u" * 200])}),
    "msgtype": _json_text(["text", "event", "image"]),
    "text": json_object({"content": _json_text(["@社区小助手 今天有什么活动", "@社区小助手 #1 处理中"])}),
    "response_url": _json_text(["https://example.invalid/r", "javascript:alert(1)", "https://x/" + "a" * 3000]),
    "create_time": NUMBER_TEXTS, "event": json_object({"eventtype": _json_text(["enter_chat"])})})


class Sealer:
    """Seals plaintext the way WeChat does, with wechatpy (an implementation independent of ours)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.app = WeComCrypto(APP_TOKEN, AES_KEY, CORP_ID)
        self.aibot = WeComCrypto(AIBOT_TOKEN, AES_KEY, "")
        self.mp = MpCrypto(MP_TOKEN, AES_KEY, MP_APP_ID)

    def _stamp(self, skew: int) -> str:
        return str(int(self.now()) + skew)

    def seal(self, channel: str, plain: str, nonce: str, skew: int = 0) -> tuple[str, bytes]:
        """(target, body) of a callback carrying `plain`, signed at now + `skew` seconds."""
        stamp = self._stamp(skew)
        if channel == "wecom":
            out = xmltodict.parse(self.app.encrypt_message(plain, nonce, stamp))["xml"]
            query = {"msg_signature": out["MsgSignature"], "timestamp": stamp, "nonce": nonce}
            body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>")
            return "/wecom/callback?" + urlencode(query), body.encode()
        if channel == "aibot":
            out = xmltodict.parse(self.aibot.encrypt_message(plain, nonce, stamp))["xml"]
            query = {"msg_signature": out["MsgSignature"], "timestamp": stamp, "nonce": nonce}
            return "/wecom/aibot/callback?" + urlencode(query), json.dumps({"encrypt": out["Encrypt"]}).encode()
        out = xmltodict.parse(self.mp.encrypt_message(plain, nonce, stamp))["xml"]
        query = {"signature": sha1_signature(MP_TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce,
                 "openid": "x", "encrypt_type": "aes", "msg_signature": out["MsgSignature"]}
        body = f"<xml><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>"
        return "/mp/callback?" + urlencode(query), body.encode()

    def signed_garbage(self, channel: str, encrypt: str, nonce: str) -> tuple[str, bytes]:
        """A correctly signed Encrypt value that is not WeChat's ciphertext (corrupt, short, not base64)."""
        stamp = self._stamp(0)
        if channel == "aibot":
            sig = sha1_signature(AIBOT_TOKEN, stamp, nonce, encrypt)
            return "/wecom/aibot/callback?" + urlencode({"msg_signature": sig, "timestamp": stamp, "nonce": nonce}), \
                json.dumps({"encrypt": encrypt}).encode()
        token, path = (APP_TOKEN, "/wecom/callback") if channel == "wecom" else (MP_TOKEN, "/mp/callback")
        query = {"msg_signature": sha1_signature(token, stamp, nonce, encrypt), "timestamp": stamp, "nonce": nonce}
        if channel == "mp":
            query.update(signature=sha1_signature(MP_TOKEN, stamp, nonce), encrypt_type="aes")
        return path + "?" + urlencode(query), f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


PLAINTEXTS = {"wecom": st.one_of(WECOM_XML, DEEP_XML, TEXTS), "mp": st.one_of(MP_XML, DEEP_XML, TEXTS),
              "aibot": st.one_of(AIBOT_JSON, JSON_VALUES.filter(lambda t: len(t) < 40_000), TEXTS)}
CIPHER_GARBAGE = st.one_of(st.binary(max_size=200).map(lambda b: __import__("base64").b64encode(b).decode()),
                           st.text(alphabet="ABCabc0123+/=!", max_size=100))


def callback_cases(sealer: Sealer) -> st.SearchStrategy[Case]:
    channels = st.sampled_from(["wecom", "aibot", "mp"])
    nonces = st.integers(1, 10**9).map(str)

    def plain_for(channel: str) -> st.SearchStrategy[tuple[str, str, str, int]]:
        return st.tuples(st.just(channel), PLAINTEXTS[channel], nonces,
                         st.sampled_from([0, 0, 0, -10, 400, -400, -(10**9)]))

    def to_seal(t: tuple[tuple[str, str, str, int], int, int]) -> Case:
        (channel, plain, nonce, skew), flip_at, mask = t
        kind = f"{channel} sealed" + (" flipped" if flip_at >= 0 else "")
        return Case("POST", "", {"Content-Type": "text/xml"}, None, kind, (channel, plain, nonce, skew, flip_at, mask))

    valid_signature = st.tuples(channels.flatmap(plain_for), st.sampled_from([-1, -1, -1, 1]).flatmap(
        lambda f: st.just(-1) if f < 0 else st.integers(0, 5000)), st.integers(1, 255)).map(to_seal)

    def garbage_case(t: tuple[str, str, str]) -> Case:
        target, body = sealer.signed_garbage(*t)
        return Case("POST", target, {"Content-Type": "text/xml"}, body, f"{t[0]} signed garbage")

    garbage = st.tuples(channels, CIPHER_GARBAGE, nonces).map(garbage_case)
    paths = st.sampled_from(["/wecom/callback", "/wecom/aibot/callback", "/mp/callback"])
    unsigned = st.tuples(paths, st.dictionaries(st.sampled_from(["msg_signature", "signature", "timestamp", "nonce",
                                                                 "echostr", "encrypt_type", "openid"]),
                                                TEXTS | NUMBER_TEXTS, max_size=6),
                         st.one_of(JSON_VALUES, xml_message({"Encrypt": TEXTS}), DEEP_XML, TEXTS).map(
                             lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=300),
                         st.sampled_from(["GET", "POST"])).map(
        lambda t: Case(t[3], t[0] + "?" + urlencode(t[1]), {"Content-Type": "text/xml"},
                       t[2] if t[3] == "POST" else None, "callback unsigned"))
    return st.one_of(valid_signature, valid_signature, garbage, unsigned)


def sealed(sealer: Sealer, case: Case) -> Case:
    """The case with its callback sealed now (and a byte flipped, if asked)."""
    if case.seal is None:
        return case
    channel, plain, nonce, skew, flip_at, mask = case.seal
    target, body = sealer.seal(channel, plain, nonce, skew)
    if flip_at >= 0:
        flipped = bytearray(body)
        flipped[flip_at % len(flipped)] ^= mask
        body = bytes(flipped)
    return Case(case.method, target, case.headers, body, case.kind)


# -- the staff pages (with a logged-in session) -------------------------------------------------------


@dataclass
class StaffSession:
    cookie: str  # "linli_staff=…"
    csrf: str
    request_id: int


def _form(pairs: dict[str, str]) -> bytes:
    return urlencode(pairs).encode("utf-8", "surrogatepass")


def staff_cases(staff: StaffSession) -> st.SearchStrategy[Case]:
    cookies = st.sampled_from([staff.cookie, staff.cookie, staff.cookie, "", "linli_staff=forged",
                               "linli_staff=" + "x" * 5000, "linli_staff=%FF%FE"])
    ids = st.one_of(st.just(str(staff.request_id)), NUMBER_TEXTS, TEXTS).map(lambda v: quote(v, safe="") or "0")
    filters = st.dictionaries(st.sampled_from(["status", "category", "grid", "tier", "age", "offset", "done",
                                               "expired", "next", "end"]), NUMBER_TEXTS | TEXTS, max_size=5)
    pages = st.tuples(st.sampled_from(["/staff", "/staff/deliveries", "/staff/charts", "/staff/charts/categories.png",
                                       "/staff/charts/median.png", "/staff/charts/weekly.png", "/staff/login",
                                       "/staff/static/staff.css", "/staff/requests/{id}", "/staff/unsure",
                                       "/staff/notices", "/staff/notices/{id}", "/staff/sessions",
                                       "/staff/sessions/{id}", "/staff/hours", "/staff/hours.csv", "/staff/hours.xlsx",
                                       "/staff/attachments/{id}", "/staff/attachments/{id}/thumb"]),
                      ids, filters, cookies).map(
        lambda t: Case("GET", t[0].replace("{id}", t[1]) + ("?" + urlencode(t[2]) if t[2] else ""),
                       {"Cookie": t[3]} if t[3] else {}, kind="staff page"))
    dates = st.one_of(st.dates().map(str), NUMBER_TEXTS, TEXTS)
    charts = st.tuples(st.sampled_from(["categories", "median", "weekly"]), dates).map(
        lambda t: Case("GET", f"/staff/charts/{t[0]}.png?" + urlencode({"end": t[1]}), {"Cookie": staff.cookie},
                       kind="staff chart"))
    content_types = st.sampled_from(["application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=b", "application/json", "text/plain",
                                     "application/x-www-form-urlencoded; charset=klingon", ""])
    change = st.tuples(ids, st.fixed_dictionaries({}, optional={
        "csrf": st.sampled_from([staff.csrf, "forged"]) | TEXTS, "version": NUMBER_TEXTS | TEXTS,
        "action": st.sampled_from(["acknowledged", "in_progress", "resolved", "rejected", "tier:street"]) | TEXTS,
        "note": TEXTS}), content_types, cookies).map(
        lambda t: Case("POST", f"/staff/requests/{t[0]}", _headers(t[2], t[3]), _form(t[1]), "staff change"))
    # The other forms of the staff page (待确认, a request's category, owner and split, notices, check-in),
    # with any fields.
    form_paths = st.sampled_from(["/staff/requests/{id}/category", "/staff/requests/{id}/assign",
                                  "/staff/requests/{id}/split", "/staff/unsure/{id}", "/staff/notices",
                                  "/staff/notices/{id}/send", "/staff/notices/{id}/schedule",
                                  "/staff/notices/{id}/cancel", "/staff/sessions/{id}/checkin"])
    forms = st.tuples(form_paths, ids, st.fixed_dictionaries({}, optional={
        "csrf": st.sampled_from([staff.csrf, "forged"]) | TEXTS, "category": TEXTS, "value": TEXTS, "action": TEXTS,
        "label": TEXTS, "text": TEXTS, "targets": TEXTS, "groups": TEXTS, "at": NUMBER_TEXTS | TEXTS, "code": TEXTS,
        "version": NUMBER_TEXTS | TEXTS}), content_types, cookies).map(
        lambda t: Case("POST", t[0].replace("{id}", t[1]), _headers(t[3], t[4]), _form(t[2]), "staff form"))
    login = st.tuples(st.fixed_dictionaries({}, optional={
        "login": st.sampled_from(["staff-li", "李书记", "r-zhang"]) | TEXTS, "password": TEXTS,
        "next": st.sampled_from(["/staff", "//evil.example", "/staff\r\nX: y", "/staff/%FF"]) | TEXTS}),
        content_types, st.sampled_from(["", "203.0.113.9", "not an address", "10.0.0.1, ::1"])).map(
        lambda t: Case("POST", "/staff/login", {**_headers(t[1], ""), **({"X-Forwarded-For": t[2]} if t[2] else {})},
                       _form(t[0]), "staff login"))
    multipart = st.tuples(st.sampled_from(["/staff/login", f"/staff/requests/{staff.request_id}", "/staff/logout"]),
                          st.binary(max_size=200)).map(
        lambda t: Case("POST", t[0], {"Content-Type": "multipart/form-data; boundary=b", "Cookie": staff.cookie},
                       b"--b\r\nContent-Disposition: form-data\r\n\r\n" + t[1] + b"\r\n--b--\r\n", "staff multipart"))
    logout = st.tuples(TEXTS, cookies).map(  # never with the session's own CSRF token: it would end the session
        lambda t: Case("POST", "/staff/logout", _headers("application/x-www-form-urlencoded", t[1]),
                       _form({"csrf": t[0]}), "staff logout"))
    return st.one_of(pages, pages, charts, change, change, forms, forms, login, multipart, logout)


def _headers(content_type: str, cookie: str) -> dict[str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    if cookie:
        headers["Cookie"] = cookie
    return headers


def all_cases(sealer: Sealer, staff: StaffSession) -> st.SearchStrategy[Case]:
    """Every endpoint: the simulator, the callbacks (signed and not), the staff pages; odd headers on some."""
    # (No framing headers: a Transfer-Encoding the client does not honour desynchronises the
    # connection on the client's side, which says nothing about the bot.)
    extra = st.dictionaries(st.sampled_from(["X-Forwarded-For", "X-Forwarded-Proto", "X-Linli-Token", "Accept",
                                             "Content-Encoding"]),
                            st.sampled_from(["https", "gzip", "deflate", "br", "1.2.3.4", "\x7f", ""]), max_size=2)
    cases = st.one_of(simulator_cases(), callback_cases(sealer), callback_cases(sealer), staff_cases(staff))
    return st.tuples(cases, extra, st.integers(0, 9)).map(
        lambda t: t[0] if t[2] else Case(t[0].method, t[0].target, {**t[0].headers, **t[1]}, t[0].body, t[0].kind,
                                         t[0].seal))


def plausible_header(value: str) -> bool:
    """http.client refuses some header values itself (control characters): such cases are skipped."""
    return all(ch >= " " or ch == "\t" for ch in value) and "\x7f" not in value


# -- sending ----------------------------------------------------------------------------------------


class Driver:
    """Sends cases over one keep-alive connection (reconnecting when the server closes it) and
    counts the answers; a 5xx, or no answer within `timeout` (longer than the bot's own 10 s for a
    body), fails the case."""

    def __init__(self, host: str, port: int, sealer: Sealer, timeout: float = 30.0) -> None:
        import http.client
        from collections import Counter

        self.host, self.port, self.timeout, self.sealer = host, port, timeout, sealer
        self._http = http.client
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.statuses: Counter[int] = Counter()
        self.kinds: Counter[str] = Counter()
        self.slowest = 0.0

    def _reconnect(self) -> None:
        self.conn.close()
        self.conn = self._http.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def send(self, case: Case) -> int | None:
        """The status, or None when http.client refuses to send it (a header it cannot encode)."""
        case = sealed(self.sealer, case)
        headers = dict(case.headers)
        if case.body is not None:
            headers.setdefault("Content-Type", "application/octet-stream")
        if not all(plausible_header(v) for v in headers.values()):
            return None
        for attempt in range(2):
            try:
                started = time.perf_counter()
                self.conn.request(case.method, case.target, body=case.body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                self.slowest = max(self.slowest, time.perf_counter() - started)
                if (resp.getheader("Connection") or "").lower() == "close":
                    self._reconnect()
                break
            except (UnicodeEncodeError, ValueError, self._http.InvalidURL):  # http.client's own refusal
                self._reconnect()
                return None
            except (self._http.HTTPException, ConnectionResetError, BrokenPipeError):
                self._reconnect()  # the server may close a connection after refusing a request
                if attempt:  # twice, the second time on a fresh connection: the bot's fault
                    raise
        self.statuses[resp.status] += 1
        self.kinds[case.kind] += 1
        assert resp.status < 500, (resp.status, case.kind, case.method, case.target[:200], (case.body or b"")[:200])
        return resp.status

    def close(self) -> None:
        self.conn.close()
