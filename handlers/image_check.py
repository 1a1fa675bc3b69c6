"""Is it a real image, and small enough? The check every photo passes before it is stored, and its thumbnail.

Pure (bytes in, verdict out) and CPU-bound: the fetcher runs it in a thread. Three gates: the size
limit; the magic bytes of a format WeChat sends (JPEG, PNG, GIF, WebP), so a page of HTML or a
renamed file is refused before any decoder sees it; and Pillow, which must verify the file and
decode it (the thumbnail is made from the decoded picture, so a truncated or corrupt file fails
here). Pixel counts are bounded too: a small file that decodes into a huge picture (a
"decompression bomb") is refused like a malformed one.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

THUMBNAIL_PIXELS = 320  # the longer side of a thumbnail on the staff page
MAX_PIXELS = 50_000_000  # 50 megapixels: any phone photo, far below what would exhaust memory

# Magic bytes → (content type, Pillow's format name).
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "PNG"),
    (b"GIF87a", 0, "image/gif", "GIF"),
    (b"GIF89a", 0, "image/gif", "GIF"),
    (b"WEBP", 8, "image/webp", "WEBP"),  # after "RIFF" and the length
)

Reason = Literal["too_large", "not_image"]


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    width: int
    height: int
    thumbnail: bytes  # JPEG


@dataclass(frozen=True)
class Refused:
    reason: Reason
    detail: str  # for the log and the staff's records, not for residents


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, Pillow format) from the first bytes, or None for anything else."""
    for signature, offset, content_type, fmt in _SIGNATURES:
        if data[offset:offset + len(signature)] == signature and (fmt != "WEBP" or data[:4] == b"RIFF"):
            return content_type, fmt
    return None


def check_image(data: bytes, max_bytes: int) -> CheckedImage | Refused:
    from PIL import Image, ImageOps  # here, not at start-up: ~40 ms of import for the first photo only

    if len(data) > max_bytes:
        return Refused("too_large", f"{len(data)} bytes, more than the limit of {max_bytes}")
    sniffed = sniff(data)
    if sniffed is None:
        return Refused("not_image", f"not JPEG, PNG, GIF or WebP (starts with {data[:8].hex()})")
    content_type, fmt = sniffed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    return Refused("not_image", f"{width}x{height} pixels, more than {MAX_PIXELS}")
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as picture:
                picture.draft("RGB", (THUMBNAIL_PIXELS * 2, THUMBNAIL_PIXELS * 2))  # JPEG: decode at a smaller scale
                upright = ImageOps.exif_transpose(picture)
                upright.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
                out = io.BytesIO()
                upright.convert("RGB").save(out, "JPEG", quality=80)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            EOFError) as exc:
        return Refused("not_image", f"{fmt} that cannot be decoded ({type(exc).__name__}: {exc})"[:500])
    return CheckedImage(content_type, width, height, out.getvalue())
