"""The containers signature policy for the source of a copy (spyglass.core.policy): which
file, which scope's requirements, and what they decide. Every file is the test's own:
the user's home is a temporary folder given as the environment, the system file a path
in it (the real /etc is never read)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from spyglass.core.errors import PolicyRefused, SpyglassError
from spyglass.core.policy import (
    Scope,
    Verdict,
    check_copy_source,
    docker_namespaces,
    load_policy,
    policy_path,
)
from spyglass.core.reference import parse_image_name

ACCEPT = [{"type": "insecureAcceptAnything"}]
REJECT = [{"type": "reject"}]
SIGNED = [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}]
SIGSTORE = [{"type": "sigstoreSigned", "keyPath": "/k.pub"}]

RHEL_LIKE = {
    "default": ACCEPT,
    "transports": {
        "docker": {
            "registry.access.redhat.com": SIGNED,
            "registry.redhat.io": SIGNED,
        },
        "docker-daemon": {"": ACCEPT},
    },
}
"""As RHEL ships /etc/containers/policy.json: anything, but Red Hat's registries signed."""


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def decide(policy: dict[str, object], name: str, tmp_path: Path) -> tuple[Verdict, Scope]:
    decision = load_policy(write(tmp_path / "policy.json", policy)).decide(
        parse_image_name(name))
    return decision.verdict, decision.scope


# ---------------------------------------------------------------------------- docker scopes


def test_docker_namespaces_go_from_the_repository_to_wildcards_of_the_host() -> None:
    assert docker_namespaces("registry.access.redhat.com/ubi9/ubi") == (
        "registry.access.redhat.com/ubi9/ubi", "registry.access.redhat.com/ubi9",
        "registry.access.redhat.com", "*.access.redhat.com", "*.redhat.com", "*.com")
    # the port stays on the host, and is dropped for the wildcards (as containers/image)
    assert docker_namespaces("registry.example.com:5000/team/app") == (
        "registry.example.com:5000/team/app", "registry.example.com:5000/team",
        "registry.example.com:5000", "*.example.com", "*.com")
    assert docker_namespaces("localhost:5000/app") == ("localhost:5000/app", "localhost:5000")


@pytest.mark.parametrize("scopes, expected", [
    # the most specific scope the policy has wins, whatever the order in the file
    (["", "quay.io", "quay.io/team", "quay.io/team/app", "quay.io/team/app:1.0"],
     "quay.io/team/app:1.0"),
    (["", "*.io", "quay.io", "quay.io/team/app"], "quay.io/team/app"),
    (["", "*.io", "quay.io", "quay.io/team"], "quay.io/team"),
    (["", "*.io", "quay.io"], "quay.io"),
    (["", "*.io", "quay.io/other"], "*.io"),
    (["", "quay.io/team/app:2.0", "quay.io/team/ap", "quay.io/tea"], ""),
])
def test_a_docker_source_takes_its_most_specific_scope(
        tmp_path: Path, scopes: list[str], expected: str) -> None:
    chosen = "quay.io/team/app:1.0"
    policy = {"default": ACCEPT,
              "transports": {"docker": {s: (REJECT if s == expected else ACCEPT)
                                        for s in scopes}}}
    verdict, scope = decide(policy, f"docker://{chosen}", tmp_path)
    assert (verdict, scope) == (Verdict.REJECT, Scope("docker", expected))


