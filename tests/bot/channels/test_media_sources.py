"""The channels' media sources, apart from the network: the AI bot's image decryption and the platforms'
JSON errors in place of a file (bot/channels/media_sources.py)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.media_sources import AibotMedia, Unreadable, json_error
from tests.bot.channels.conftest import AES_KEY
from tests.bot.channels.photo_support import aibot_sealed, jpeg

OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.mark.parametrize("size", [1, 31, 32, 33, 5000])
def test_the_ai_bot_image_decrypts_with_the_bots_key(size: int) -> None:
    data = jpeg()[:size]
    assert AibotMedia(http=None, encoding_aes_key=AES_KEY).decrypt(aibot_sealed(data)) == data  # type: ignore[arg-type]


def test_what_does_not_decrypt_is_unreadable() -> None:
    media = AibotMedia(http=None, encoding_aes_key=AES_KEY)  # type: ignore[arg-type]
    with pytest.raises(Unreadable, match="whole AES blocks"):
        media.decrypt(b"short")
    with pytest.raises(Unreadable, match="whole AES blocks"):
        media.decrypt(b"")
    with pytest.raises(Unreadable, match="bad padding"):
        media.decrypt(aibot_sealed(jpeg(), OTHER_KEY))  # another bot's key
    key = base64.b64decode(AES_KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    with pytest.raises(Unreadable, match="bad padding"):  # a last byte of 0x21 (33): more than a block
        media.decrypt(encryptor.update(bytes(31) + b"\x21") + encryptor.finalize())
    with pytest.raises(ValueError):
        AibotMedia(http=None, encoding_aes_key="too-short")  # type: ignore[arg-type]


@pytest.mark.parametrize(("body", "content_type", "is_error"), [
    (b'{"errcode":40007,"errmsg":"invalid media_id"}', "application/json", True),
    (b'{"errcode":40007,"errmsg":"invalid media_id"}', "text/plain", True),
    (b'{"errcode":40007}', "image/jpeg", False),  # a file, whatever it starts with
    (b'{"other":1}', "application/json", False),
    (b"\xff\xd8\xff\xe0", "image/jpeg", False),
    (b"{not json", "application/json", False),
])
def test_ajson_error_is_told_from_a_file(body: bytes, content_type: str, is_error: bool) -> None:
    assert (json_error(body, content_type) is not None) == is_error
