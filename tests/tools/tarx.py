#!/usr/bin/env python3
"""Test tool: takes ferry bundles apart and builds hostile ones (pax tar, any names).

  tarx.py offset BUNDLE NAME          byte offset of NAME's data in BUNDLE
  tarx.py flip FILE OFFSET            flips one bit of the byte at OFFSET
  tarx.py build OUT [ITEM...]         writes a pax tar; each ITEM is one of
      file:NAME=PATH    a regular entry NAME with PATH's bytes
      data:NAME=TEXT    a regular entry NAME holding TEXT
      symlink:NAME=TARGET, hardlink:NAME=TARGET, chardev:NAME, fifo:NAME, dir:NAME
      big:NAME=SIZE     a regular entry of SIZE zero bytes (streamed, for bombs)
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


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def build(out, items):
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
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
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "offset":
        return offset(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "flip":
        return flip(argv[2], int(argv[3]))
    if len(argv) >= 3 and argv[1] == "build":
        return build(argv[2], argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
