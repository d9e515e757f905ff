"""Sample media the page's 📎 menu sends: a photo of a damaged road, a PDF, a location in Hà Tĩnh."""

from __future__ import annotations

import functools
import math
import struct
import zlib

# Hà Tĩnh city centre (Phường Thành Sen).
DEMO_LOCATION = (18.3433, 105.9058)


def _png(width: int, height: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    stride = width * 3
    raw = b"".join(b"\x00" + pixels[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


@functools.cache
def demo_photo(width: int = 480, height: int = 320) -> bytes:
    """A drawn PNG: sky, fields and a road with a water-filled pothole (what citizens often report)."""
    px = bytearray(width * height * 3)
    horizon = height * 2 // 5
    cx, cy, rx, ry = width * 0.55, height * 0.74, width * 0.16, height * 0.07
    for y in range(height):
        for x in range(width):
            if y < horizon:  # sky: light blue to white
                t = y / horizon
                r, g, b = int(120 + 110 * t), int(180 + 60 * t), 245
                # a sun
                if (x - width * 0.82) ** 2 + (y - horizon * 0.35) ** 2 < (height * 0.07) ** 2:
                    r, g, b = 255, 226, 120
            else:
                depth = (y - horizon) / (height - horizon)
                half = width * (0.04 + 0.46 * depth)  # the road widens towards the viewer
                mid = width / 2
                if abs(x - mid) < half:
                    shade = int(105 + 40 * depth)
                    r, g, b = shade, shade, shade + 6
                    if abs(x - mid) < 2 + 3 * depth and (int(depth * 40) % 3 == 0):
                        r, g, b = 240, 235, 220  # centre line
                    dx, dy = (x - cx) / rx, (y - cy) / ry
                    angle = math.atan2(dy, dx)
                    d = (dx * dx + dy * dy) / (1 + 0.2 * math.sin(3 * angle) + 0.1 * math.cos(5 * angle)) ** 2
                    if d < 1:
                        r, g, b = (60, 55, 50) if d > 0.72 else (90, 120, 140)  # rim, muddy water
                elif abs(x - mid) < half + 6 + 10 * depth:
                    r, g, b = 170, 150, 110  # verge
                else:
                    stripe = (x // 12 + y // 7) % 2
                    r, g, b = (90, 160, 70) if stripe else (80, 148, 62)  # rice fields
            i = (y * width + x) * 3
            px[i : i + 3] = bytes((r, g, b))
    return _png(width, height, bytes(px))


def demo_pdf(title: str = "Bien ban hien truong - Phuong Thanh Sen") -> bytes:
    """A one-page, valid PDF with a title line."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 56 760 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
