"""Draw Vigil's Teams icons (an open eye) as PNG files, deterministically, with the stdlib only.

    python appPackage/make_icons.py        # rewrites appPackage/color.png and outline.png

Teams wants color.png at 192x192 (full colour) and outline.png at 32x32 (white on transparent).
Written with zlib rather than Pillow so that regenerating needs nothing installed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).parent
BACKGROUND = (0x1F, 0x3A, 0x5F, 0xFF)  # the manifest's accentColor, #1F3A5F
WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
CLEAR = (0, 0, 0, 0)

Pixel = tuple[int, int, int, int]


def in_eye(x: float, y: float) -> bool:
    """The eye in unit coordinates (-1..1): an almond lens with a hollow iris and a pupil."""
    # The lens is the intersection of two circles of radius 1.25 whose centres sit off the axis.
    lens = x * x + (y - 0.75) ** 2 <= 1.5625 and x * x + (y + 0.75) ** 2 <= 1.5625
    radius = (x * x + y * y) ** 0.5
    iris_ring = 0.30 <= radius <= 0.48
    pupil = radius <= 0.16
    outline = not (x * x + (y - 0.75) ** 2 <= 1.02 and x * x + (y + 0.75) ** 2 <= 1.02)
    return lens and (outline or iris_ring or pupil)


def draw(size: int, scale: float, ink: Pixel, paper: Pixel) -> list[list[Pixel]]:
    """Rows of pixels: `ink` where the eye is, `paper` elsewhere; sampled at pixel centres."""
    rows = []
    for row in range(size):
        y = ((row + 0.5) / size * 2 - 1) / scale
        rows.append(
            [
                ink if in_eye(((col + 0.5) / size * 2 - 1) / scale, y) else paper
                for col in range(size)
            ]
        )
    return rows


def png(rows: list[list[Pixel]]) -> bytes:
    """An 8-bit RGBA, non-interlaced PNG (filter 0 on every row)."""
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    (HERE / "color.png").write_bytes(png(draw(192, 0.72, WHITE, BACKGROUND)))
    (HERE / "outline.png").write_bytes(png(draw(32, 0.95, WHITE, CLEAR)))


if __name__ == "__main__":
    main()
