#!/usr/bin/env python3
"""Test tool: what a screenshot shows, without an imaging library.

  pngstat.py FILE.png [ROWS]

Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) and prints
"W H nonwhite=F red_top=N": the fraction of pixels that are not near-white, and
the number of strongly red pixels (R high, G and B low) in the first ROWS rows
(default 300), where the report's verdict is. Exit 2 when it is not such a PNG.
"""
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                line[x] = (line[x] + paeth(a, b, c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) == 3 else 300
    try:
        w, h, bpp, rows = decode(sys.argv[1])
    except (ValueError, OSError, zlib.error, struct.error, TypeError) as e:
        print("pngstat: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 2
    nonwhite = red = 0
    for y, line in enumerate(rows):
        for x in range(0, w * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r < 235 or g < 235 or b < 235:
                nonwhite += 1
            if y < top and r > 150 and g < 90 and b < 90:
                red += 1
    print("%d %d nonwhite=%.4f red_top=%d" % (w, h, nonwhite / float(w * h), red))
    return 0


if __name__ == "__main__":
    sys.exit(main())
