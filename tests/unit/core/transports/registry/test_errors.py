"""Registry error answers → Spyglass exceptions (``errors.error_for`` and friends)."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime

import httpx
import pytest

from spyglass.core.credentials import TOKEN_USERNAME, Credentials
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    BlobNotFound,
    ImageNotFound,
    NotFound,
    RateLimited,
    RegistryError,
    RepositoryNotFound,
    SpyglassError,
    Unsupported,
)
from spyglass.core.transports.registry.errors import (
    RateLimit,
    error_codes,
    error_for,
    retry_after,
)

HOST = "registry.test"
FAULT = "; the fault is on the registry's side."


def body(code: str, message: str = "") -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": {}}]}).encode()


def err(
    status: int,
    raw: bytes = b"",
    headers: dict[str, str] | None = None,
    what: str = "Listing the tags of registry.test/team/app",
    kind: str | None = None,
    anonymous: bool = False,
    credentials_from: str | None = None,
    username: str = "alice",
    entry: str | None = None,
) -> SpyglassError:
    credentials = (None if credentials_from is None else
                   Credentials(username, "pw", source=credentials_from, entry=entry))
    return error_for(status, httpx.Headers(headers or {}), raw, what=what, host=HOST, kind=kind,
                     anonymous=anonymous, credentials=credentials)


@pytest.mark.parametrize(
    ("status", "raw", "what", "cls", "phrase"),
    [
        (404, body("MANIFEST_UNKNOWN", "manifest unknown"), "Reading x", ImageNotFound,
         "no such image"),
        (404, body("NAME_UNKNOWN", "repository name not known to registry"),
         "Listing the tags of registry.test/team/app", RepositoryNotFound, "no such repository"),
        (404, body("BLOB_UNKNOWN", "blob unknown to registry"), "Reading x", BlobNotFound,
         "no such blob"),
        (403, body("DENIED", "requested access to the resource is denied"), "Reading x",
         AccessDenied, "denied access"),
        (403, b"", "Reading x", AccessDenied, "denied access"),
        (401, body("DENIED", "no"), "Reading x", AccessDenied, "denied access"),
        (401, body("UNAUTHORIZED", "authentication required"), "Reading x",
         AuthenticationFailed, "refused the credentials given"),
        (400, body("UNAUTHORIZED"), "Reading x", AuthenticationFailed, "refused the credentials"),
        (405, body("UNSUPPORTED", "The operation is unsupported."), "Deleting x", Unsupported,
         "does not support"),
        (405, b"", "Deleting x", Unsupported, "does not support"),
        (400, body("UNSUPPORTED"), "Deleting x", Unsupported, "does not support"),
        (404, b"", "Reading the manifest x", ImageNotFound, "no such image"),
        (404, b"", "Reading the blob sha256:1 of x", BlobNotFound, "no such blob"),
        (404, b"<html>Not Found</html>", "Listing x", NotFound, "404 Not Found"),
    ],
)
def test_mapping(
    status: int, raw: bytes, what: str, cls: type[SpyglassError], phrase: str
) -> None:
    kind = "manifest" if "manifest" in what else "blob" if "blob" in what else None
    error = err(status, raw, what=what, kind=kind)
    assert type(error) is cls
    text = str(error)
    assert text.startswith(f"{what} failed: ")
    assert f"the registry {HOST} " in text
    assert phrase in text


def test_credentials_advice_in_the_command_lines_words_only() -> None:
    error = err(401, body("UNAUTHORIZED", "authentication required"), what="Reading x",
                anonymous=True)
    # distribution's "authentication required" restates the 401: not quoted
    assert str(error) == ("Reading x failed: the registry registry.test wants valid "
                          "credentials.")
    assert error.on_command_line == (
        f"{error} Log in with spyglass login registry.test, or pass --creds USER:PASSWORD.")


def test_an_anonymous_denial_advises_logging_in() -> None:
    """GHCR answers anonymous requests for a private package "denied": no account was
    used, so none is blamed."""
    error = err(403, body("DENIED", "denied"), what="Reading x", anonymous=True)
    assert type(error) is AccessDenied
    assert str(error) == ("Reading x failed: the registry registry.test denied access without "
                          "credentials. Log in to registry.test "
                          "if the image is private.")
    assert "account" not in str(error)
    assert error.on_command_line is not None
    assert "spyglass login registry.test" in error.on_command_line


def test_a_user_name_held_back_for_its_empty_password_is_said() -> None:
    """A user name with an empty password: the token server was asked without it (as
    skopeo asks), so a demand for credentials says that, not "pass --creds"."""
    held = Credentials("alice", "", source="command line")
    wanted = error_for(401, httpx.Headers(), b"", what="Reading x", host=HOST, anonymous=True,
                       held_back=held)
    why = ('The user name "alice" was given with an empty password, and a token server is '
           "asked without credentials then (as skopeo asks it).")
    assert isinstance(wanted, AuthenticationFailed) and wanted.credentials_sent
    assert str(wanted) == f"Reading x failed: the registry {HOST} wants valid credentials. {why}"
    assert wanted.on_command_line == f"{wanted} Give the password too (--creds USER:PASSWORD)."
    denied = error_for(403, httpx.Headers(), body("DENIED", "denied"), what="Reading x",
                       host=HOST, anonymous=True, held_back=Credentials(
                           "alice", "", source="docker-credential-pass"))
    assert isinstance(denied, AccessDenied) and str(denied).endswith(why)
    assert denied.on_command_line is not None
    assert denied.on_command_line.endswith(
        f"{why} Check the credentials the helper docker-credential-pass gives for {HOST} "
        "(the credHelpers or credsStore of the auth file names it), or pass --creds "
        "USER:PASSWORD.")


def test_credentials_sent_and_refused_are_not_asked_for_again() -> None:
    error = err(401, body("UNAUTHORIZED", "authentication required"), what="Reading x")
    assert type(error) is AuthenticationFailed
    said = "Reading x failed: the registry registry.test refused the credentials given."
    assert str(error) == f"{said} Check the user name and password."
    assert error.on_command_line == (
        f"{said} Check the user name and password (--creds USER:PASSWORD), or log in again "
        "with spyglass login registry.test.")
    # where they came from says what to check
    saved = err(401, body("UNAUTHORIZED", "authentication required"), what="Reading x",
                credentials_from="keyring")
    assert saved.on_command_line == (
        f"{said} Check the user name and password saved in the keyring for registry.test: "
        "log in again with spyglass login registry.test, or pass --creds USER:PASSWORD.")
    given = err(401, body("UNAUTHORIZED", "authentication required"), what="Reading x",
                credentials_from="command line")
    assert given.on_command_line == (
        f"{said} Check the user name and password given with --creds USER:PASSWORD.")
    by_name = error_for(401, httpx.Headers({}), body("UNAUTHORIZED", "authentication required"),
                        what="Reading x", host=HOST, credentials=Credentials(
                            "alice", "a:b", source="command line",
                            given_with="--username and --password"))
    assert by_name.on_command_line == (
        f"{said} Check the user name and password given with --username and --password.")


@pytest.mark.parametrize("credentials_from", ["command line", "keyring", None])
def test_a_token_refused_as_invalid_is_not_blamed_on_the_password(
        credentials_from: str | None) -> None:
    """The token server took the credentials and gave a token, and the registry refused
    that token (``error="invalid_token"``): checking the password would not help."""
    challenge = (f'Bearer realm="https://auth.test/token",service="{HOST}",'
                 'scope="repository:team/app:pull",error="invalid_token"')
    error = err(401, body("UNAUTHORIZED", "authentication required"),
                {"WWW-Authenticate": challenge}, what="Reading x",
                credentials_from=credentials_from or "")
    assert isinstance(error, AuthenticationFailed) and error.token_refused
    assert error.credentials_sent
    assert str(error).startswith(
        "Reading x failed: the registry registry.test refused the token its token server "
        "gave for the credentials (invalid_token). The token server took the credentials, "
        "so they are not at fault")
    assert error.on_command_line is None  # the same on the command line
    assert "password" not in str(error)
    # without credentials, or with a Basic challenge, the old sentences stay
    assert "wants valid credentials" in str(err(401, b"", {"WWW-Authenticate": challenge},
                                                anonymous=True))
    basic = err(401, b"", {"WWW-Authenticate": 'Basic realm="r",error="invalid_token"'})
    assert "refused the credentials given" in str(basic)


@pytest.mark.parametrize(("source", "username", "entry", "account"), [
    ("keyring", "carol", None, 'the account "carol" (saved in the keyring)'),
    ("command line", "carol", None, 'the account "carol" (given on the command line)'),
    ("session", "carol", None, 'the account "carol" (given in this session)'),
    ("/home/u/auth.json", "alice", "registry.test/team",
     'the account "alice" (from the entry "registry.test/team" in /home/u/auth.json)'),
    ("docker-credential-pass", "bob", None,
     'the account "bob" (from docker-credential-pass)'),
    ("/home/u/auth.json", TOKEN_USERNAME, "registry.test",
     'the account (from the entry "registry.test" in /home/u/auth.json)'),
    ("registry token", "", None, "the account of the Bearer token given"),
    (None, "", None, "the account used"),
])
def test_a_denial_names_the_account_and_where_its_credentials_came_from(
        source: str | None, username: str, entry: str | None, account: str) -> None:
    # a user with several accounts in several places needs to know which one was refused
    error = err(403, body("DENIED", "no pushes to team/*"),
                what="Reading x", credentials_from=source, username=username, entry=entry)
    assert type(error) is AccessDenied
    assert str(error) == ("Reading x failed: the registry registry.test denied access (the "
                          f"registry says: no pushes to team/*); {account} is not allowed to "
                          "do this.")


def test_credentials_of_an_auth_file_entry_that_are_refused_name_the_entry() -> None:
    error = err(401, body("UNAUTHORIZED", "authentication required"), what="Reading x",
                credentials_from="/home/u/auth.json", entry="registry.test/team/app")
    assert error.on_command_line is None
    assert str(error) == ("Reading x failed: the registry registry.test refused the "
                          "credentials given. Check the entry \"registry.test/team/app\" in "
                          "/home/u/auth.json.")


def test_the_registrys_own_message_is_quoted() -> None:
    error = err(404, body("MANIFEST_UNKNOWN", "manifest tagged by v9 is not found"),
                what="Reading the manifest registry.test/app:v9")
    assert "(the registry says: manifest tagged by v9 is not found)" in str(error)


def test_manifest_read_from_an_unknown_repository_is_image_not_found() -> None:
    # ImageSource.get_manifest's contract: an unknown name is ImageNotFound
    error = err(404, body("NAME_UNKNOWN"), what="Reading the manifest registry.test/nope:latest",
                kind="manifest")
    assert isinstance(error, ImageNotFound)
    assert "no such repository" in str(error)
    blob = err(404, body("NAME_UNKNOWN"), what="Reading a blob", kind="blob")
    assert isinstance(blob, BlobNotFound)
    listing = err(404, body("NAME_UNKNOWN"), what="Listing the tags of registry.test/nope")
    assert type(listing) is RepositoryNotFound


def test_insufficient_scope_401_is_access_denied() -> None:
    challenge = 'Bearer realm="https://a.test/t",scope="repository:x:push",error="insufficient_scope"'
    error = err(401, body("UNAUTHORIZED"), {"WWW-Authenticate": challenge})
    assert type(error) is AccessDenied
    assert error.status == 401 and error.code == "UNAUTHORIZED"


def test_rate_limited_shows_limit_remaining_and_wait() -> None:
    error = err(
        429,
        body("TOOMANYREQUESTS", "You have reached your pull rate limit."),
        {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600",
         "Retry-After": "30"},
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 30.0
    assert error.status == 429 and error.code == "TOOMANYREQUESTS"
    text = str(error)
    assert f"the registry {HOST} is limiting requests" in text
    assert "(0 of 100 requests left)" in text
    assert "wait 30 s" in text


def test_rate_limited_by_code_alone() -> None:
    error = err(503, body("TOOMANYREQUESTS"))
    assert isinstance(error, RateLimited)
    assert error.retry_after is None
    assert "wait" not in str(error)


@pytest.mark.parametrize(
    ("status", "raw", "summary"),
    [
        # a 5xx is no refusal: whose fault it is is said, and the status beside a code
        (500, b"", f"answered HTTP 500{FAULT}"),
        (500, b"internal error, not json", f"answered HTTP 500{FAULT}"),
        (500, body("UNKNOWN", "unknown error"),
         f"answered UNKNOWN: unknown error (HTTP 500){FAULT}"),
        (400, body("TAG_INVALID"), "answered TAG_INVALID."),
        # distribution refusing a manifest whose foreign layer's urls it does not allow:
        # the useful error comes last, and each distinct one is said once
        (500, json.dumps({"errors": [
            {"code": "UNKNOWN", "message": "unknown error"},
            {"code": "UNKNOWN", "message": "unknown error"},
            {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry",
             "detail": "sha256:" + "e" * 64},
        ]}).encode(), "answered MANIFEST_BLOB_UNKNOWN: blob unknown to registry "
         f"(sha256:{'e' * 64}); UNKNOWN: unknown error (HTTP 500){FAULT}"),
        # a manifest naming five blobs the registry lacks: three named, and how many more
        (400, json.dumps({"errors": [
            {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry",
             "detail": f"sha256:{n * 64}"} for n in "abcde"]}).encode(),
         "answered MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:" + "a" * 64
         + ", sha256:" + "b" * 64 + ", sha256:" + "c" * 64 + " and 2 more)."),
    ],
)
def test_other_answers_are_registry_errors(status: int, raw: bytes, summary: str) -> None:
    error = err(status, raw)
    assert type(error) is RegistryError
    assert error.status == status
    assert str(error) == (
        f"Listing the tags of registry.test/team/app failed: the registry {HOST} {summary}"
    )


def test_error_codes() -> None:
    raw = json.dumps({"errors": [
        {"code": "NAME_UNKNOWN", "message": "no repo"},
        {"code": "DENIED"},
        {"message": "no code"},
        "junk",
        {"code": 7},
    ]}).encode()
    assert error_codes(raw) == [("NAME_UNKNOWN", "no repo"), ("DENIED", "")]


@pytest.mark.parametrize(
    "raw", [b"", b"null", b"[]", b'{"errors": "x"}', b"\xff\xfe", b'{"errors": [', b"<html/>"]
)
def test_error_codes_of_junk(raw: bytes) -> None:
    assert error_codes(raw) == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1", 1.0), ("0", 0.0), ("2.5", 2.5), ("-5", 0.0), ("soon", None), ("", None)],
)
def test_retry_after_seconds(value: str, seconds: float | None) -> None:
    assert retry_after(httpx.Headers({"Retry-After": value})) == seconds


def test_retry_after_absent() -> None:
    assert retry_after(httpx.Headers()) is None


def test_retry_after_http_date() -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    seconds = retry_after(httpx.Headers({"Retry-After": format_datetime(when, usegmt=True)}))
    assert seconds is not None and 100 < seconds <= 120
    past = format_datetime(dt.datetime(2001, 1, 1, tzinfo=dt.UTC), usegmt=True)
    assert retry_after(httpx.Headers({"Retry-After": past})) == 0.0


def test_retry_after_date_without_zone_is_utc() -> None:
    # "-0000" parses to a naive datetime; it must not meet an aware "now" (TypeError)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    value = when.strftime("%a, %d %b %Y %H:%M:%S -0000")
    seconds = retry_after(httpx.Headers({"Retry-After": value}))
    assert seconds is not None and 40 < seconds <= 60


def test_rate_limit_headers() -> None:
    assert RateLimit.from_headers(httpx.Headers()) is None
    rate = RateLimit.from_headers(httpx.Headers({"RateLimit-Remaining": "7"}))
    assert rate == RateLimit(None, "7")
    assert str(rate) == "7 of ? requests left"
    hub = RateLimit.from_headers(
        httpx.Headers({"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "76;w=21600"})
    )
    assert str(hub) == "76 of 100 requests left"


def test_a_403_page_says_why_in_its_own_words() -> None:
    """A proxy's or policy's page, not the registry's JSON: its words, without markup (as
    skopeo shows the body); a long page is not quoted whole."""
    error = err(403, b"<html><body><h1>Forbidden by policy</h1></body></html>",
                what="Reading x")
    assert "(the registry says: Forbidden by policy)" in str(error)
    long_page = b"<html>" + b"<p>words </p>" * 2000 + b"</html>"
    assert "the registry says" not in str(err(403, long_page, what="Reading x"))
    # the registry's own JSON errors are read as before
    assert "(the registry says: the repository is frozen)" in str(
        err(403, body("DENIED", "the repository is frozen"), what="Reading x"))


def test_what_the_registry_says_first_decides_the_kind_of_error() -> None:
    """A 500 whose body says UNKNOWN first stays a registry error, whatever follows: a
    BLOB_UNKNOWN after it is not "no such blob" (a referrers tag read so would be taken
    for absent, and written anew)."""
    raw = json.dumps({"errors": [{"code": "UNKNOWN", "message": "unknown error"},
                                 {"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}).encode()
    error = err(500, raw)
    assert type(error) is RegistryError and error.code == "UNKNOWN"


def test_errors_told_apart_only_by_their_messages_are_counted() -> None:
    raw = json.dumps({"errors": [
        {"code": "MANIFEST_BLOB_UNKNOWN", "message": f"blob unknown: sha256:{n * 8}"}
        for n in "abcdef"]}).encode()
    assert str(err(400, raw)).endswith(
        "answered MANIFEST_BLOB_UNKNOWN: blob unknown: sha256:aaaaaaaa (blob unknown: "
        "sha256:bbbbbbbb, blob unknown: sha256:cccccccc, blob unknown: sha256:dddddddd and "
        "2 more).")


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"errors":' + b"1" * 5000 + b"}"])
def test_an_error_body_too_deep_or_with_too_many_digits_holds_no_errors(body: bytes) -> None:
    """Python's json raised RecursionError and ValueError for these: "internal error"."""
    from spyglass.core.transports.registry.errors import error_entries

    assert error_entries(body) == []


