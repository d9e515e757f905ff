"""Tiny valid sample media (PNG images, OGG-ish voice bytes) and image sniffing helpers."""

from __future__ import annotations

import struct
import zlib


def sample_png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """Build a small, valid, solid-colour RGB PNG."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


SAMPLE_VOICE = (
    b"OggS\x00\x02" + b"\x00" * 64
)  # an Ogg page header prefix: enough for a placeholder voice note
SAMPLE_STICKER = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
SAMPLE_VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def is_image(data: bytes) -> bool:
    """Whether ``data`` starts like a PNG, JPEG, GIF, BMP or WebP image."""
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def image_size(data: bytes) -> tuple[int, int]:
    """Best-effort (width, height) of a PNG/GIF/JPEG; (320, 240) when unknown."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:3] == b"GIF" and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + seg_len
    return 320, 240
