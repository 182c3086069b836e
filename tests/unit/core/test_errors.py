"""The shared sentence helpers of ``spyglass.core.errors``."""

from __future__ import annotations

import pytest

from spyglass.core.errors import (
    as_clause,
    describe_connection_error,
    out_of_memory,
    password_spans,
    without_password,
)


@pytest.mark.parametrize(("sentence", "clause"), [
    ("Manifest entry 1 has no digest.", "manifest entry 1 has no digest."),
    ("The image config is not valid JSON: x.", "the image config is not valid JSON: x."),
    ("A schema 1 layer has an invalid blobSum.", "a schema 1 layer has an invalid blobSum."),
    ("Connection refused", "connection refused"),
    # acronyms, names, quotations and words joined to more keep their first letter
    ("OCI layouts have no such thing.", "OCI layouts have no such thing."),
    ("JSON is UTF-8.", "JSON is UTF-8."),
    ("Docker Hub says no.", "Docker Hub says no."),
    ("BuildKit wrote it.", "BuildKit wrote it."),
    ("Content-Type is missing.", "Content-Type is missing."),
    ("X509 certificate.", "X509 certificate."),
    ('"alpine" is not a tag.', '"alpine" is not a tag.'),
    ("already lower-case.", "already lower-case."),
    ("", ""),
])
def test_a_sentence_after_a_colon(sentence: str, clause: str) -> None:
    assert as_clause(sentence) == clause


def test_a_connection_error_reads_as_a_clause() -> None:
    assert describe_connection_error(ConnectionRefusedError(111, "Connection refused")) == \
        "connection refused"
    assert describe_connection_error(OSError("SSL: WRONG_VERSION_NUMBER")) == \
        "SSL: WRONG_VERSION_NUMBER"


@pytest.mark.parametrize(("exc", "why"), [
    (MemoryError(), "no memory was left"),
    (RuntimeError("can't start new thread"), "no thread could be started"),
    (OSError(12, "Cannot allocate memory"), "the system could not allocate memory"),
    (type("ZstdError", (Exception,), {})(
        "zstd compress error: Allocation error : not enough memory"),
     "zstd could not allocate memory"),
])
def test_memory_that_ran_out_is_said_as_such(exc: BaseException, why: str) -> None:
    said = out_of_memory(exc)
    assert said is not None and str(said) == (
        f"Spyglass ran out of memory ({why}); free some memory, or raise the limit set on "
        "it (ulimit -v), and try again.")


@pytest.mark.parametrize("exc", [RuntimeError("other"), OSError(2, "No such file"),
                                 ValueError("x")])
def test_other_errors_are_not_memory(exc: BaseException) -> None:
    assert out_of_memory(exc) is None


@pytest.mark.parametrize(("text", "shown"), [
    # a password holding "/", before a host of one label
    ("docker://u:p/w@myregistry/app", "docker://u:xxxxx@myregistry/app"),
    ("u:p/w@myregistry/app", "u:xxxxx@myregistry/app"),
    ("docker://u:p/w@myregistry", "docker://u:xxxxx@myregistry"),
    ("docker:u:p/w/x@myregistry/app", "docker:u:xxxxx@myregistry/app"),
    # (as before: any host with "." or ":", or localhost)
    ("alice:pw/leak1@127.0.0.1:58547/team/app", "alice:xxxxx@127.0.0.1:58547/team/app"),
    ("docker://u:p/w@localhost/app", "docker://u:xxxxx@localhost/app"),
])
def test_a_password_holding_a_slash_is_masked_whatever_the_host(text: str, shown: str
                                                                ) -> None:
    assert without_password(text) == shown


@pytest.mark.parametrize("text", [
    # a registry's port, a path, a tag and something after "@": a name, no credentials
    "host:5000/app:v1@x",
    "myhost:5000/team/app:v1@build",
])
def test_a_registry_port_and_path_are_no_password(text: str) -> None:
    assert without_password(text) == text


@pytest.mark.parametrize(("text", "shown"), [
    # a digest after the name, whole or not, is no host: the registry and repository stay
    ("docker://u:sec@ret@reg.example/app:v1@sha256:abc",
     "docker://u:xxxxx@reg.example/app:v1@sha256:abc"),
    ("docker://u:secret@reg.example/app@sha256:abc", "docker://u:xxxxx@reg.example/app@sha256:abc"),
    ("docker://u:secret@reg.example/app@sha512:", "docker://u:xxxxx@reg.example/app@sha512:"),
    ("docker://u:secret@reg.example:5000/app:v1@sha256:0123",
     "docker://u:xxxxx@reg.example:5000/app:v1@sha256:0123"),
    # nor is what follows a repository's "@" (a password with "/" takes no host of one
    # label where a registry follows an earlier "@")
    ("docker://u:secret@reg.example/app@weird", "docker://u:xxxxx@reg.example/app@weird"),
    # (as before)
    ("https://u:pw@reg.example:5000?x=1", "https://u:xxxxx@reg.example:5000?x=1"),
    ("docker://alice:pw@[::1]:5000/app", "docker://alice:xxxxx@[::1]:5000/app"),
    ("docker://alice:p@ss@reg.example/app", "docker://alice:xxxxx@reg.example/app"),
    ("docker://alice:pw@my registry/app", "docker://alice:xxxxx@my registry/app"),
])
def test_a_digest_after_the_name_is_not_taken_for_the_host(text: str, shown: str) -> None:
    assert without_password(text) == shown


@pytest.mark.parametrize("text", [
    "reg.example:5000/app:v1@sha256:abc",
    "localhost:5000/app:v1@sha256:" + "0" * 64,
    "docker://reg.example/app@sha256:abc",
])
def test_a_name_with_a_short_digest_holds_no_password(text: str) -> None:
    assert without_password(text) == text


@pytest.mark.parametrize("text", [
    # a transport whose path or ref may hold "@" (and ":"): said as typed
    "oci:my@dir:tag",
    "dir:backup@2024",
    "docker-archive:img@v1.tar",
    "oci:dir:my:tag@foo",
    "oci-archive:a:b@c.tar",
    "containers-storage:u:p@store",
    "ostree:u:p@/srv/repo",
    "sif:x:y@z.sif",
    "tarball:x:y@z.tar",
])
def test_an_image_name_of_a_path_transport_is_never_masked(text: str) -> None:
    assert password_spans(text) == [] and without_password(text) == text


def test_a_connection_without_open_files_left_is_said_as_such() -> None:
    """A socket that could not be made for want of descriptors said "too many open
    files" as if a file were at fault: it says the process ran out and what to do."""
    import errno

    from spyglass.core.errors import describe_connection_error

    try:
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as exc:
            raise ConnectionError("[Errno 24] Too many open files") from exc
    except ConnectionError as wrapped:
        said = describe_connection_error(wrapped)
    assert said.startswith("Spyglass ran out of open files (")
    assert said.endswith("lower --parallel or raise that limit")
    assert describe_connection_error(ConnectionRefusedError(111, "Connection refused")) == (
        "connection refused")