def test_credentials_a_helper_gave_that_are_refused_name_the_helper() -> None:
    """It said to check those given with --creds, which were never given."""
    error = err(401, body("UNAUTHORIZED", "authentication required"), what="Reading x",
                credentials_from="docker-credential-pass")
    assert error.on_command_line == (
        "Reading x failed: the registry registry.test refused the credentials given. Check "
        "the credentials the helper docker-credential-pass gives for registry.test (the "
        "credHelpers or credsStore of the auth file names it), or pass --creds "
        "USER:PASSWORD.")


# ---------------------------------------------------------------- secrets said back


def test_what_is_decided_is_decided_on_the_registrys_own_words() -> None:
    """A full disk is a full disk, and "manifest unknown" says nothing more, whatever
    the password sent: the secrets are scrubbed from what is quoted, not from what the
    kind of error is read from."""
    full = json.dumps({"errors": [{"code": "UNKNOWN", "message": "unknown error", "detail":
                                   "filesystem: write /var/lib/registry/x: no space left "
                                   "on device"}]}).encode()
    for password in ("e", "space", "device"):
        said = str(error_for(500, httpx.Headers(), full, what="Writing x", host=HOST,
                             credentials=Credentials("u", password), secrets=(password,)))
        assert "has no room left: its storage is full (no space left on device)" in said
    for password in ("a", "manifest", "manifest unknown"):
        said = str(error_for(404, httpx.Headers(), body("MANIFEST_UNKNOWN", "manifest unknown"),
                             what="Reading x", host=HOST, secrets=(password,)))
        assert said == f"Reading x failed: the registry {HOST} has no such image."


def test_credentials_not_sent_are_not_scrubbed() -> None:
    """Credentials held back, or given for a registry that never asked for them, were not
    sent: what the registry says is quoted as it said it."""
    raw = body("UNAUTHORIZED", "a login is required")
    said = str(error_for(401, httpx.Headers(), raw, what="Reading x", host=HOST,
                         anonymous=True, held_back=Credentials("u", "a"),
                         plain_realm="http://auth.test/token"))
    assert "(the registry says: a login is required)" in said
    echoed = str(error_for(401, httpx.Headers(), raw, what="Reading x", host=HOST,
                           credentials=Credentials("u", "a"), secrets=("a",)))
    assert "(the registry says: *** login is required)" in echoed
