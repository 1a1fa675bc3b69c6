"""The check every photo passes before it is stored (handlers/image_check.py), table-driven."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from handlers.image_check import THUMBNAIL_PIXELS, CheckedImage, Refused, check_image, sniff


def encoded(fmt: str, size: tuple[int, int] = (400, 300), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 128).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize(("data", "content_type", "size"), [
    (encoded("JPEG"), "image/jpeg", (400, 300)),
    (encoded("PNG", (30, 20), "RGBA"), "image/png", (30, 20)),
    (encoded("GIF", (8, 8), "P"), "image/gif", (8, 8)),
    (encoded("WEBP", (64, 48)), "image/webp", (64, 48)),
])
def test_real_images_pass_with_a_thumbnail(data: bytes, content_type: str, size: tuple[int, int]) -> None:
    checked = check_image(data, 10_000_000)
    assert isinstance(checked, CheckedImage)
    assert (checked.content_type, (checked.width, checked.height)) == (content_type, size)
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) == min(THUMBNAIL_PIXELS, max(size))


@pytest.mark.parametrize(("data", "limit", "reason", "detail"), [
    (encoded("JPEG"), 100, "too_large", "more than the limit of 100"),
    (b"", 1000, "not_image", "not JPEG"),
    (b"<html><body>hello</body></html>", 1000, "not_image", "not JPEG"),
    (b"%PDF-1.7 a document", 1000, "not_image", "not JPEG"),
    (encoded("JPEG")[:600], 100_000, "not_image", "cannot be decoded"),  # cut short
    (encoded("PNG")[:40], 100_000, "not_image", "cannot be decoded"),
    (b"GIF89a" + bytes(40), 100_000, "not_image", "cannot be decoded"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 garbage", 100_000, "not_image", "cannot be decoded"),
    (png_claiming(100_000, 100_000), 100_000, "not_image", "pixels"),
])
def test_what_is_refused_and_why(data: bytes, limit: int, reason: str, detail: str) -> None:
    refused = check_image(data, limit)
    assert isinstance(refused, Refused) and refused.reason == reason and detail in refused.detail


def test_a_phone_photo_taken_sideways_gets_an_upright_thumbnail() -> None:
    picture = Image.new("RGB", (400, 200), (10, 20, 30))
    exif = picture.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° to show it upright
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif)
    checked = check_image(out.getvalue(), 10_000_000)
    assert isinstance(checked, CheckedImage)
    assert Image.open(io.BytesIO(checked.thumbnail)).size == (160, 320)


def test_sniff_reads_only_the_first_bytes() -> None:
    assert sniff(b"\xff\xd8\xff\xe0rest") == ("image/jpeg", "JPEG")
    assert sniff(b"RIFF1234WEBPVP8 ") == ("image/webp", "WEBP")
    assert sniff(b"XXXX1234WEBPVP8 ") is None
    assert sniff(b"BM....") is None  # BMP is not what WeChat sends
