#!/usr/bin/env python3
"""Makes cosign signatures in cosign's exact formats (cosign itself is not in Debian)
and puts them into an OCI layout next to the image they sign.

  cosign-sign.py keygen KEY.pem PUB.pem                 an ECDSA P-256 key pair
  cosign-sign.py simple LAYOUT IMAGE_DIGEST KEY.pem [--signs DIGEST] [--tamper] [--sig TEXT]
      a legacy signature: the simple-signing payload as the layer of a manifest
      tagged sha256-<hex>.sig, the signature (base64) in the
      dev.cosignproject.cosign/signature annotation.
      --signs: the payload names this digest instead; --tamper: the payload's digest
      is changed after signing; --sig: this annotation text instead of the signature;
      --pad N: N bytes of padding in an annotation of the manifest (a huge one).
  cosign-sign.py bundle LAYOUT IMAGE_DIGEST KEY.pem
      a sigstore bundle v0.3 (DSSE envelope over an in-toto statement) as an OCI 1.1
      referrer: artifactType application/vnd.dev.sigstore.bundle.v0.3+json, subject
      the image.
Prints the digest of the signature manifest.
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def add_to_index(layout, desc):
    path = os.path.join(layout, "index.json")
    with open(path) as f:
        index = json.load(f)
    index["manifests"].append(desc)
    with open(path, "w") as f:
        json.dump(index, f)


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def sign(key, data):
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def image_size(layout, digest):
    return os.path.getsize(os.path.join(layout, "blobs", "sha256", digest[7:]))


def simple(layout, digest, key, signs=None, tamper=False, sig_text=None, pad=0):
    payload = json.dumps({"critical": {"identity": {"docker-reference": "ferry.test/signed"},
                                       "image": {"docker-manifest-digest": signs or digest},
                                       "type": "cosign container image signature"},
                          "optional": None}, separators=(",", ":")).encode()
    sig = base64.b64encode(sign(key, payload)).decode()
    if tamper:
        other = "sha256:" + hashlib.sha256(b"another image").hexdigest()
        payload = payload.replace((signs or digest).encode(), other.encode())
    if sig_text is not None:
        sig = sig_text
    layer = put_blob(layout, payload)
    config = put_blob(layout, json.dumps({
        "architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}},
        separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **config),
                "layers": [dict(mediaType="application/vnd.dev.cosign.simplesigning.v1+json", **layer,
                                annotations={"dev.cosignproject.cosign/signature": sig})]}
    if pad:
        manifest["annotations"] = {"pad": "x" * pad}
    m = put_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    add_to_index(layout, dict(mediaType=OCI_MANIFEST, **m, annotations={
        "org.opencontainers.image.ref.name": "sha256-%s.sig" % digest[7:]}))
    return m["digest"]


def bundle(layout, digest, key):
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                            "subject": [{"name": "ferry.test/signed", "digest": {"sha256": digest[7:]}}],
                            "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}},
                           separators=(",", ":")).encode()
    ptype = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(statement), statement)
    doc = {"mediaType": BUNDLE_TYPE, "verificationMaterial": {"publicKey": {"hint": ""}},
           "dsseEnvelope": {"payload": base64.b64encode(statement).decode(), "payloadType": ptype,
                            "signatures": [{"sig": base64.b64encode(sign(key, pae)).decode(), "keyid": ""}]}}
    layer = put_blob(layout, json.dumps(doc, separators=(",", ":")).encode())
    config = put_blob(layout, b"{}")
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_TYPE,
                "config": dict(mediaType="application/vnd.oci.empty.v1+json", **config),
                "layers": [dict(mediaType=BUNDLE_TYPE, **layer)],
                "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": image_size(layout, digest)}}
    m = put_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    add_to_index(layout, dict(mediaType=OCI_MANIFEST, **m, artifactType=BUNDLE_TYPE))
    return m["digest"]


def main(argv):
    if argv[1] == "keygen":
        key = ec.generate_private_key(ec.SECP256R1())
        with open(argv[2], "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(argv[3], "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
        return 0
    layout, digest, key = argv[2], argv[3], load_key(argv[4])
    opts = argv[5:]
    if argv[1] == "simple":
        signs = opts[opts.index("--signs") + 1] if "--signs" in opts else None
        sig_text = opts[opts.index("--sig") + 1] if "--sig" in opts else None
        pad = int(opts[opts.index("--pad") + 1]) if "--pad" in opts else 0
        print(simple(layout, digest, key, signs, "--tamper" in opts, sig_text, pad))
    else:
        print(bundle(layout, digest, key))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
