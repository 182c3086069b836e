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

import subprocess
from pathlib import Path

import pytest

from spyglass.core.errors import SpyglassError
from spyglass.core.policy import load_policy
from tests.helpers import require_tool

pytestmark = pytest.mark.interop

A = '{"type":"insecureAcceptAnything"}'
K = "/nonexistent/key.gpg"
SB = '{"default":[{"type":"signedBy","keyType":"GPGKeys",%s}]}'
SS = '{"default":[{"type":"sigstoreSigned",%s}]}'
ID = '{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"%s","signedIdentity":%%s}]}' % K
DIGEST = "sha256:" + "a" * 64

CASES: dict[str, bytes] = {name: text.encode() if isinstance(text, str) else text
                           for name, text in {
    # read by both
    "accept": '{"default":[%s]}' % A,
    "whitespace": '\t{"default":[%s]}\n\n ' % A,
    "unknown-transport": '{"default":[%s],"transports":{"foo":{"x y":[%s]}}}' % (A, A),
    "signedBy-keyPath": SB % f'"keyPath":"{K}"',
    "signedBy-keyPaths": SB % f'"keyPaths":["{K}"]',
    "signedBy-keyPaths-empty": SB % '"keyPaths":[]',
    "signedBy-keyData": SB % '"keyData":"eA=="',
    "signedBy-keyData-empty": SB % '"keyData":""',
    "signedBy-x509": '{"default":[{"type":"signedBy","keyType":"signedByX509CAs",'
                     f'"keyPath":"{K}"}}]}}',
    "matchRepository": ID % '{"type":"matchRepository"}',
    "matchRepoDigestOrExact": ID % '{"type":"matchRepoDigestOrExact"}',
    "exactReference": ID % '{"type":"exactReference","dockerReference":"busybox:1"}',
    "exactReference-digest": ID % ('{"type":"exactReference","dockerReference":"a.io/b@%s"}'
                                   % DIGEST),
    "exactRepository": ID % '{"type":"exactRepository","dockerRepository":"a.io/b"}',
    "exactRepository-tag": ID % '{"type":"exactRepository","dockerRepository":"a.io/b:1"}',
    "remapIdentity": ID % '{"type":"remapIdentity","prefix":"a.io:5000","signedPrefix":"b.io/x"}',
    "remapIdentity-upper-host": ID % ('{"type":"remapIdentity","prefix":"A.io/x",'
                                      '"signedPrefix":"b"}'),
    "sigstoreSigned-keyPath": SS % f'"keyPath":"{K}"',
    "sigstoreSigned-keyPath-empty": SS % '"keyPath":""',
    "sigstoreSigned-keyData": SS % '"keyData":"eA=="',
    "sigstoreSigned-identity": SS % f'"keyPath":"{K}","signedIdentity":{{"type":"matchExact"}}',
    "signedBaseLayer": '{"default":[{"type":"signedBaseLayer",'
                       '"baseLayerIdentity":{"type":"matchRepository"}}]}',
    # refused by both
    "dup-default": '{"default":[%s],"default":[%s]}' % (A, A),
    "dup-transports": '{"default":[%s],"transports":{},"transports":{}}' % A,
    "dup-transport": '{"default":[%s],"transports":{"docker":{},"docker":{}}}' % A,
    "dup-scope": '{"default":[%s],"transports":{"docker":{"a.io":[%s],"a.io":[%s]}}}' % (A, A, A),
    "dup-scope-escaped": ('{"default":[%s],"transports":{"docker":{"a.io":[%s],"a\\u002eio":[%s]}}}'
                          % (A, A, A)),
    "dup-scope-unknown-transport": ('{"default":[%s],"transports":{"foo":{"x":[%s],"x":[%s]}}}'
                                    % (A, A, A)),
    "dup-type": '{"default":[{"type":"reject","type":"insecureAcceptAnything"}]}',
    "dup-keyPath": SB % f'"keyPath":"{K}","keyPath":"{K}"',
    "dup-identity-type": ID % '{"type":"matchExact","type":"matchExact"}',
    "extra-key-accept": '{"default":[{"type":"insecureAcceptAnything","keyPath":"/x"}]}',
    "extra-key-reject": '{"default":[{"type":"reject","x":1}]}',
    "Type": '{"default":[{"Type":"insecureAcceptAnything"}]}',
    "transports-null": '{"default":[%s],"transports":null}' % A,
    "transport-null": '{"default":[%s],"transports":{"foo":null}}' % A,
    "bom": b"\xef\xbb\xbf" + ('{"default":[%s]}' % A).encode(),
    "utf16": ('{"default":[%s]}' % A).encode("utf-16"),
    "utf16-be": b"\xfe\xff" + ('{"default":[%s]}' % A).encode("utf-16-be"),
    "NaN": '{"default":[{"type":"insecureAcceptAnything","x":NaN}]}',
    "Infinity": '{"default":[%s],"transports":{"foo":{"":Infinity}}}' % A,
    "-Infinity": '{"default":[%s],"transports":{"foo":{"":-Infinity}}}' % A,
    "control-character": '{"default":[%s],"transports":{"foo":{"a\tb":[%s]}}}' % (A, A),
    "signedBy-no-keyType": f'{{"default":[{{"type":"signedBy","keyPath":"{K}"}}]}}',
    "signedBy-bad-keyType": f'{{"default":[{{"type":"signedBy","keyType":"gpg","keyPath":"{K}"}}]}}',
    "signedBy-no-key": SB % '"signedIdentity":{"type":"matchExact"}',
    "signedBy-two-keys": SB % f'"keyPath":"{K}","keyData":"eA=="',
    "signedBy-keyPaths-and-keyPath": SB % f'"keyPaths":["{K}"],"keyPath":"{K}"',
    "signedBy-keyPath-empty": SB % '"keyPath":""',
    "signedBy-keyPath-null": SB % '"keyPath":null',
    "signedBy-keyPath-number": SB % '"keyPath":1',
    "signedBy-keyPaths-null": SB % '"keyPaths":null',
    "signedBy-keyPaths-string": SB % '"keyPaths":"x"',
    "signedBy-keyData-not-base64": SB % '"keyData":"!!"',
    "signedBy-extra": SB % f'"keyPath":"{K}","x":1',
    "identity-null": ID % "null",
    "identity-string": ID % '"matchExact"',
    "identity-unknown": ID % '{"type":"matchAll"}',
    "identity-extra": ID % '{"type":"matchExact","x":1}',
    "exactReference-missing": ID % '{"type":"exactReference"}',
    "exactReference-no-tag": ID % '{"type":"exactReference","dockerReference":"a.io/b"}',
    "exactReference-invalid": ID % '{"type":"exactReference","dockerReference":"A/B:1"}',
    "exactReference-extra": ID % '{"type":"exactReference","dockerReference":"a.io/b:1","x":1}',
    "exactRepository-missing": ID % '{"type":"exactRepository"}',
    "exactRepository-invalid": ID % '{"type":"exactRepository","dockerRepository":"A"}',
    "remapIdentity-trailing-slash": ID % ('{"type":"remapIdentity","prefix":"a.io/",'
                                          '"signedPrefix":"b.io"}'),
    "remapIdentity-tag": ID % '{"type":"remapIdentity","prefix":"a.io/x:1","signedPrefix":"b"}',
    "remapIdentity-empty": ID % '{"type":"remapIdentity","prefix":"","signedPrefix":"b"}',
    "remapIdentity-wildcard": ID % '{"type":"remapIdentity","prefix":"*.a.io","signedPrefix":"b"}',
    "remapIdentity-missing": ID % '{"type":"remapIdentity","prefix":"a.io"}',
    "sigstoreSigned-no-key": '{"default":[{"type":"sigstoreSigned"}]}',
    "sigstoreSigned-two-keys": SS % f'"keyPath":"{K}","keyData":"eA=="',
    "sigstoreSigned-keyType": SS % f'"keyType":"GPGKeys","keyPath":"{K}"',
    "sigstoreSigned-fulcio": SS % '"fulcio":{"caPath":"/x"}',  # (skopeo 1.9 has no fulcio)
    "sigstoreSigned-extra": SS % f'"keyPath":"{K}","x":1',
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
