#!/usr/bin/env python3
"""Test tool: takes ferry bundles apart and builds hostile ones (pax tar, any names).

  tarx.py offset BUNDLE NAME          byte offset of NAME's data in BUNDLE
  tarx.py flip FILE OFFSET            flips one bit of the byte at OFFSET
  tarx.py build OUT [ITEM...]         writes a pax tar; each ITEM is one of
      file:NAME=PATH    a regular entry NAME with PATH's bytes
      data:NAME=TEXT    a regular entry NAME holding TEXT
      symlink:NAME=TARGET, hardlink:NAME=TARGET, chardev:NAME, fifo:NAME, dir:NAME
      big:NAME=SIZE     a regular entry of SIZE zero bytes (streamed, for bombs)
  tarx.py zbuild OUT [ITEM...]        the same tar as one zstd frame, written
                                      without compressing it: raw blocks, and RLE
                                      blocks for the zeros of big: entries, so a
                                      bomb of gigabytes takes a moment to make
"""
import io
import sys
import tarfile


def offset(bundle, name):
    with tarfile.open(bundle, "r:") as t:
        for m in t:
            if m.name == name:
                print(m.offset_data)
                return 0
    print("no entry " + name, file=sys.stderr)
    return 1


def flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x01]))
    return 0


ZERO_CHUNK = bytes(1 << 20)


class Zeros(io.RawIOBase):
    """SIZE zero bytes, read as slices of one shared buffer (ZstdRle knows it)"""

    def __init__(self, n):
        self.left = n

    def read(self, n=-1):
        k = min(len(ZERO_CHUNK) if n is None or n < 0 else n, self.left, len(ZERO_CHUNK))
        self.left -= k
        return ZERO_CHUNK if k == len(ZERO_CHUNK) else bytes(k)

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


class ZstdRle(io.RawIOBase):
    """A file object that writes what it is given as one zstd frame (RFC 8878):
    raw blocks for data, RLE blocks for runs of ZERO_CHUNK; no compression."""

    BLOCK = 128 << 10

    def __init__(self, f):
        self.f = f
        self.pending = bytearray()
        self.zeros = 0
        # magic; descriptor 0 (no content size, no checksum); window 2^17
        f.write(b"\x28\xb5\x2f\xfd\x00\x38")

    def writable(self):
        return True

    def tell(self):
        return 0

    def _block(self, kind, size, body, last=False):
        h = (int(last) | kind << 1 | size << 3).to_bytes(3, "little")
        self.f.write(h + body)

    def _flush_data(self):
        p = self.pending
        for i in range(0, len(p), self.BLOCK):
            self._block(0, len(p[i:i + self.BLOCK]), bytes(p[i:i + self.BLOCK]))
        self.pending = bytearray()

    def _flush_zeros(self):
        while self.zeros > 0:
            k = min(self.zeros, self.BLOCK)
            self._block(1, k, b"\x00")
            self.zeros -= k

    def write(self, b):
        if b is ZERO_CHUNK:
            self._flush_data()
            self.zeros += len(b)
        else:
            self._flush_zeros()
            self.pending += b
        return len(b)

    def finish(self):
        self._flush_zeros()
        self._flush_data()
        self._block(0, 0, b"", last=True)


def build(out, items, zstd=False):
    if zstd:
        sink = ZstdRle(open(out, "wb"))
        t = tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT, copybufsize=len(ZERO_CHUNK))
    else:
        sink = None
        t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
    with t:
        for it in items:
            kind, _, rest = it.partition(":")
            name, _, arg = rest.partition("=")
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.mode = 0o644
            data = None
            if kind == "file":
                with open(arg, "rb") as f:
                    data = f.read()
            elif kind == "data":
                data = arg.encode()
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            elif kind == "chardev":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "big":
                ti.size = int(arg)
                t.addfile(ti, Zeros(ti.size))
                continue
            else:
                raise SystemExit("unknown item kind " + kind)
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    if sink is not None:
        sink.finish()
        sink.f.close()
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "offset":
        return offset(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "flip":
        return flip(argv[2], int(argv[3]))
    if len(argv) >= 3 and argv[1] == "build":
        return build(argv[2], argv[3:])
    if len(argv) >= 3 and argv[1] == "zbuild":
        return build(argv[2], argv[3:], zstd=True)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
