#!/usr/bin/env python3
"""Test tool: writes an OCI image layout holding one image whose only layer is an
uncompressed tar of MIB MiB of random data (it does not compress, so uploads of it take
measurable time).

  mkbig.py DIR MIB REF     e.g. mkbig.py big 10 ferry.test/big:1
"""
import hashlib
import io
import json
import os
import sys
import tarfile


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    d, mib, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(d + "/blobs/sha256", exist_ok=True)

    def put(b):
        h = hashlib.sha256(b).hexdigest()
        with open(f"{d}/blobs/sha256/{h}", "wb") as f:
            f.write(b)
        return "sha256:" + h, len(b)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(mib << 20)
        ti = tarfile.TarInfo("big.bin")
        ti.size = len(data)
        ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
    ld, ls = put(buf.getvalue())
    cd, cs = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [ld]}}).encode())
    md, ms = put(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}]}).encode())
    with open(d + "/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
            "annotations": {"org.opencontainers.image.ref.name": ref}}]}, f)
    with open(d + "/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


if __name__ == "__main__":
    main()
