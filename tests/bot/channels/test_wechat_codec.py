"""The lean callback codec reads exactly what wechatpy seals, and refuses what wechatpy refuses."""

from __future__ import annotations

import base64
import os
import struct

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.wechat_codec import CallbackCodec, Forged, Malformed, envelope_encrypt, message_fields
from tests.bot.channels.conftest import AES_KEY, APP_TOKEN, CORP_ID

TEXT_XML = ("<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
            "<CreateTime>1764036000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content><![CDATA[{content}]]></Content><MsgId>1234567890123456</MsgId><AgentID>1000002</AgentID></xml>")


def sealed(xml: str, *, token: str = APP_TOKEN, corp: str = CORP_ID, nonce: str = "n1",
           timestamp: str = "1764036000") -> tuple[bytes, str]:
    """A callback body and its msg_signature, sealed by wechatpy (the reference)."""
    out = xmltodict.parse(WeChatCrypto(token, AES_KEY, corp).encrypt_message(xml, nonce, timestamp))["xml"]
    body = f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt>" \
           f"<AgentID><![CDATA[1000002]]></AgentID></xml>"
    return body.encode(), out["MsgSignature"]


CODEC = CallbackCodec(APP_TOKEN, AES_KEY, CORP_ID)


@pytest.mark.parametrize("content", ["今天有什么活动", "a", "<b>&amp; ]] >", "😀" * 300, "x" * 2048, "含\n换行\t制表"])
def test_what_wechatpy_seals_is_read_back_field_for_field(content: str) -> None:
    xml = TEXT_XML.format(corp=CORP_ID, content=content)
    body, signature = sealed(xml)
    fields = CODEC.open(body, signature, "1764036000", "n1")
    reference = xmltodict.parse(xml)["xml"]
    assert fields == {k: v or "" for k, v in reference.items()}
    assert fields["Content"] == content


def test_the_envelope_may_come_without_cdata_or_with_whitespace() -> None:
    body, signature = sealed(TEXT_XML.format(corp=CORP_ID, content="hi"))
    encrypt = envelope_encrypt(body)
    spellings = (f"<xml><Encrypt>{encrypt}</Encrypt></xml>", f"<xml>\n  <Encrypt>\n {encrypt}\n </Encrypt>\n</xml>")
    for spelling in spellings:
        assert CODEC.open(spelling.encode(), signature, "1764036000", "n1")["Content"] == "hi"


def _seal_raw(plain: bytes, *, pad_to: int = 32, fake_pad: int | None = None) -> str:
    """Encrypts `plain` with our AES key and a chosen (possibly wrong) padding."""
    key = base64.b64decode(AES_KEY + "=")
    pad = pad_to - len(plain) % pad_to
    data = plain + bytes([fake_pad if fake_pad is not None else pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def _frame(xml: bytes, receive_id: bytes = CORP_ID.encode(), length: int | None = None) -> bytes:
    return os.urandom(16) + struct.pack(">I", len(xml) if length is None else length) + xml + receive_id


@pytest.mark.parametrize(("case", "encrypt", "error"), [
    ("not base64", "!!!", Malformed),
    ("empty", "", Malformed),
    ("not whole blocks", base64.b64encode(b"x" * 20).decode(), Malformed),
    ("padding byte 0", _seal_raw(_frame(b"<xml/>"), fake_pad=0), Malformed),
    ("padding byte over 32", _seal_raw(_frame(b"<xml/>"), fake_pad=200), Malformed),
    ("length beyond the data", _seal_raw(_frame(b"<xml/>", length=10_000)), Malformed),
    ("another corp", _seal_raw(_frame(b"<xml><A>1</A></xml>", b"ww-other")), Forged),
    ("no receive id", _seal_raw(_frame(b"<xml><A>1</A></xml>", b"")), Forged),
    ("not UTF-8", _seal_raw(_frame(b"<xml>\xff\xfe</xml>")), Malformed),
    ("not XML", _seal_raw(_frame(b"hello")), Malformed),
    ("a DTD inside", _seal_raw(_frame(b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><A>&e;</A></xml>')), Malformed),
])
def test_bad_ciphertexts_are_refused_with_the_right_kind_of_error(case: str, encrypt: str,
                                                                 error: type[Exception]) -> None:
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    signature = CODEC.signature("1", "2", encrypt)
    with pytest.raises(error):
        CODEC.open(body, signature, "1", "2")


@pytest.mark.parametrize(("case", "mutate"), [
    ("wrong signature", lambda body, sig: (body, "0" * 40)),
    ("signature of another token", lambda body, sig: (body, sig[::-1])),
    ("one byte of the ciphertext changed",
     lambda body, sig: (body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A", 1), sig)),
])
def test_anything_not_signed_with_our_token_is_forged(case: str, mutate) -> None:  # type: ignore[no-untyped-def]
    body, signature = sealed(TEXT_XML.format(corp=CORP_ID, content="hi"))
    body, signature = mutate(body, signature)
    with pytest.raises(Forged):
        CODEC.open(body, signature, "1764036000", "n1")


def test_a_callback_sealed_with_another_token_fails_the_signature() -> None:
    body, signature = sealed(TEXT_XML.format(corp=CORP_ID, content="hi"), token="not-ours")
    with pytest.raises(Forged):
        CODEC.open(body, signature, "1764036000", "n1")


@pytest.mark.parametrize("body", [b"", b"<xml></xml>", b"<xml><Encrypt></Encrypt></xml>", b"<xml><Encrypt>unclosed",
                                  b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>'])
def test_envelopes_without_a_usable_encrypt_are_malformed(body: bytes) -> None:
    with pytest.raises(Malformed):
        envelope_encrypt(body)


def test_message_fields_are_the_top_level_elements() -> None:
    fields = message_fields("<xml><MsgType>event</MsgType><Event><![CDATA[click]]></Event>"
                            "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo><Empty/></xml>")
    assert fields == {"MsgType": "event", "Event": "click", "ScanCodeInfo": "", "Empty": ""}


@pytest.mark.parametrize("xml", [
    TEXT_XML.format(corp=CORP_ID, content="今天有什么活动"),
    "<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgType>text</MsgType></xml>",  # "]]>" split
    "<xml><Content><![CDATA[第一行\r\n第二行\r第三行]]></Content></xml>",
    "<xml><Content>plain &amp; escaped &lt;b&gt;</Content></xml>",
    "<xml>\n  <MsgType>text</MsgType>\n  <Content> spaced </Content>\n</xml>\n",
    "<xml><Outer><Inner>1</Inner></Outer><Empty/><After>2</After></xml>",
    "<xml><Content><![CDATA[]]></Content><MsgId>1</MsgId><MsgId>2</MsgId></xml>",
])
def test_the_quick_reading_of_a_flat_message_agrees_with_the_xml_parser(xml: str) -> None:
    import xml.etree.ElementTree as ET

    assert message_fields(xml) == {child.tag: child.text or "" for child in ET.fromstring(xml)}


def test_a_bad_encoding_aes_key_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError):
        CallbackCodec(APP_TOKEN, "short", CORP_ID)
