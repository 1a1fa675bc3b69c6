"""Every sentence about photos and locations residents send (handlers/attachments.py, bot/media_fetcher.py).

Names are masked by the callers when the text is read in a group.
"""

from __future__ import annotations

from handlers.texts_requests import category_name

KIND_NAMES = {"image": "照片", "location": "位置"}


def what(kinds: list[str]) -> str:
    """"照片" / "2 张照片" / "位置" / "照片和位置"."""
    photos, places = kinds.count("image"), kinds.count("location")
    parts = []
    if photos:
        parts.append("照片" if photos == 1 else f"{photos} 张照片")
    if places:
        parts.append("位置")
    return "和".join(parts) or "消息"


def attached(masked_name: str, kinds: list[str], number: int, category: str) -> str:
    return f"@{masked_name} 收到{what(kinds)}，已附在 #{number}（{category_name(category)}）上，工作人员处理时能看到。"


def waiting_for_report(masked_name: str, kinds: list[str], minutes: int) -> str:
    return (f"@{masked_name} 收到{what(kinds)}。请再说一下是什么问题、在哪栋楼（例如“3号楼2单元楼道灯不亮”），"
            f"{minutes} 分钟内说的问题会和{what(kinds)}一起登记。")


def size_text(n_bytes: int) -> str:
    """"10MB" / "48KB"."""
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.3g}MB"
    return f"{max(1, n_bytes // 1024)}KB"


def too_large(masked_name: str, limit_bytes: int) -> str:
    return f"@{masked_name} 图片太大了（超过 {size_text(limit_bytes)}），没能保存，请压缩后再发。"


def not_an_image(masked_name: str) -> str:
    return f"@{masked_name} 这张图片打不开（不是有效的图片文件），没能保存，请重新拍一张或换一张再发。"


def fetch_failed(masked_name: str) -> str:
    return f"@{masked_name} 刚才的图片没能收到（网络问题），请再发一次。"


# --- the staff page -------------------------------------------------------------------------------

WEB_PHOTOS_TITLE = "照片和位置"
WEB_PENDING = "照片正在取回…"
WEB_MAP_LINK = "在地图上看"