def test_a_digest_names_its_own_scope_and_docker_hub_names_are_expanded(
        tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    policy = {"default": ACCEPT, "transports": {"docker": {
        f"quay.io/team/app@{digest}": REJECT, "docker.io/library": REJECT}}}
    assert decide(policy, f"docker://quay.io/team/app@{digest}", tmp_path)[0] is Verdict.REJECT
    assert decide(policy, "docker://quay.io/team/app:1.0", tmp_path)[0] is Verdict.ACCEPT
    # alpine is docker.io/library/alpine:latest: its namespace is docker.io/library
    verdict, scope = decide(policy, "docker://alpine", tmp_path)
    assert (verdict, scope) == (Verdict.REJECT, Scope("docker", "docker.io/library"))


def test_without_a_scope_of_its_transport_the_default_decides(tmp_path: Path) -> None:
    policy = {"default": REJECT, "transports": {"docker": {"quay.io": ACCEPT},
                                                "oci": {"": ACCEPT}}}
    assert decide(policy, "docker://ghcr.io/a/b:1", tmp_path) == (Verdict.REJECT, Scope())
    assert decide(policy, "docker://quay.io/a/b:1", tmp_path) == (
        Verdict.ACCEPT, Scope("docker", "quay.io"))
    assert decide(policy, f"dir:{tmp_path}", tmp_path) == (Verdict.REJECT, Scope())


def test_a_rhel_like_policy_accepts_other_images_and_wants_red_hats_signed(
        tmp_path: Path) -> None:
    assert decide(RHEL_LIKE, "docker://quay.io/team/app:1.0", tmp_path)[0] is Verdict.ACCEPT
    assert decide(RHEL_LIKE, f"oci:{tmp_path}:x", tmp_path)[0] is Verdict.ACCEPT
    verdict, scope = decide(RHEL_LIKE, "docker://registry.access.redhat.com/ubi9/ubi",
                            tmp_path)
    assert (verdict, scope) == (Verdict.NEEDS_SIGNATURES,
                                Scope("docker", "registry.access.redhat.com"))


def test_every_requirement_of_the_scope_counts(tmp_path: Path) -> None:
    for requirements, verdict in (
        (ACCEPT + ACCEPT, Verdict.ACCEPT),
        (ACCEPT + SIGSTORE, Verdict.NEEDS_SIGNATURES),
        ([{"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}}],
         Verdict.NEEDS_SIGNATURES),
        (SIGNED + REJECT, Verdict.REJECT),
    ):
        assert decide({"default": requirements}, "docker://quay.io/a:1", tmp_path)[0] \
            is verdict, requirements


# ---------------------------------------------------------------------------- path scopes


def test_layouts_and_dir_folders_match_their_resolved_path_and_its_parents(
        tmp_path: Path) -> None:
    real = tmp_path / "real" / "images"
    (real / "app").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    policy = {"default": ACCEPT, "transports": {
        "oci": {str(real): REJECT},
        "dir": {str(real / "app"): REJECT},
        "oci-archive": {str(tmp_path / "real"): REJECT},
    }}
    # through the symbolic link, by a relative path, with a ref: the folder's scope
    assert decide(policy, f"oci:{tmp_path / 'link'}:v1", tmp_path) == (
        Verdict.REJECT, Scope("oci", str(real)))
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert decide(policy, "oci:link", tmp_path)[0] is Verdict.REJECT
    finally:
        os.chdir(here)
    assert decide(policy, f"oci:{real / 'app'}", tmp_path) == (
        Verdict.REJECT, Scope("oci", str(real)))  # a parent's scope
    assert decide(policy, f"oci:{tmp_path / 'real'}", tmp_path) == (Verdict.ACCEPT, Scope())
    assert decide(policy, f"dir:{tmp_path / 'link' / 'app'}", tmp_path) == (
        Verdict.REJECT, Scope("dir", str(real / "app")))
    assert decide(policy, f"oci-archive:{real / 'app.tar'}", tmp_path) == (
        Verdict.REJECT, Scope("oci-archive", str(tmp_path / "real")))


def test_docker_archives_have_only_the_transport_scope(tmp_path: Path) -> None:
    policy = {"default": ACCEPT, "transports": {"docker-archive": {"": REJECT}}}
    assert decide(policy, f"docker-archive:{tmp_path / 'a.tar'}:app:1", tmp_path) == (
        Verdict.REJECT, Scope("docker-archive", ""))


# ---------------------------------------------------------------------------- refusals


def test_a_reject_names_the_file_and_the_scope(tmp_path: Path) -> None:
    path = write(tmp_path / "policy.json",
                 {"default": ACCEPT, "transports": {"docker": {"quay.io/team": REJECT}}})
    with pytest.raises(PolicyRefused) as refused:
        check_copy_source(parse_image_name("docker://quay.io/team/app:1"), path)
    said = (f'The policy "{path}" rejects docker://quay.io/team/app:1: its requirements for '
            'the docker scope "quay.io/team" include reject, so it is not copied.')
    assert str(refused.value) == f"{said} To copy it, change the policy."
    assert refused.value.on_command_line == (  # with the command line's way round
        f"{said} To copy it anyway, pass --insecure-policy (no policy is asked then), or "
        "change the policy.")


def test_signatures_are_said_to_be_unchecked_with_each_front_ends_way_round(
        tmp_path: Path) -> None:
    """The advice names the flag of spyglass signatures that checks what the policy asks
    for: --keyring for signedBy (it named --key, which refuses a GPG key), --key for
    sigstoreSigned; the window's sentence asks for the check too (it offered
    --insecure-policy alone)."""
    path = write(tmp_path / "policy.json", RHEL_LIKE)
    with pytest.raises(PolicyRefused) as refused:
        check_copy_source(parse_image_name("docker://registry.redhat.io/ubi9:9.4"), path)
    start = (f'The policy "{path}" accepts docker://registry.redhat.io/ubi9:9.4 only with '
             'signatures (its requirements for the docker scope "registry.redhat.io" ask for '
             "signedBy), and Spyglass does not verify signatures while it copies: ")
    assert refused.value.on_command_line == start + (
        "copy it with skopeo, which verifies them, or check them with spyglass signatures "
        "--keyring (the policy's GPG keys) and copy with --insecure-policy (which checks "
        "nothing).")
    assert str(refused.value) == start + (
        "copy it with skopeo, which verifies them, or check them with spyglass signatures "
        "--keyring (the policy's GPG keys), then copy it with spyglass copy "
        "--insecure-policy (which checks nothing), or change the policy.")
    default = write(tmp_path / "default.json", {"default": SIGSTORE})
    with pytest.raises(PolicyRefused, match=r'\(its "default" requirements ask for '
                       r"sigstoreSigned\)") as refused:
        check_copy_source(parse_image_name(f"oci:{tmp_path}"), default)
    assert "spyglass signatures --key (the policy's public key) and copy" in (
        refused.value.on_command_line or "")
    both = write(tmp_path / "both.json", {"default": [*SIGNED, *SIGSTORE]})
    with pytest.raises(PolicyRefused) as refused:
        check_copy_source(parse_image_name(f"oci:{tmp_path}"), both)
    assert ("spyglass signatures --keyring (the policy's GPG keys) and --key (the policy's "
            "public key) and copy") in (refused.value.on_command_line or "")


def test_signed_base_layer_is_said_to_be_accepted_by_no_tool(tmp_path: Path) -> None:
    """skopeo 1.9: "Source image rejected: signedBaseLayer not implemented yet!"; the
    sentence advised copying with skopeo, which verifies them."""
    path = write(tmp_path / "policy.json", {"default": [
        *SIGNED, {"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}}]})
    with pytest.raises(PolicyRefused) as refused:
        check_copy_source(parse_image_name("docker://quay.io/a:1"), path)
    said = (f'The policy "{path}" accepts docker://quay.io/a:1 only with signatures (its '
            '"default" requirements ask for signedBy and signedBaseLayer), and containers/'
            "image accepts no image under signedBaseLayer (it does not implement it: skopeo "
            "refuses the copy too), so it is not copied.")
    assert str(refused.value) == f"{said} To copy it, change the policy."
    assert refused.value.on_command_line == (
        f"{said} To copy it anyway, pass --insecure-policy (no policy is asked then), or "
        "change the policy.")
    assert "skopeo, which verifies" not in str(refused.value)


@pytest.mark.parametrize("key_type", ["signedByGPGKeys", "X509Certificates", "signedByX509CAs"])
def test_signed_by_a_key_type_not_implemented_is_said_to_be_accepted_by_no_tool(
        tmp_path: Path, key_type: str) -> None:
    """containers/image reads these keyTypes and rejects every signature under them
    ("Unimplemented keyType"): the sentence advised copying with skopeo, which verifies
    them, or spyglass signatures --keyring with the policy's GPG keys, which it has not."""
    path = write(tmp_path / "policy.json", {"default": [
        {"type": "signedBy", "keyType": key_type, "keyPath": "/k.pub"}, *SIGNED]})
    with pytest.raises(PolicyRefused) as refused:
        check_copy_source(parse_image_name("docker://quay.io/a:1"), path)
    said = (f'The policy "{path}" accepts docker://quay.io/a:1 only with signatures (its '
            '"default" requirements ask for signedBy), and containers/image accepts no image '
            f"under signedBy with the keyType {key_type} (it does not implement it: skopeo "
            "refuses the copy too), so it is not copied.")
    change = ("change the policy (signedBy checks only GPG keys, with the keyType GPGKeys; "
              "a cosign public key is checked by sigstoreSigned).")
    assert str(refused.value) == f"{said} To copy it, {change}"
    assert refused.value.on_command_line == (
        f"{said} To copy it anyway, pass --insecure-policy (no policy is asked then), or "
        f"{change}")


def test_each_requirement_no_tool_accepts_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "policy.json", {"default": [
        {"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}},
        {"type": "signedBy", "keyType": "X509Certificates", "keyPath": "/k.pub"}]})
    with pytest.raises(PolicyRefused) as refused:
        check_copy_source(parse_image_name("docker://quay.io/a:1"), path)
    assert ("accepts no image under signedBaseLayer or signedBy with the keyType "
            "X509Certificates (it does not implement them: skopeo refuses the copy too)"
            ) in str(refused.value)


# ---------------------------------------------------------------------------- the file


def test_the_users_policy_comes_before_the_systems_and_none_means_none(
        tmp_path: Path) -> None:
    home, system = tmp_path / "home", tmp_path / "etc" / "policy.json"
    environ = {"HOME": str(home)}
    assert policy_path(environ, system) is None
    check_copy_source(parse_image_name("docker://quay.io/a:1"), environ=environ,
                      system=system)  # nothing to enforce
    write(system, {"default": REJECT})
    assert policy_path(environ, system) == system
    with pytest.raises(PolicyRefused, match=f'"{system}" rejects'):
        check_copy_source(parse_image_name("docker://quay.io/a:1"), environ=environ,
                          system=system)
    user = write(home / ".config" / "containers" / "policy.json", {"default": ACCEPT})
    assert policy_path(environ, system) == user
    check_copy_source(parse_image_name("docker://quay.io/a:1"), environ=environ,
                      system=system)
    # a file given is the one read, whatever the others say
    with pytest.raises(PolicyRefused):
        check_copy_source(parse_image_name("docker://quay.io/a:1"), system,
                          environ=environ, system=system)


@pytest.mark.parametrize("data, said", [
    ({}, 'is not a containers-policy.json (an object with a "default" list'),
    ([], "is not a containers-policy.json"),
    ({"default": []}, "lists no requirements for default; containers/image refuses"),
    ({"default": ACCEPT, "transports": {"docker": {"quay.io": []}}},
     "lists no requirements for docker quay.io;"),
    ({"default": ACCEPT, "transports": {"docker": {"": []}}},
     "lists no requirements for docker (all);"),
    ({"default": ACCEPT, "transport": {}},
     'has the key "transport", which a containers-policy.json does not have'),
    ({"default": [{"type": "acceptEverything"}]},
     'has a requirement of type "acceptEverything" for default; expected one of '
     "insecureAcceptAnything, reject, signedBy, signedBaseLayer, sigstoreSigned."),
    ({"default": ["reject"]}, "has a requirement without a type for default"),
    ({"default": ACCEPT, "transports": []}, 'has "transports" as a list; expected an object'),
    ({"default": ACCEPT, "transports": {"docker": ACCEPT}},
     'has the transport "docker" as a list; expected an object of scopes'),
    ({"default": ACCEPT, "transports": {"docker": {"quay.io": {"type": "reject"}}}},
     "has an object for docker quay.io; expected a list of requirements."),
    ({"default": ACCEPT, "transports": {"docker-archive": {"/a.tar": ACCEPT}}},
     'has the docker-archive scope "/a.tar"; docker-archive takes no scope but ""'),
    ({"default": ACCEPT, "transports": {"oci": {"layouts/app": ACCEPT}}},
     'has the oci scope "layouts/app"; expected an absolute path other than "/"'),
    ({"default": ACCEPT, "transports": {"dir": {"/srv/images/": ACCEPT}}},
     'has the dir scope "/srv/images/"; expected a clean absolute path, such as '
     '"/srv/images".'),
    # containers-storage, sif and tarball check their scopes too (they were let through)
    ({"default": ACCEPT, "transports": {"containers-storage": {"busybox": ACCEPT}}},
     'has the containers-storage scope "busybox"; expected the store in brackets, '
     "[/GRAPHROOT] or [DRIVER@/GRAPHROOT], then an image's name, @digest or @ID, if any "
     "(containers/image refuses it)."),
    ({"default": ACCEPT, "transports": {"containers-storage": {"[overlay@var]": ACCEPT}}},
     'the store\'s graph root "var" is not an absolute path (containers/image'),
    ({"default": ACCEPT, "transports": {"containers-storage": {"[/r]b@x": ACCEPT}}},
     '"x" is neither a digest nor an image ID (64 hex digits) (containers/image'),
    ({"default": ACCEPT, "transports": {"sif": {"images/a.sif": ACCEPT}}},
     'has the sif scope "images/a.sif"; expected an absolute path other than "/"'),
    ({"default": ACCEPT, "transports": {"tarball": {"x": ACCEPT}}},
     'has the tarball scope "x"; tarball takes no scope but "" (containers/image refuses '
     "others)."),
])
def test_a_malformed_policy_is_refused_with_a_sentence(
        tmp_path: Path, data: object, said: str) -> None:
    path = write(tmp_path / "policy.json", data)
    with pytest.raises(SpyglassError) as refused:
        load_policy(path)
    sentence = str(refused.value)
    assert sentence.startswith(f'The policy "{path}" ') and said in sentence, sentence
    assert sentence.endswith(".") and "\n" not in sentence


def test_an_unreadable_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpyglassError, match=r'^Cannot read the policy ".*nope.json": No such'):
        load_policy(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SpyglassError, match=r'^The policy ".*broken.json" is not JSON: '):
        load_policy(broken)
    # a default file that is broken refuses the copy too, as skopeo does
    write(tmp_path / "home" / ".config" / "containers" / "policy.json", {"default": []})
    with pytest.raises(SpyglassError, match="lists no requirements"):
        check_copy_source(parse_image_name("docker://quay.io/a:1"),
                          environ={"HOME": str(tmp_path / "home")},
                          system=tmp_path / "none")


@pytest.mark.parametrize("raw, said", [
    (b'{"default":[{"type":"reject","type":"insecureAcceptAnything"}]}',
     'has the key "type" twice in one object; expected each key once (containers/image '
     "refuses a duplicate key"),
    (b'{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{'
     b'"quay.io":[{"type":"reject"}],"quay.io":[{"type":"insecureAcceptAnything"}]}}}',
     'has the key "quay.io" twice in one object'),
    (b'\xef\xbb\xbf{"default":[{"type":"reject"}]}',
     "starts with a UTF-8 byte-order mark; expected UTF-8 JSON without one"),
    ('{"default":[{"type":"reject"}]}'.encode("utf-16"),
     "starts with a UTF-16 byte-order mark; expected UTF-8 JSON without one"),
    (b'{"default":[{"type":"reject"}],"transports":{"docker":{"quay.io/caf\xe9":[]}}}',
     "is not UTF-8 text (byte 0xe9 at offset 67); expected UTF-8 JSON."),
    (b'{"default":[{"type":"insecureAcceptAnything","x":NaN}]}',
     "is not JSON: it holds NaN, which is no JSON value; expected a number, a string, "),
    (b'{"default":[{"type":"reject"}],"transports":{"foo":{"":-Infinity}}}',
     "is not JSON: it holds -Infinity, which is no JSON value"),
    (b'{"default":[{"type":"reject"}],"transports":null}',
     'has "transports" as null; expected an object of transports'),
    (b'{"default":[{"type":"insecureAcceptAnything","keyPath":"/k"}]}',
     'has the key "keyPath" in its insecureAcceptAnything requirement for default; '
     'expected only "type" (containers/image refuses any other).'),
    (b'{"default":[{"type":"signedBy","keyPath":"/k"}]}',
     "has no keyType in its signedBy requirement for default; expected GPGKeys, "
     "signedByGPGKeys, X509Certificates or signedByX509CAs."),
    (b'{"default":[{"type":"signedBy","keyType":"GPGKeys"}]}',
     "has no key in its signedBy requirement for default; expected exactly one of keyPath, "
     "keyPaths and keyData"),
    (b'{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"","keyData":"eA=="}]}',
     "has keyPath and keyData in its signedBy requirement for default; expected exactly one "
     "of keyPath, keyPaths and keyData (a keyPath not empty, none null)."),
    (b'{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":null}]}',
     "has a null keyData in its signedBy requirement for default; expected exactly one"),
    (b'{"default":[{"type":"sigstoreSigned","keyPath":"/k","keyData":"eA=="}]}',
     "has keyPath and keyData in its sigstoreSigned requirement for default; expected "
     "exactly one of keyPath and keyData."),
    (b'{"default":[{"type":"signedBaseLayer"}]}',
     'has no "baseLayerIdentity" in its signedBaseLayer requirement for default'),
    (b'{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k",'
     b'"signedIdentity":{"type":"exactReference","dockerReference":"quay.io/a"}}]}',
     'has the dockerReference "quay.io/a" in the signedIdentity of its signedBy requirement '
     "for default; expected a reference with a tag or a digest."),
])
def test_what_containers_image_refuses_is_refused_with_a_sentence(
        tmp_path: Path, raw: bytes, said: str) -> None:
    """Each was read (the duplicate type as insecureAcceptAnything: every copy accepted,
    where skopeo refuses the file); tests/interop/test_policy_agreement.py runs skopeo."""
    path = tmp_path / "policy.json"
    path.write_bytes(raw)
    with pytest.raises(SpyglassError) as refused:
        load_policy(path)
    sentence = str(refused.value)
    assert sentence.startswith(f'The policy "{path}" ') and said in sentence, sentence
    assert sentence.endswith(".") and "\n" not in sentence
