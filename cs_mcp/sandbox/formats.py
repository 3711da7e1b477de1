"""The wire formats the API uses: UUIDs, E.164 phone numbers, ISO 8601 UTC timestamps."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, date, datetime

BASE_PATH = "/api/v1"
E164 = re.compile(r"\+[1-9]\d{7,14}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DAY = 86_400


def is_e164(value: object) -> bool:
    return isinstance(value, str) and E164.fullmatch(value) is not None


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and UUID.fullmatch(value) is not None


def new_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng`, so seeded data gets the same ids on every run."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def iso(ts: int) -> str:
    """Epoch seconds -> `2026-01-15T08:00:00Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def epoch(moment: datetime | date) -> int:
    """A datetime (naive = UTC) or a date (its midnight UTC) -> epoch seconds."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def day_string(day_number: int) -> str:
    """Days since 1970-01-01 -> `YYYY-MM-DD`."""
    return time.strftime("%Y-%m-%d", time.gmtime(day_number * DAY))


def friendly_phone(phone: str) -> str:
    """+18135551234 -> (813) 555-1234 for North American numbers; other numbers unchanged."""
    if len(phone) == 12 and phone.startswith("+1"):
        return f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    return phone


# Silent MPEG-2 Layer III, 8 kbps mono at 16 kHz: 36-byte frames of 576 samples (27.8 frames a second).
_ID3_HEADER = b"ID3\x03\x00\x00\x00\x00\x00\x00"
_SILENT_FRAME = b"\xff\xf3\x18\xc0" + bytes(32)


def silent_mp3(seconds: int) -> bytes:
    """A playable, silent MP3 lasting `seconds` (about 1 KB a second): stands in for a recording."""
    return _ID3_HEADER + _SILENT_FRAME * max(1, round(seconds * 16_000 / 576))
