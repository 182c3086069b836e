"""A policy file skopeo refuses, Spyglass refuses; one skopeo reads, Spyglass reads.

Each case is a ``containers-policy.json`` given to skopeo (``--policy FILE copy`` from a
layout that is not there: an invalid policy is said before any image is opened) and to
:func:`~spyglass.core.policy.load_policy`. Every case was once let through by Spyglass
(Python's ``json`` keeps the last of two keys, reads a byte-order mark, UTF-16 and
``NaN``; requirements were checked for their type only), or is read by skopeo 1.9 and
must stay read. Non-UTF-8 bytes, which Go reads as U+FFFD, are refused by Spyglass alone
(see ``test_policy.py``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from spyglass.core.errors import PolicyRefused, SpyglassError
from spyglass.core.policy import load_policy
from spyglass.core.reference import parse_image_name
from tests.helpers import require_tool
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.pgp import ThrowawayGpg, atomic_payload

pytestmark = pytest.mark.interop


def fill(template: str, *values: str) -> str:
    """``template`` with each ``%s`` replaced by the next of ``values`` in turn."""
    for value in values:
        template = template.replace("%s", value, 1)
    return template


A = '{"type":"insecureAcceptAnything"}'
K = "/nonexistent/key.gpg"
SB = '{"default":[{"type":"signedBy","keyType":"GPGKeys",%s}]}'
SS = '{"default":[{"type":"sigstoreSigned",%s}]}'
ID = ('{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"' + K
      + '","signedIdentity":%s}]}')
DIGEST = "sha256:" + "a" * 64

CASES: dict[str, bytes] = {name: text.encode() if isinstance(text, str) else text
                           for name, text in {
    # read by both
    "accept": fill('{"default":[%s]}', A),
    "whitespace": fill('\t{"default":[%s]}\n\n ', A),
    "unknown-transport": fill('{"default":[%s],"transports":{"foo":{"x y":[%s]}}}', A, A),
    "signedBy-keyPath": fill(SB, f'"keyPath":"{K}"'),
    "signedBy-keyPaths": fill(SB, f'"keyPaths":["{K}"]'),
    "signedBy-keyPaths-empty": fill(SB, '"keyPaths":[]'),
    "signedBy-keyData": fill(SB, '"keyData":"eA=="'),
    "signedBy-keyData-empty": fill(SB, '"keyData":""'),
    # (Go's base64 skips line breaks: a key from base64's wrapped output, escaped)
    "signedBy-keyData-newline": fill(SB, '"keyData":"eA==\\n"'),
    "signedBy-keyData-wrapped": fill(SB, '"keyData":"e\\r\\nA=\\n="'),
    "signedBy-keyData-only-newline": fill(SB, '"keyData":"\\n"'),
    "signedBy-x509": '{"default":[{"type":"signedBy","keyType":"signedByX509CAs",'
                     f'"keyPath":"{K}"}}]}}',
    # key types containers/image reads and refuses only when a signature meets them
    **{f"signedBy-{kind}-in-a-scope": fill(
        '{"default":[%s],"transports":{"docker":{"a.io/b":[{"type":"signedBy",'
        f'"keyType":"{kind}","keyPath":"{K}"}}]}}}}}}', A)
       for kind in ("signedByGPGKeys", "X509Certificates")},
    "matchRepository": fill(ID, '{"type":"matchRepository"}'),
    "matchRepoDigestOrExact": fill(ID, '{"type":"matchRepoDigestOrExact"}'),
    "exactReference": fill(ID, '{"type":"exactReference","dockerReference":"busybox:1"}'),
    "exactReference-digest": fill(ID, '{"type":"exactReference","dockerReference":"a.io/b@'
                                  + DIGEST + '"}'),
    "exactRepository": fill(ID, '{"type":"exactRepository","dockerRepository":"a.io/b"}'),
    "exactRepository-tag": fill(ID, '{"type":"exactRepository","dockerRepository":"a.io/b:1"}'),
    "remapIdentity": fill(ID, '{"type":"remapIdentity","prefix":"a.io:5000",'
                              '"signedPrefix":"b.io/x"}'),
    "remapIdentity-upper-host": fill(ID, '{"type":"remapIdentity","prefix":"A.io/x",'
                                      '"signedPrefix":"b"}'),
    "sigstoreSigned-keyPath": fill(SS, f'"keyPath":"{K}"'),
    "sigstoreSigned-keyPath-empty": fill(SS, '"keyPath":""'),
    "sigstoreSigned-keyData": fill(SS, '"keyData":"eA=="'),
    "sigstoreSigned-keyData-newline": fill(SS, '"keyData":"eA==\\n"'),
    "sigstoreSigned-keyData-null": fill(SS, '"keyData":null'),
    "sigstoreSigned-identity": fill(SS, f'"keyPath":"{K}",'
                                    '"signedIdentity":{"type":"matchExact"}'),
    "signedBaseLayer": '{"default":[{"type":"signedBaseLayer",'
                       '"baseLayerIdentity":{"type":"matchRepository"}}]}',
    # the scopes of containers-storage, sif and tarball, as those transports check them
    **{f"scope-{name}": fill('{"default":[%s],"transports":{"%s":{"%s":[%s]}}}',
                             A, transport, scope, A)
       for name, transport, scope in (
           ("storage-root", "containers-storage", "[/var/lib/containers/storage]"),
           ("storage-driver", "containers-storage", "[overlay@/var/lib/c+/run/c:o=1]"),
           ("storage-name", "containers-storage", "[/r]docker.io/library/busybox:1"),
           ("storage-digest", "containers-storage", f"[/r]busybox@{DIGEST}"),
           ("storage-id", "containers-storage", "[/r]busybox@" + "b" * 64),
           ("storage-digest-id", "containers-storage", f"[/r]b@{DIGEST}@" + "b" * 64),
           ("storage-bare-id", "containers-storage", "[/r]@" + "b" * 64),
           ("sif-path", "sif", "/images/app.sif"),
       )},
    # refused by both
    **{f"scope-{name}": fill('{"default":[%s],"transports":{"%s":{"%s":[%s]}}}',
                             A, transport, scope, A)
       for name, transport, scope in (
           ("storage-no-store", "containers-storage", "nope"),
           ("storage-empty-store", "containers-storage", "[]busybox"),
           ("storage-unclosed", "containers-storage", "[/r"),
           ("storage-relative", "containers-storage", "[var/lib]"),
           ("storage-driver-relative", "containers-storage", "[overlay@var]"),
           ("storage-no-driver", "containers-storage", "[@/r]"),
           ("storage-no-root", "containers-storage", "[overlay@]"),
           ("storage-bad-ref", "containers-storage", "[/r]busybox@nope"),
           ("storage-short-id", "containers-storage", "[/r]busybox@abc"),
           ("storage-bad-id", "containers-storage", f"[/r]b@{DIGEST}@nope"),
           ("storage-bad-digest", "containers-storage", "[/r]b@nope@" + "b" * 64),
           ("sif-relative", "sif", "rel"),
           ("sif-root", "sif", "/"),
           ("sif-unclean", "sif", "/a/../b.sif"),
           ("tarball-name", "tarball", "x"),
           ("tarball-path", "tarball", "/x.tar"),
       )},
    "dup-default": fill('{"default":[%s],"default":[%s]}', A, A),
    "dup-transports": fill('{"default":[%s],"transports":{},"transports":{}}', A),
    "dup-transport": fill('{"default":[%s],"transports":{"docker":{},"docker":{}}}', A),
    "dup-scope": fill('{"default":[%s],"transports":{"docker":{"a.io":[%s],"a.io":[%s]}}}',
                      A, A, A),
    "dup-scope-escaped": fill('{"default":[%s],"transports":{"docker":{"a.io":[%s],'
                              '"a\\u002eio":[%s]}}}', A, A, A),
    "dup-scope-unknown-transport": fill(
        '{"default":[%s],"transports":{"foo":{"x":[%s],"x":[%s]}}}', A, A, A),
    "dup-type": '{"default":[{"type":"reject","type":"insecureAcceptAnything"}]}',
    "dup-keyPath": fill(SB, f'"keyPath":"{K}","keyPath":"{K}"'),
    "dup-identity-type": fill(ID, '{"type":"matchExact","type":"matchExact"}'),
    "extra-key-accept": '{"default":[{"type":"insecureAcceptAnything","keyPath":"/x"}]}',
    "extra-key-reject": '{"default":[{"type":"reject","x":1}]}',
    "Type": '{"default":[{"Type":"insecureAcceptAnything"}]}',
    "transports-null": fill('{"default":[%s],"transports":null}', A),
    "transport-null": fill('{"default":[%s],"transports":{"foo":null}}', A),
    "bom": b"\xef\xbb\xbf" + (fill('{"default":[%s]}', A)).encode(),
    "utf16": (fill('{"default":[%s]}', A)).encode("utf-16"),
    "utf16-be": b"\xfe\xff" + (fill('{"default":[%s]}', A)).encode("utf-16-be"),
    "NaN": '{"default":[{"type":"insecureAcceptAnything","x":NaN}]}',
    "Infinity": fill('{"default":[%s],"transports":{"foo":{"":Infinity}}}', A),
    "-Infinity": fill('{"default":[%s],"transports":{"foo":{"":-Infinity}}}', A),
    "control-character": fill('{"default":[%s],"transports":{"foo":{"a\tb":[%s]}}}', A, A),
    "signedBy-no-keyType": f'{{"default":[{{"type":"signedBy","keyPath":"{K}"}}]}}',
    "signedBy-bad-keyType": fill(SB, f'"keyPath":"{K}"').replace("GPGKeys", "gpg"),
    "signedBy-no-key": fill(SB, '"signedIdentity":{"type":"matchExact"}'),
    "signedBy-two-keys": fill(SB, f'"keyPath":"{K}","keyData":"eA=="'),
    "signedBy-keyPaths-and-keyPath": fill(SB, f'"keyPaths":["{K}"],"keyPath":"{K}"'),
    "signedBy-keyPath-empty": fill(SB, '"keyPath":""'),
    # a key present is given whatever its value: two present are refused
    "signedBy-keyPath-empty-and-keyData": fill(SB, '"keyPath":"","keyData":"eA=="'),
    "signedBy-keyPath-empty-and-keyPaths": fill(SB, f'"keyPath":"","keyPaths":["{K}"]'),
    "signedBy-keyPath-null-and-keyData": fill(SB, '"keyPath":null,"keyData":"eA=="'),
    "signedBy-keyPaths-null-and-keyPath": fill(SB, f'"keyPaths":null,"keyPath":"{K}"'),
    "signedBy-keyData-null-and-keyPath": fill(SB, f'"keyData":null,"keyPath":"{K}"'),
    "signedBy-keyPaths-empty-and-keyPath": fill(SB, f'"keyPaths":[],"keyPath":"{K}"'),
    "signedBy-keyData-null": fill(SB, '"keyData":null'),
    "signedBy-keyData-tab": fill(SB, '"keyData":"eA==\\t"'),
    "signedBy-keyData-space": fill(SB, '"keyData":"eA== "'),
    "sigstoreSigned-keyPath-null-and-keyData": fill(SS, '"keyPath":null,"keyData":"eA=="'),
    "signedBy-keyPath-null": fill(SB, '"keyPath":null'),
    "signedBy-keyPath-number": fill(SB, '"keyPath":1'),
    "signedBy-keyPaths-null": fill(SB, '"keyPaths":null'),
    "signedBy-keyPaths-string": fill(SB, '"keyPaths":"x"'),
    "signedBy-keyData-not-base64": fill(SB, '"keyData":"!!"'),
    "signedBy-extra": fill(SB, f'"keyPath":"{K}","x":1'),
    "identity-null": fill(ID, "null"),
    "identity-string": fill(ID, '"matchExact"'),
    "identity-unknown": fill(ID, '{"type":"matchAll"}'),
    "identity-extra": fill(ID, '{"type":"matchExact","x":1}'),
    "exactReference-missing": fill(ID, '{"type":"exactReference"}'),
    "exactReference-no-tag": fill(ID, '{"type":"exactReference","dockerReference":"a.io/b"}'),
    "exactReference-invalid": fill(ID, '{"type":"exactReference","dockerReference":"A/B:1"}'),
    "exactReference-extra": fill(ID, '{"type":"exactReference","dockerReference":"a.io/b:1",'
                                     '"x":1}'),
    "exactRepository-missing": fill(ID, '{"type":"exactRepository"}'),
    "exactRepository-invalid": fill(ID, '{"type":"exactRepository","dockerRepository":"A"}'),
    "remapIdentity-trailing-slash": fill(ID, '{"type":"remapIdentity","prefix":"a.io/",'
                                          '"signedPrefix":"b.io"}'),
    "remapIdentity-tag": fill(ID, '{"type":"remapIdentity","prefix":"a.io/x:1",'
                                  '"signedPrefix":"b"}'),
    "remapIdentity-empty": fill(ID, '{"type":"remapIdentity","prefix":"","signedPrefix":"b"}'),
    "remapIdentity-wildcard": fill(ID, '{"type":"remapIdentity","prefix":"*.a.io",'
                                       '"signedPrefix":"b"}'),
    "remapIdentity-missing": fill(ID, '{"type":"remapIdentity","prefix":"a.io"}'),
    "sigstoreSigned-no-key": '{"default":[{"type":"sigstoreSigned"}]}',
    "sigstoreSigned-two-keys": fill(SS, f'"keyPath":"{K}","keyData":"eA=="'),
    "sigstoreSigned-keyType": fill(SS, f'"keyType":"GPGKeys","keyPath":"{K}"'),
    "sigstoreSigned-fulcio": fill(SS, '"fulcio":{"caPath":"/x"}'),  # (skopeo 1.9 has no fulcio)
    "sigstoreSigned-extra": fill(SS, f'"keyPath":"{K}","x":1'),
    "signedBaseLayer-no-identity": '{"default":[{"type":"signedBaseLayer"}]}',
    "signedBaseLayer-extra": '{"default":[{"type":"signedBaseLayer",'
                             '"baseLayerIdentity":{"type":"matchRepository"},"x":1}]}',
    "signedBaseLayer-bad-identity": '{"default":[{"type":"signedBaseLayer",'
                                    '"baseLayerIdentity":{"type":"nope"}}]}',
}.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_spyglass_refuses_the_policies_skopeo_refuses(tmp_path: Path, name: str) -> None:
    skopeo = require_tool("skopeo")
    path = tmp_path / "policy.json"
    path.write_bytes(CASES[name])
    ran = subprocess.run([skopeo, "--policy", str(path), "copy", "-q",
                          f"oci:{tmp_path / 'none'}:x", f"dir:{tmp_path / 'out'}"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode != 0  # (the layout is not there)
    skopeo_refuses = "invalid policy in" in ran.stderr
    try:
        load_policy(path)
    except SpyglassError as exc:
        said = str(exc)
        assert skopeo_refuses, f"skopeo reads it; Spyglass said: {said}"
        assert said.startswith(f'The policy "{path}" ') and said.endswith(".")
        assert "\n" not in said
    else:
        assert not skopeo_refuses, f"Spyglass reads it; skopeo said: {ran.stderr.strip()}"


def test_skopeo_accepts_no_image_under_the_key_types_spyglass_says_no_tool_accepts(
        tmp_path: Path) -> None:
    """A signedBy keyType other than GPGKeys is read, and every signature under it
    rejected ("Unimplemented keyType"), where GPGKeys accepts the same good signature:
    Spyglass's refusal advised copying with skopeo, which verifies them."""
    skopeo = require_tool("skopeo")
    builder = LayoutBuilder(tmp_path / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})])), "v1")
    image = tmp_path / "signed"
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"oci:{tmp_path / 'layout'}:v1",
                    f"dir:{image}"], check=True, capture_output=True, timeout=60)
    digest = "sha256:" + hashlib.sha256((image / "manifest.json").read_bytes()).hexdigest()
    with ThrowawayGpg() as gpg:
        keyring = gpg.export_public(tmp_path / "keyring.gpg")
        (image / "signature-1").write_bytes(gpg.sign(atomic_payload("example.com/a:1", digest)))
    for key_type in ("GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs"):
        path = tmp_path / f"{key_type}.json"
        path.write_text(json.dumps({"default": [{
            "type": "signedBy", "keyType": key_type, "keyPath": str(keyring),
            "signedIdentity": {"type": "exactReference", "dockerReference": "example.com/a:1"},
        }]}))
        ran = subprocess.run([skopeo, "--policy", str(path), "copy", "-q", f"dir:{image}",
                              f"dir:{tmp_path / key_type}"],
                             capture_output=True, text=True, timeout=60, check=False)
        with pytest.raises(PolicyRefused) as refused:
            load_policy(path).check_copy_source(parse_image_name(f"dir:{image}"))
        said = str(refused.value)
        if key_type == "GPGKeys":
            assert ran.returncode == 0, ran.stderr
            assert "copy it with skopeo, which verifies them" in said
        else:
            assert ran.returncode != 0 and f'Unimplemented \\"keyType\\" value \\"{key_type}' \
                in ran.stderr, ran.stderr
            assert f"accepts no image under signedBy with the keyType {key_type}" in said
            assert "skopeo, which verifies" not in said and "--keyring" not in said
