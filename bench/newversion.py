#!/usr/bin/env python3
"""bench/newversion.py IN.oci.tar OUT.oci.tar REF: version 2 of an application.

Reads a single-image oci-archive (bench/mkcorpus.sh's appN.oci.tar), replaces every
file of its random-payload layer (the layer whose files lie under /opt/) with as many
fresh random bytes, and writes an oci-archive of the result tagged REF: the other
layers byte for byte the same, a new layer, config (its diff_id) and manifest. Prints
the size of the new layer in bytes: what a delta of version 2 over version 1 must
carry at least.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def new_payload(layer_gz):
    """The layer with every regular file's content replaced by random bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer_gz)), mode="r:") as src, \
            tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            if m.isreg():
                dst.addfile(m, io.BytesIO(os.urandom(m.size)))
            else:
                dst.addfile(m)
    tar = raw.getvalue()
    return tar, gzip.compress(tar, compresslevel=1, mtime=0)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, ref = sys.argv[1:]
    with tarfile.open(src, "r:") as t:
        blobs = {m.name: t.extractfile(m).read() for m in t if m.isreg()}
    index = json.loads(blobs["index.json"])
    man = json.loads(blobs["blobs/sha256/" + index["manifests"][0]["digest"][7:]])
    config = json.loads(blobs["blobs/sha256/" + man["config"]["digest"][7:]])
    out = {}
    new_size = None
    for i, layer in enumerate(man["layers"]):
        data = blobs["blobs/sha256/" + layer["digest"][7:]]
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as lt:
            payload = any(m.isreg() and m.name.lstrip("./").startswith("opt/") for m in lt)
        if payload and new_size is None:
            tar, data = new_payload(data)
            config["rootfs"]["diff_ids"][i] = "sha256:" + sha(tar)
            layer["digest"], layer["size"] = "sha256:" + sha(data), len(data)
            new_size = len(data)
        out["blobs/sha256/" + layer["digest"][7:]] = data
    if new_size is None:
        sys.exit("newversion: no layer with files under /opt/ in " + src)
    cfg = json.dumps(config, separators=(",", ":")).encode()
    man["config"]["digest"], man["config"]["size"] = "sha256:" + sha(cfg), len(cfg)
    out["blobs/sha256/" + sha(cfg)] = cfg
    mj = json.dumps(man, separators=(",", ":")).encode()
    out["blobs/sha256/" + sha(mj)] = mj
    out["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": MT_MANIFEST, "digest": "sha256:" + sha(mj), "size": len(mj),
        "annotations": {"org.opencontainers.image.ref.name": ref}}]}).encode()
    out["oci-layout"] = blobs["oci-layout"]
    with tarfile.open(dst, "w:", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(out):
            info = tarfile.TarInfo(name)
            info.size = len(out[name])
            t.addfile(info, io.BytesIO(out[name]))
    print(new_size)


if __name__ == "__main__":
    main()
