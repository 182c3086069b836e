"""Docker references and transport image names (spyglass.core.reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidReference, UnknownTransport
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    DockerName,
    DockerReference,
    OCIArchiveName,
    OCIName,
    Transport,
    parse_docker_reference,
    parse_image_name,
)

HEX = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"
SHA256 = f"sha256:{HEX}"
SHA512 = "sha512:" + "ab" * 64


# --------------------------------------------------------------------------- parse_docker_reference


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest"),
    [
        # Docker Hub normalization
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
        ("library/alpine", "docker.io", "library/alpine", "latest", None),
        ("docker.io/alpine", "docker.io", "library/alpine", "latest", None),
        ("docker.io/library/alpine", "docker.io", "library/alpine", "latest", None),
        ("index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", None),
        ("index.docker.io/alpine", "docker.io", "library/alpine", "latest", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("user/app/deep", "docker.io", "user/app/deep", "latest", None),
        # registries: localhost, a dot, a port, IPv4, IPv6
        ("localhost/x", "localhost", "x", "latest", None),
        ("localhost:5000/a/b:1.0", "localhost:5000", "a/b", "1.0", None),
        ("myregistry:5000/x", "myregistry:5000", "x", "latest", None),
        ("quay.io/podman/stable:v5", "quay.io", "podman/stable", "v5", None),
        ("127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", None),
        ("[::1]:5000/x", "[::1]:5000", "x", "latest", None),
        ("[2001:db8::1]/x", "[2001:db8::1]", "x", "latest", None),
        ("my-host.example.com/team/app", "my-host.example.com", "team/app", "latest", None),
        # digests, and tag plus digest together (kept, as distribution/reference does)
        ("foo.com/bar@" + SHA256, "foo.com", "bar", None, SHA256),
        ("alpine@" + SHA256, "docker.io", "library/alpine", None, SHA256),
        ("alpine:3@" + SHA256, "docker.io", "library/alpine", "3", SHA256),
        ("foo.com/bar:v1@" + SHA512, "foo.com", "bar", "v1", SHA512),
        # separators in path components
        ("a.b/c_d/e__f/g-h/i---j", "a.b", "c_d/e__f/g-h/i---j", "latest", None),
        # an upper-case first component is a registry, as splitDockerDomain decides
        ("Foo/bar", "Foo", "bar", "latest", None),
        # tags: word characters, dots and dashes, 128 at most
        ("alpine:_x", "docker.io", "library/alpine", "_x", None),
        ("alpine:UPPER.case-ok_1", "docker.io", "library/alpine", "UPPER.case-ok_1", None),
        ("alpine:" + "t" * 128, "docker.io", "library/alpine", "t" * 128, None),
        # no slash: "localhost:5000" and "example.com" are Docker Hub names (the real rule)
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),
        ("example.com", "docker.io", "library/example.com", "latest", None),
        ("localhost", "docker.io", "library/localhost", "latest", None),
    ],
)
def test_parse_docker_reference_normalizes(
    text: str, domain: str, path: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_docker_reference(text)
    assert ref.domain == domain
    assert ref.path == path
    assert ref.tag == tag
    assert ref.digest == (Digest.parse(digest) if digest else None)
    assert ref.name == f"{domain}/{path}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("localhost:5000/a/b:1.0", "localhost:5000/a/b:1.0"),
        ("[::1]:5000/x", "[::1]:5000/x:latest"),
        ("foo.com/bar@" + SHA256, "foo.com/bar@" + SHA256),
        ("alpine:3@" + SHA256, "docker.io/library/alpine:3@" + SHA256),
    ],
)
def test_docker_reference_str_is_full_and_round_trips(text: str, expected: str) -> None:
    ref = parse_docker_reference(text)
    assert str(ref) == expected
    assert parse_docker_reference(str(ref)) == ref
    assert parse_docker_reference(str(ref), default_tag=False) == ref


@pytest.mark.parametrize(
    ("text", "familiar"),
    [
        ("alpine", "alpine:latest"),
        ("docker.io/library/alpine:3", "alpine:3"),
        ("index.docker.io/user/app", "user/app:latest"),
        ("library/a/b", "library/a/b:latest"),  # library/ is only dropped before one component
        ("quay.io/podman/stable", "quay.io/podman/stable:latest"),
        ("localhost/x@" + SHA256, "localhost/x@" + SHA256),
        ("alpine:3@" + SHA256, "alpine:3@" + SHA256),
    ],
)
def test_familiar(text: str, familiar: str) -> None:
    assert parse_docker_reference(text).familiar() == familiar


def test_default_tag_can_be_skipped() -> None:
    ref = parse_docker_reference("alpine", default_tag=False)
    assert ref.tag is None
    assert ref.digest is None
    assert str(ref) == "docker.io/library/alpine"
    assert ref.familiar() == "alpine"


def test_a_digest_means_no_default_tag() -> None:
    assert parse_docker_reference("alpine@" + SHA256).tag is None


def test_with_tag_and_with_digest() -> None:
    ref = parse_docker_reference("quay.io/a/b:1")
    digest = Digest.parse(SHA256)
    assert str(ref.with_tag("2")) == "quay.io/a/b:2"
    both = ref.with_digest(digest)
    assert both.tag == "1"
    assert both.digest == digest
    assert str(both) == f"quay.io/a/b:1@{SHA256}"
    assert both.with_tag("3").digest == digest
    assert both.without_tag() == DockerReference("quay.io", "a/b", None, digest)
    assert ref.tag == "1"  # frozen: the original is untouched


@pytest.mark.parametrize("tag", ["", "x!", ".x", "-x", "t" * 129, "a/b", "é"])
def test_with_tag_refuses_bad_tags(tag: str) -> None:
    ref = parse_docker_reference("alpine")
    with pytest.raises(InvalidReference) as info:
        ref.with_tag(tag)
    assert f'Invalid tag "{tag}" for "docker.io/library/alpine"' in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the reference is empty"),
        ("Alpine", "repository name must be lowercase"),
        ("library/Alpine:3", "repository name must be lowercase"),
        ("localhost:5000/Foo", "repository name must be lowercase"),
        ("Foo/Bar", "repository name must be lowercase"),
        ("alpine:x!", 'the tag "x!" may contain only letters, digits, "_", "." and "-"'),
        ("alpine:", 'the tag after ":" is empty; name a tag, or leave the ":" out'),
        ("alpine:.x", 'the tag ".x"'),
        ("alpine:-x", 'the tag "-x"'),
        ("alpine:" + "t" * 129, 'the tag "' + "t" * 20 + '…" is 129 characters long; a tag '
         "has at most 128"),
        ("alpine:!" + "t" * 129, "at most 128 characters"),  # not only too long
        ("alpine:ä", 'the tag "ä"'),
        ("a" * 256, "the name is longer than 255 characters"),
        ("quay.io/" + "a" * 248, "the name is longer than 255 characters"),
        ("alpine@sha256:abc", '"sha256:abc" is not a valid digest'),
        ("alpine@sha256:" + HEX.upper(), "is not a valid digest"),
        ("alpine@md5:" + "a" * 32, '"md5:' + "a" * 32 + '" is not a valid digest'),
        ("alpine@" + HEX, "is not a valid digest"),
        ("alpine@", '"" is not a valid digest'),
        (HEX, "ambiguous"),
        ("foo_bar.com/x", 'the registry "foo_bar.com" is not a host name'),
        ("-foo.com/x", 'the registry "-foo.com"'),
        ("::1/x", 'the registry "::1"'),
        ("[::1/x", 'the registry "[::1"'),
        ("host:port/x", 'the registry "host:port"'),
        ("a//b", 'the repository path "a//b" has an empty component'),
        ("a/", 'the repository path "a/" has an empty component'),
        ("localhost/", "the repository path is empty"),
        ("a__-b", 'the path component "a__-b"'),
        ("a___b", 'the path component "a___b"'),
        ("_a", 'the path component "_a"'),
        ("a.", 'the path component "a."'),
        ("a b", 'the path component "a b"'),
        (" alpine", 'the path component " alpine"'),
    ],
)
def test_parse_docker_reference_refuses(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_docker_reference(text)
    message = str(info.value)
    assert message.startswith(f'Invalid image reference "{text}": ')
    assert fragment in message
    assert message.endswith((".", "…"))
    assert "\n" not in message


def test_name_length_limit_is_exactly_255() -> None:
    path = "a" * (255 - len("quay.io/"))
    assert parse_docker_reference(f"quay.io/{path}").path == path
    with pytest.raises(InvalidReference):
        parse_docker_reference(f"quay.io/{path}a")


def test_tags_keep_their_case() -> None:
    assert parse_docker_reference("alpine:Latest").tag == "Latest"


@pytest.mark.parametrize(
    ("domain", "path", "fragment"),
    [
        ("index.docker.io", "library/alpine", 'spelled "docker.io"'),
        ("docker.io", "alpine", 'have a namespace: "library/alpine"'),
        ("foo", "bar", "would be read as a Docker Hub namespace"),
        ("bad_host.com", "x", 'the registry "bad_host.com"'),
        ("quay.io", "Upper", "repository name must be lowercase"),
        ("quay.io", "", "the repository path is empty"),
    ],
)
def test_docker_reference_refuses_non_canonical_parts(
    domain: str, path: str, fragment: str
) -> None:
    with pytest.raises(InvalidReference) as info:
        DockerReference(domain, path, "latest")
    assert f'Invalid image reference "{domain}/{path}:latest"' in str(info.value)
    assert fragment in str(info.value)


def test_docker_reference_direct_construction_equals_parse() -> None:
    digest = Digest.parse(SHA256)
    built = DockerReference("docker.io", "library/alpine", "3", digest)
    assert built == parse_docker_reference(f"alpine:3@{SHA256}")
    assert hash(built) == hash(parse_docker_reference(f"alpine:3@{SHA256}"))


# --------------------------------------------------------------------------- parse_image_name


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        (
            "docker://alpine",
            DockerName(DockerReference("docker.io", "library/alpine", "latest")),
            "docker://docker.io/library/alpine:latest",
        ),
        (
            "docker://localhost:5000/a/b:1.0",
            DockerName(DockerReference("localhost:5000", "a/b", "1.0")),
            "docker://localhost:5000/a/b:1.0",
        ),
        (
            f"docker://foo.com/bar@{SHA256}",
            DockerName(DockerReference("foo.com", "bar", None, Digest.parse(SHA256))),
            f"docker://foo.com/bar@{SHA256}",
        ),
        ("oci:/srv/layout", OCIName(Path("/srv/layout"), None), "oci:/srv/layout"),
        ("oci:/srv/layout:", OCIName(Path("/srv/layout"), None), "oci:/srv/layout"),
        ("oci:/srv/layout:v1.0", OCIName(Path("/srv/layout"), "v1.0"), "oci:/srv/layout:v1.0"),
        ("oci:layout:a/b:c@d+e--f", OCIName(Path("layout"), "a/b:c@d+e--f"), None),
        ("oci:./rel/dir:Tag_1", OCIName(Path("rel/dir"), "Tag_1"), "oci:rel/dir:Tag_1"),
        ("dir:/tmp/img", DirName(Path("/tmp/img")), "dir:/tmp/img"),
        ("dir:/tmp/with:colon", DirName(Path("/tmp/with:colon")), "dir:/tmp/with:colon"),
        ("dir:relative", DirName(Path("relative")), "dir:relative"),
        ("docker-archive:/x.tar", DockerArchiveName(Path("/x.tar")), "docker-archive:/x.tar"),
        (
            "docker-archive:/x.tar:alpine",
            DockerArchiveName(
                Path("/x.tar"), DockerReference("docker.io", "library/alpine", "latest")
            ),
            "docker-archive:/x.tar:docker.io/library/alpine:latest",
        ),
        (
            "docker-archive:/x.tar:quay.io/a/b:2",
            DockerArchiveName(Path("/x.tar"), DockerReference("quay.io", "a/b", "2")),
            "docker-archive:/x.tar:quay.io/a/b:2",
        ),
        (
            "docker-archive:/x.tar:localhost:5000/a:1",
            DockerArchiveName(Path("/x.tar"), DockerReference("localhost:5000", "a", "1")),
            "docker-archive:/x.tar:localhost:5000/a:1",
        ),
        (
            "docker-archive:/x.tar:@0",
            DockerArchiveName(Path("/x.tar"), index=0),
            "docker-archive:/x.tar:@0",
        ),
        (
            "docker-archive:x.tar:@12",
            DockerArchiveName(Path("x.tar"), index=12),
            "docker-archive:x.tar:@12",
        ),
        ("oci-archive:/a.tar", OCIArchiveName(Path("/a.tar"), None), "oci-archive:/a.tar"),
        ("oci-archive:/a.tar:v2", OCIArchiveName(Path("/a.tar"), "v2"), "oci-archive:/a.tar:v2"),
    ],
)
def test_parse_image_name(text: str, expected: object, canonical: str | None) -> None:
    name = parse_image_name(text)
    assert name == expected
    assert type(name) is type(expected)
    assert str(name) == (canonical if canonical is not None else text)
    assert parse_image_name(str(name)) == name


@pytest.mark.parametrize(
    ("text", "transport", "cls"),
    [
        ("docker://alpine", Transport.DOCKER, DockerName),
        ("oci:/l", Transport.OCI, OCIName),
        ("dir:/d", Transport.DIR, DirName),
        ("docker-archive:/a.tar", Transport.DOCKER_ARCHIVE, DockerArchiveName),
        ("oci-archive:/a.tar", Transport.OCI_ARCHIVE, OCIArchiveName),
    ],
)
def test_every_transport_has_its_class(text: str, transport: Transport, cls: type) -> None:
    name = parse_image_name(text)
    assert isinstance(name, cls)
    assert name.transport is transport
    assert str(name).startswith(f"{transport.value}:")


def test_transport_names() -> None:
    assert [t.value for t in Transport] == [
        "docker",
        "oci",
        "dir",
        "docker-archive",
        "oci-archive",
    ]
    assert Transport("docker-archive") is Transport.DOCKER_ARCHIVE
    assert f"{Transport.OCI}" == "oci"


def test_paths_are_kept_as_given_not_resolved() -> None:
    name = parse_image_name("oci:../layouts/x:tag")
    assert isinstance(name, OCIName)
    assert name.path == Path("../layouts/x")
    assert not name.path.is_absolute()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # docker://
        ("docker:alpine", 'a docker reference starts with "//"'),
        ("docker:/alpine", 'a docker reference starts with "//"'),
        ("docker://", "the reference is empty"),
        ("docker://Alpine", "repository name must be lowercase"),
        ("docker://alpine:x!", 'the tag "x!"'),
        ("docker://alpine@sha256:abc", '"sha256:abc" is not a valid digest'),
        (f"docker://alpine:3@{SHA256}", "a tag or a digest but not both"),
        (f"docker://{HEX}", "ambiguous"),
        # oci: and oci-archive:
        ("oci:", "the path is empty"),
        ("oci::tag", "the path is empty"),
        ("oci:/l:a b", 'the ref "a b" may contain only letters and digits'),
        ("oci:/l:-x", 'the ref "-x"'),
        ("oci:/l:x-", 'the ref "x-"'),
        ("oci:/l:a---b", 'the ref "a---b"'),
        ("oci:/l:a//b", 'the ref "a//b"'),
        ("oci:/l:@x", 'the image index "x" is not a whole number'),
        ("oci:/l:@-1", "the image index @-1 must not be negative"),
        ("oci-archive:", "the path is empty"),
        ("oci-archive:/a.tar:ä", 'the ref "ä"'),
        # dir:
        ("dir:", "the path is empty"),
        # docker-archive:
        ("docker-archive:", "the path is empty"),
        ("docker-archive::alpine", "the path is empty"),
        ("docker-archive:/x.tar:", 'nothing follows the ":" after the path'),
        ("docker-archive:/x.tar:@", 'the image index "" is not a whole number'),
        ("docker-archive:/x.tar:@x", 'the image index "x" is not a whole number'),
        ("docker-archive:/x.tar:@1.5", 'the image index "1.5" is not a whole number'),
        ("docker-archive:/x.tar:@-1", "the image index @-1 must not be negative"),
        (f"docker-archive:/x.tar:alpine@{SHA256}", "cannot carry a digest"),
        (f"docker-archive:/x.tar:alpine:3@{SHA256}", "cannot carry a digest"),
        ("docker-archive:/x.tar:Alpine", "repository name must be lowercase"),
        ("docker-archive:/x.tar:alpine:x!", 'the tag "x!"'),
        # no transport
        ("alpine", "expected TRANSPORT:REFERENCE, for example docker://alpine"),
        ("", "expected TRANSPORT:REFERENCE"),
        ("/srv/layout", "a path is written after its transport, for example "
                        "oci:/srv/layout or dir:/srv/layout."),
        ("./layout:1.0", "for example oci:./layout:1.0 or dir:./layout:1.0."),
        ("../layout", "a path is written after its transport"),
    ],
)
def test_parse_image_name_refuses(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_image_name(text)
    message = str(info.value)
    assert message.startswith(f'Invalid image name "{text}": ')
    assert fragment in message
    assert message.endswith((".", "…"))
    assert not isinstance(info.value, UnknownTransport)


def test_a_path_without_its_transport_is_said_to_be_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_image_name("./nonexist")
    assert str(info.value) == (
        'Invalid image name "./nonexist": a path is written after its transport, for '
        "example oci:./nonexist or dir:./nonexist.")
    monkeypatch.setenv("HOME", "/home/alice")  # "~" as the shell would have read it
    with pytest.raises(InvalidReference) as info:
        parse_image_name("~/layout")
    assert str(info.value) == (
        'Invalid image name "~/layout": a path is written after its transport, for '
        "example oci:/home/alice/layout or dir:/home/alice/layout.")


def test_no_colon_message_in_full() -> None:
    with pytest.raises(InvalidReference) as info:
        parse_image_name("alpine")
    assert str(info.value) == (
        'Invalid image name "alpine": expected TRANSPORT:REFERENCE, '
        "for example docker://alpine or oci:/path/to/layout:tag."
    )


@pytest.mark.parametrize(("text", "hint"), [
    ("foo:bar", " (an image on a registry is written docker://foo:bar)"),
    ("alpine:latest", " (an image on a registry is written docker://alpine:latest)"),
    ("Docker://alpine", ""),
    (":x", ""),
    ("ostree:x", ""),  # skopeo's transport, not a registry image
    # skopeo's transports of local engines: what to save the image with, to read it
    ("docker-daemon:alpine:latest", " (Spyglass does not read the Docker daemon's images: "
     "save the image with docker save alpine:latest -o app.tar, then name "
     "docker-archive:app.tar)"),
    ("containers-storage:alpine", " (Spyglass does not read podman's containers-storage: "
     "save the image with podman save alpine -o app.tar, then name docker-archive:app.tar)"),
    ("containers-storage:[overlay@/var/lib/c]busybox:1", " (Spyglass does not read "
     "podman's containers-storage: save the image with podman save busybox:1 -o app.tar, "
     "then name docker-archive:app.tar)"),
    ("docker-daemon:", " (Spyglass does not read the Docker daemon's images: save the "
     "image with docker save IMAGE -o app.tar, then name docker-archive:app.tar)"),
    # a URL: the registry's name as a docker:// one
    ("http://127.0.0.1:5000/team/app:1.0", " (an image on a registry is written "
     "docker://127.0.0.1:5000/team/app:1.0, not as a URL)"),
    ("https://quay.io/team/app@sha256:" + "a" * 64, " (an image on a registry is written "
     "docker://quay.io/team/app@sha256:" + "a" * 64 + ", not as a URL)"),
    ("https://localhost:5000/", " (an image on a registry is written "
     "docker://localhost:5000/REPOSITORY:TAG, not as a URL)"),
    ("https://quay.io/_/x", " (an image on a registry is written "
     "docker://HOST/REPOSITORY:TAG, not as a URL)"),
])
def test_unknown_transport(text: str, hint: str) -> None:
    transport = text.partition(":")[0]
    with pytest.raises(UnknownTransport) as info:
        parse_image_name(text)
    assert str(info.value) == (
        f'Invalid image name "{text}": unknown transport "{transport}"; '
        f"expected one of docker, oci, dir, docker-archive, oci-archive{hint}."
    )
    assert isinstance(info.value, InvalidReference)


# --------------------------------------------------------------------------- direct construction


def test_docker_name_requires_tag_or_digest_but_not_both() -> None:
    digest = Digest.parse(SHA256)
    with pytest.raises(InvalidReference, match="neither a tag nor a digest"):
        DockerName(DockerReference("quay.io", "a"))
    with pytest.raises(InvalidReference, match="not both"):
        DockerName(DockerReference("quay.io", "a", "1", digest))


def test_docker_archive_name_invariants() -> None:
    ref = DockerReference("quay.io", "a", "1")
    with pytest.raises(InvalidReference, match="not both"):
        DockerArchiveName(Path("/x.tar"), ref, 0)
    with pytest.raises(InvalidReference, match="must not be negative"):
        DockerArchiveName(Path("/x.tar"), index=-1)
    with pytest.raises(InvalidReference, match="cannot carry a digest"):
        DockerArchiveName(Path("/x.tar"), ref.with_digest(Digest.parse(SHA256)))
    with pytest.raises(InvalidReference, match="has no tag"):
        DockerArchiveName(Path("/x.tar"), DockerReference("quay.io", "a"))
    with pytest.raises(InvalidReference, match="contains a colon"):
        DockerArchiveName(Path("/a:b.tar"))


@pytest.mark.parametrize("cls", [OCIName, OCIArchiveName])
def test_oci_names_check_their_parts(cls: type[OCIName] | type[OCIArchiveName]) -> None:
    with pytest.raises(InvalidReference, match='the ref "bad ref"'):
        cls(Path("/l"), "bad ref")
    with pytest.raises(InvalidReference, match="contains a colon"):
        cls(Path("/a:b"), None)
    assert str(cls(Path("/l"), "ok")).endswith(":/l:ok")
    with pytest.raises(InvalidReference, match="either a REF or an @INDEX"):
        cls(Path("/l"), "ok", 1)
    with pytest.raises(InvalidReference, match="must not be negative"):
        cls(Path("/l"), None, -1)
    by_index = cls(Path("/l"), None, 2)
    assert str(by_index).endswith(":/l:@2")
    assert parse_image_name(str(by_index)) == by_index


def test_names_are_frozen_and_hashable() -> None:
    name = parse_image_name("oci:/l:v1")
    assert isinstance(name, OCIName)
    with pytest.raises(AttributeError):
        name.ref = "v2"  # type: ignore[misc]
    assert len({name, parse_image_name("oci:/l:v1"), parse_image_name("oci:/l")}) == 2


@pytest.mark.parametrize(("text", "secret"), [
    ("docker://alice:s3cret-pw@registry.example.com/team/app:1.0", "s3cret-pw"),
    ("alice:s3cret-pw@registry.example.com/team/app:1.0", "s3cret-pw"),
    ("docker://alice:s3cret-pw@localhost:5000/app@sha256:" + "0" * 64, "s3cret-pw"),
    ("docker://alice:s3cret-pw@registry.example.com", "s3cret-pw"),
    ("docker://alice:s3cret-pw@registry.example.com:5000", "s3cret-pw"),
    ("docker://alice:s3cr:et@host.io/r", "s3cr:et"),
    ("docker://alice:p@ss-w0rd@registry.example.com/repo", "p@ss-w0rd"),
    ("docker://alice:s3cret\tpw@registry.example.com/repo", "s3cret\tpw"),
])
def test_a_password_typed_into_a_name_is_never_repeated(text: str, secret: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_image_name(text)
    assert secret not in str(caught.value)
    assert "alice:xxxxx@" in str(caught.value)


MASKED = ("credentials do not go in an image name: log in to the registry, or give them "
          "with the command's credentials option.")


@pytest.mark.parametrize(("text", "shown"), [
    ("docker://https://alice:pw1@127.0.0.1:58547/team/app",
     "docker://https://alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker://http://alice:pw1@127.0.0.1:58547/team/app",
     "docker://http://alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker:alice:pw1@127.0.0.1:58547/team/app", "docker:alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker://alice:pw/leak1@127.0.0.1:58547/team/app",
     "docker://alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker://alice:PW/LEAK1@127.0.0.1:58547/team/app",
     "docker://alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker://alice:pw@leak1@127.0.0.1:58547/team/app",
     "docker://alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker://alice:pw leak1@127.0.0.1:58547/team/app",
     "docker://alice:xxxxx@127.0.0.1:58547/team/app"),
    ("alice:pw/leak1@127.0.0.1:58547/team/app", "alice:xxxxx@127.0.0.1:58547/team/app"),
    # a host of one label
    ("docker://alice:pw/leak1@myregistry/team/app", "docker://alice:xxxxx@myregistry/team/app"),
    # a short digest after the name: the registry and repository stay
    ("docker://alice:pw@leak1@reg.example/team/app:v1@sha256:abc",
     "docker://alice:xxxxx@reg.example/team/app:v1@sha256:abc"),
    ("docker://alice:pw1@reg.example/team/app@sha256:abc",
     "docker://alice:xxxxx@reg.example/team/app@sha256:abc"),
])
def test_a_password_in_any_form_of_a_name_is_masked(text: str, shown: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_image_name(text)
    assert str(caught.value) == f'Invalid image name "{shown}": it holds a user name and ' \
        f"password; {MASKED}"
    assert "pw" not in str(caught.value).lower().replace("password", "")


def test_a_password_typed_into_a_bare_reference_is_never_repeated() -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_docker_reference("alice:s3cret-pw@registry.example.com")
    assert "s3cret-pw" not in str(caught.value)


def test_an_oci_ref_with_at_and_colon_is_shown_as_typed() -> None:
    """``:`` and ``@`` are ref characters of an OCI layout: nothing to hide there."""
    with pytest.raises(InvalidReference) as caught:
        parse_image_name("oci:lay:v1@build/x y")
    assert '"oci:lay:v1@build/x y"' in str(caught.value)


@pytest.mark.parametrize("text", ["docker://127.0.0.1:5000", "docker://localhost:5000",
                                  "docker://registry.example.com", "docker://quay.io/"])
def test_a_registry_without_a_repository_is_refused(text: str) -> None:
    # distribution's grammar reads "localhost:5000" as docker.io/library/localhost:5000;
    # nobody means that
    host = text.removeprefix("docker://").rstrip("/")
    with pytest.raises(InvalidReference, match="is a registry, with no repository") as info:
        parse_image_name(text)
    assert f"docker://{host}/REPOSITORY" in str(info.value)


@pytest.mark.parametrize("text", ["docker://alpine:3.19", "docker://localhost:5000/app",
                                  "docker://library/busybox", f"docker://busybox@{SHA256}"])
def test_names_without_a_host_still_mean_docker_hub(text: str) -> None:
    assert isinstance(parse_image_name(text), DockerName)
