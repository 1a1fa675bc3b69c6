"""The boundary type for photos and locations: `Attachment`, and `Message.attachments`, validated and frozen."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from core.message import MAX_ATTACHMENTS, Attachment, Message

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


def message(**fields: object) -> Message:
    values: dict[str, object] = dict(channel="sim", community="xingfuli", group_id="g-res-1", sender_id="r-zhang",
                                     sender_name="张秀兰", text="", msg_id="m1", sent_at=NOW)
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("attachment", [
    dict(kind="image", media_id="MEDIA"),
    dict(kind="image", url="https://example.com/x.jpg"),
    dict(kind="image", media_id="m", url="http://p.qpic.cn/x"),
    dict(kind="location", latitude=30.27, longitude=120.15, label="3号楼"),
    dict(kind="location", latitude=-90.0, longitude=180.0),
])
def test_valid_attachments(attachment: dict[str, object]) -> None:
    a = Attachment(**attachment)  # type: ignore[arg-type]
    assert message(attachments=(a,)).attachments == (a,)


@pytest.mark.parametrize(("attachment", "error"), [
    (dict(kind="image"), "media_id or a url"),
    (dict(kind="image", url="ftp://x/y"), "http(s)"),
    (dict(kind="image", url="javascript:alert(1)"), "http(s)"),
    (dict(kind="image", media_id="x" * 3000), "1 to 2048"),
    (dict(kind="location", latitude=30.0), "latitude and longitude"),
    (dict(kind="location", latitude=91.0, longitude=0.0), "out of range"),
    (dict(kind="location", latitude=float("nan"), longitude=0.0), "out of range"),
    (dict(kind="location", latitude=0.0, longitude=0.0, label="x" * 201), "at most 200"),
    (dict(kind="video", media_id="m"), "unknown attachment kind"),
])
def test_invalid_attachments_are_refused(attachment: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        Attachment(**attachment)  # type: ignore[arg-type]


def test_a_message_holds_a_bounded_tuple_of_attachments_and_stays_frozen() -> None:
    photo = Attachment("image", media_id="m")
    with pytest.raises(ValueError, match="tuple of Attachment"):
        message(attachments=[photo])
    with pytest.raises(ValueError, match="tuple of Attachment"):
        message(attachments=("not an attachment",))
    with pytest.raises(ValueError, match=f"at most {MAX_ATTACHMENTS}"):
        message(attachments=(photo,) * (MAX_ATTACHMENTS + 1))
    m = message(attachments=(photo,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.attachments = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        photo.url = "https://x"  # type: ignore[misc]
    assert message().attachments == ()
