"""Registry answers that are errors, turned into Spyglass's exception tree.

The distribution API's error body is ``{"errors": [{"code", "message",
"detail"}]}``; its codes and the HTTP status decide the class, as
containers/image's ``docker/errors.go`` does: 401 → authentication, 403 /
``DENIED`` → access denied, 429 / ``TOOMANYREQUESTS`` → rate limited,
``MANIFEST_UNKNOWN`` / ``NAME_UNKNOWN`` / ``BLOB_UNKNOWN`` → not found.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from spyglass.core import gojson
from spyglass.core.credentials import (
    REGISTRY_TOKEN_SOURCE,
    TOKEN_USERNAME,
    Credentials,
    scrubbed,
)
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
    locked_keyring_sentence,
)
from spyglass.core.natural import naturally_sorted
from spyglass.core.text import visible
from spyglass.core.transports.registry.advice import check_sentence, given_where, to_check
from spyglass.core.transports.registry.auth import (
    Challenge,
    held_back_why,
    parse_challenges,
)

MAX_ERROR_BODY: Final = 64 * 1024
"""Error bodies are read to at most this many bytes."""


@dataclass(frozen=True)
class RateLimit:
    """What a registry says of its rate limit (``RateLimit-Limit``/``-Remaining``)."""

    limit: str | None
    remaining: str | None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimit | None:
        limit = headers.get("ratelimit-limit")
        remaining = headers.get("ratelimit-remaining")
        return cls(limit, remaining) if limit or remaining else None

    def __str__(self) -> str:
        limit = (self.limit or "?").split(";")[0]
        remaining = (self.remaining or "?").split(";")[0]
        return f"{remaining} of {limit} requests left"


def error_entries(body: bytes) -> list[tuple[str, str, str]]:
    """``(code, message, detail)`` of each error of a distribution error body (a detail
    said as :func:`_detail_text` says it, "" where it says nothing); empty when it is
    none."""
    try:
        data = gojson.loads(body)
    except json.JSONDecodeError:
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    out = []
    for item in errors:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            message = item.get("message")
            out.append((item["code"], message if isinstance(message, str) else "",
                        _detail_text(item.get("detail"))))
    return out


_NO_SPACE: Final = "no space left on device"
"""Go's words for ENOSPC, as a registry's storage driver passes them on."""

_STORAGE_FULL: Final = f"its storage is full ({_NO_SPACE})"

_PATH: Final = re.compile(r"/[^\s\"'(),;:]+")
_STORAGE_ROOT: Final = "/docker/registry/v2/"
"""Where distribution's filesystem and cloud storage drivers keep a registry's content."""

_MAX_DETAIL: Final = 200
_MAX_PART: Final = 16
_LONG_PATH: Final = 48


def _short_path(match: re.Match[str]) -> str:
    """A storage path as a sentence can hold it: from distribution's ``repositories/``
    (``…/repositories/team/app/_uploads/6b7a0f2c…/data``) or its last three parts, each
    digest or upload ID cut short."""
    path = match.group(0)
    if len(path) <= _LONG_PATH:
        return path
    _root, found, within = path.partition(_STORAGE_ROOT)
    parts = within.split("/") if found else path.split("/")[-3:]
    shown = "/".join(part if len(part) <= _MAX_PART else part[:12] + "…" for part in parts)
    return path if len(shown) >= len(path) else "…/" + shown


def _detail_text(detail: object) -> str:
    """What an error's ``detail`` says, for a sentence: a string with its storage paths
    shortened (the cause at its end stays), or distribution's storage driver error
    (``{"DriverName": …, "Enclosed": {"Op", "Path", "Err": 28}}``, a Go ``*PathError``)
    as Go says it: ``write …/link: no space left on device``; "" for anything else."""
    if isinstance(detail, dict):
        enclosed = detail.get("Enclosed", detail)
        if isinstance(enclosed, str):
            return _detail_text(enclosed)
        if not isinstance(enclosed, dict):
            return ""
        number, op, path = enclosed.get("Err"), enclosed.get("Op"), enclosed.get("Path")
        if isinstance(number, int) and not isinstance(number, bool) and 0 < number < 4096:
            reason = os.strerror(number)
            reason = reason[:1].lower() + reason[1:]  # as Go's syscall.Errno says it
        elif isinstance(number, int) and not isinstance(number, bool) and number > 0:
            reason = f"errno {number}"  # (no system's: os.strerror would overflow)
        elif isinstance(number, str):
            reason = number
        else:
            return ""
        where = " ".join(str(part) for part in (op, path) if isinstance(part, str) and part)
        return _detail_text(f"{where}: {reason}" if where else reason)
    if not isinstance(detail, str):
        return ""
    text = _PATH.sub(_short_path, " ".join(detail.split()))
    return text if len(text) <= _MAX_DETAIL else "…" + text[-(_MAX_DETAIL - 1):]


def storage_full(entries: list[tuple[str, str, str]]) -> bool:
    """Whether a registry's errors say its storage has no room left (ENOSPC)."""
    return any(_NO_SPACE in f"{message} {detail}".lower() for _code, message, detail in entries)


def error_codes(body: bytes) -> list[tuple[str, str]]:
    """``(code, message)`` pairs of a distribution error body; empty when it is none."""
    return [(code, message) for code, message, _detail in error_entries(body)]


_DETAILS_SHOWN: Final = 3


def _every_error(entries: list[tuple[str, str, str]]) -> str:
    """The errors of a body as one clause: each code once (``CODE: message``, its first
    message), with up to :data:`_DETAILS_SHOWN` of what tells its errors apart (their
    details, else their other messages) and how many more; a registry that lists several
    (distribution: ``UNKNOWN`` twice, then each blob a manifest names that it does not
    have) often says the useful one last, so ``UNKNOWN`` goes after the rest."""
    kinds: dict[str, tuple[str, list[str]]] = {}
    for code, message, detail in entries:
        first, apart = kinds.setdefault(code, (message, []))
        extra = detail or (message if message != first else "")
        if extra and extra not in apart:
            apart.append(extra)
    parts = []
    for code in sorted(kinds, key=lambda c: c == "UNKNOWN"):
        message, apart = kinds[code]
        shown = ", ".join(apart[:_DETAILS_SHOWN])
        if len(apart) > _DETAILS_SHOWN:
            shown += f" and {len(apart) - _DETAILS_SHOWN} more"
        parts.append(code + (f": {message}" if message else "") + (f" ({shown})" if shown else ""))
    return "; ".join(parts)


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as _dt

    if when.tzinfo is None:  # "-0000" parses as naive; HTTP dates are in UTC
        when = when.replace(tzinfo=_dt.UTC)
    now = _dt.datetime.now(when.tzinfo)
    return max(0.0, (when - now).total_seconds())


_SAYS_NOTHING_MORE: Final = frozenset({
    "authentication required", "unauthorized", "unauthorized: authentication required",
    "access to the requested resource is not authorized", "requested access to the "
    "resource is denied", "denied", "not found", "manifest unknown", "blob unknown",
    "blob unknown to registry", "repository name not known to registry",
})
"""Registry messages (distribution's, lowercased) that only restate their code: not
quoted after a sentence that says it in full."""


_TAG: Final = re.compile(r"<[^>]*>")
_MAX_PAGE_TEXT: Final = 160


def _page_text(body: bytes, secrets: tuple[str, ...] = ()) -> str | None:
    """The words of a short non-JSON error page (``<html>Forbidden by policy</html>``),
    without its markup and with ``secrets`` scrubbed (before it is cut short, so no
    part of one is left); None for none, or for a page too long to be a reason."""
    if not body or len(body) > 4096 or body.lstrip()[:1] in (b"{", b"["):
        return None
    page = scrubbed(body.decode("utf-8", "replace"), secrets)
    text = scrubbed(" ".join(_TAG.sub(" ", page).split()), secrets)
    if not text:
        return None
    return text if len(text) <= _MAX_PAGE_TEXT else text[: _MAX_PAGE_TEXT - 1] + "…"


def error_for(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    *,
    what: str,
    host: str,
    kind: str | None = None,
    anonymous: bool = False,
    attempts: int = 1,
    credentials: Credentials | None = None,
    keyring_locked: str | None = None,
    keyring_failed: str = "",
    held_back: Credentials | None = None,
    plain_realm: str | None = None,
    redirected: str | None = None,
    unasked: bool = False,
    unsent: Credentials | None = None,
    secrets: tuple[str, ...] = (),
    kept_token_refused: bool = False,
) -> SpyglassError:
    """The exception for a registry's error answer.

    ``kind`` (``"manifest"`` or ``"blob"``) says what a bare 404 means (``"catalog"``:
    a registry without one).
    ``anonymous`` says no credentials were sent: a 401 ``insufficient_scope``
    then means "log in" (:class:`AuthenticationFailed`), not that an account
    lacks a permission (:class:`AccessDenied`).
    ``credentials`` are the ones sent: a refusal names their account and where they
    came from (an auth.json's entry is named in the advice, rather than ``--creds``).
    ``keyring_locked`` names the keyring that was locked when none were found: a
    demand for credentials then says to unlock it (logging in would not help).
    ``keyring_failed`` is the sentence of a keyring that failed as they were looked up:
    a demand for credentials says it.
    ``held_back`` are credentials a token server was asked without (a user name with an
    empty password, as skopeo asks): a demand for credentials says so, and to give the
    password (not to pass ``--creds``, which was done); with ``plain_realm``, credentials
    kept from that token server on plain HTTP (the registry reached over verified TLS);
    with ``redirected``, kept from the other server its token server sent the request for
    a token on to (:attr:`RegistryAuth.redirected`).
    ``unasked`` says the registry has not asked for credentials in a scheme Spyglass
    speaks (Basic, Bearer), so none were sent: a 401 that asks for another (Negotiate)
    says so, as does one that names none where ``unsent``, credentials given, were not
    sent (not that they were refused, nor to log in: neither would send them).
    ``what`` says what was being done, as the start of a sentence
    (``Reading the manifest of docker://…``). ``attempts`` counts the requests made,
    retries included: an answer that retrying did not change says so.
    ``secrets`` are those the request carried (its ``Authorization`` header's, the
    identity token its token was got with: :meth:`RegistryAuth.secrets`): they are
    scrubbed (``***``) from what the registry says where it is quoted (a proxy's or a
    registry's page may echo the header it refused), where each stands alone; what is
    decided (the kind of error, a full disk, a message that says nothing more) is
    decided on the registry's own words. Credentials that were not sent (``held_back``,
    or given for a registry that never asked) are no secrets of the request.
    ``kept_token_refused`` says the registry refused the token kept with no user name
    (``credentials``) and was then asked with an anonymous token
    (:attr:`RegistryAuth.kept_token_refused`): a refusal is the token's.
    """
    words = error_entries(body)  # as the registry said them: what is decided on
    entries = [(code, scrubbed(message, secrets), scrubbed(detail, secrets))
               for code, message, detail in words]  # what is quoted
    code = entries[0][0] if entries else None  # the kind of error: as the registry says first
    said = entries[0][1] if entries and entries[0][1] else None
    raw = words[0][1] if words else ""
    if said is None and not entries and status == 403:
        said = _page_text(body, secrets)  # a proxy's or a policy's page: why access is denied
        raw = _page_text(body) or ""
    if raw.strip(" .").lower() in _SAYS_NOTHING_MORE:
        said = None  # the sentence says as much already
    detail = f" (the registry says: {said})" if said else ""
    rate = RateLimit.from_headers(headers)
    challenges = parse_challenges(headers.get_list("www-authenticate"))
    insufficient = any(c.params.get("error") == "insufficient_scope" for c in challenges)
    invalid_token = any(c.scheme == "bearer" and c.params.get("error") == "invalid_token"
                        for c in challenges)

    if status == 429 or code == "TOOMANYREQUESTS":
        wait = retry_after(headers)
        parts = [f"{what} failed: the registry {host} is limiting requests"]
        if rate:
            parts.append(f" ({rate})")
        if wait is not None:
            parts.append(f"; it asks to wait {wait:.0f} s")
        return RateLimited(
            "".join(parts) + ". Try again later.", status=status, code=code, retry_after=wait
        )
    if (status == 403 or code == "DENIED") and anonymous:
        # GHCR answers anonymous requests for a private package "denied": no account
        # was used, so the advice is to log in
        said = f"{what} failed: the registry {host} denied access without credentials{detail}."
        private = "its catalog is for signed-in users" if kind == "catalog" else \
            "the image is private"
        if held_back is not None:
            why, what_to_do = held_back_why(held_back, host, plain_realm, redirected)
            return AccessDenied(f"{said} {why}", status=status, code=code,
                                on_command_line=f"{said} {what_to_do}")
        if keyring_locked is not None:
            return AccessDenied(
                f"{said} {locked_keyring_sentence(keyring_locked)}", status=status, code=code,
                on_command_line=f"{said} {locked_keyring_sentence(keyring_locked, creds=True)}")
        return AccessDenied(
            f"{said} Log in to {host} if {private}.",
            status=status, code=code,
            on_command_line=f"{said} If {private}, log in with spyglass login "
            f"{host}, or pass --creds USER:PASSWORD.",
        )
    if kept_token_refused and (status in (401, 403) or code in ("UNAUTHORIZED", "DENIED")):
        status = 401  # (what the anonymous token was refused is what the token was)
    elif status == 403 or code == "DENIED" or (status == 401 and insufficient and not anonymous):
        return AccessDenied(
            f"{what} failed: the registry {host} denied access{detail}; "
            f"{account_of(credentials)} is not allowed to do this.",
            status=status, code=code,
        )
    if status == 401 and unasked and (challenges or unsent is not None) \
            and not any(c.scheme in _SPOKEN for c in challenges):
        return _unspoken(challenges, what=what, host=host, detail=detail, given=unsent)
    credentials_from = credentials.source if credentials is not None else None
    if (status == 401 or code == "UNAUTHORIZED") and credentials_from == REGISTRY_TOKEN_SOURCE:
        said = f"{what} failed: the registry {host} refused the Bearer token given{detail}."
        return AuthenticationFailed(
            f"{said} Check the token.", status=status, code=code, host=host,
            credentials_sent=True,
            on_command_line=f"{said} Check the token (--registry-token), or leave it out "
            f"and log in with spyglass login {host}.",
        )
    if (status == 401 or code == "UNAUTHORIZED") and credentials is not None \
            and credentials.registry_token and not anonymous \
            and (kept_token_refused or not any(c.scheme == "basic" for c in challenges)):
        # a token kept with no user name (token_alone), presented as it is: no token
        # server took it, so it is the one refused
        said = f"{what} failed: the registry {host} refused the Bearer token given{detail}."
        checked = to_check(credentials)
        return AuthenticationFailed(
            f"{said} Check {checked}.", status=status, code=code, host=host,
            credentials_sent=True, refusal=said, to_check=checked,
            on_command_line=f"{said} {check_sentence(credentials, host)}")
    if status == 401 and invalid_token and not anonymous:
        # the token server took the credentials; its token is what the registry refused
        said = (f"{what} failed: the registry {host} refused the token its token server "
                f"gave for the credentials (invalid_token){detail}.")
        return AuthenticationFailed(
            f"{said} The token server took the credentials, so they are not at fault: the "
            "registry and its token server disagree over its tokens (their clocks, or the "
            "key that signs them). Try again, and tell the registry's administrator if "
            "this goes on.", status=status, code=code, host=host, credentials_sent=True,
            token_refused=True)
    if (status == 401 or code == "UNAUTHORIZED") and not anonymous:
        said = f"{what} failed: the registry {host} refused the credentials given{detail}."
        check = check_sentence(credentials, host)
        checked = to_check(credentials)  # (whose, and from where: the window says it)
        if credentials is not None and credentials.file_entry is not None:  # an auth.json
            return AuthenticationFailed(f"{said} {check}", status=status, code=code,
                                        host=host, credentials_sent=True, refusal=said,
                                        to_check=checked)
        return AuthenticationFailed(
            f"{said} Check {checked}.", status=status, code=code, host=host,
            credentials_sent=True, refusal=said, to_check=checked,
            on_command_line=f"{said} {check}",
        )
    if status == 401 or code == "UNAUTHORIZED":
        said = f"{what} failed: the registry {host} wants valid credentials{detail}."
        if held_back is not None:  # given, but not sent: the password is what is missing
            why, what_to_do = held_back_why(held_back, host, plain_realm, redirected)
            return AuthenticationFailed(
                f"{said} {why}", status=status, code=code, host=host, credentials_sent=True,
                refusal=f"{said} {why}", on_command_line=f"{said} {what_to_do}")
        if keyring_failed:
            said = f"{said} {keyring_failed}"
        if keyring_locked is not None:
            return AuthenticationFailed(
                f"{said} {locked_keyring_sentence(keyring_locked)}", status=status, code=code,
                host=host, refusal=said, keyring_locked=keyring_locked,
                on_command_line=f"{said} {locked_keyring_sentence(keyring_locked, creds=True)}")
        return AuthenticationFailed(
            said, status=status, code=code, host=host, refusal=said,
            on_command_line=f"{said} Log in with spyglass login {host}, or pass "
            "--creds USER:PASSWORD.",
        )
    if code == "MANIFEST_UNKNOWN" or (status == 404 and not code and kind == "manifest"):
        return ImageNotFound(f"{what} failed: the registry {host} has no such image{detail}.")
    if code == "NAME_UNKNOWN":
        sentence = f"{what} failed: the registry {host} has no such repository{detail}."
        # what callers of a manifest or blob read are promised: the thing is not found
        if kind == "manifest":
            return ImageNotFound(sentence)
        if kind == "blob":
            return BlobNotFound(sentence)
        return RepositoryNotFound(sentence)
    if code == "BLOB_UNKNOWN" or (status == 404 and not code and kind == "blob"):
        return BlobNotFound(f"{what} failed: the registry {host} has no such blob{detail}.")
    if status == 404 and kind == "catalog":
        return NotFound(f"{what} failed: the registry {host} answered 404 Not Found{detail}; "
                        "it offers no catalog of its repositories (GHCR, Docker Hub and "
                        "others have none), so name a repository to list its tags.")
    if status == 404:
        return NotFound(f"{what} failed: the registry {host} answered 404 Not Found{detail}.")
    if code == "UNSUPPORTED" or status == 405:
        return Unsupported(
            f"{what} failed: the registry {host} does not support this operation{detail}."
        )
    summary = _every_error(entries) if code else f"HTTP {status}"
    notes = [f"HTTP {status}"] if code and status >= 500 else []  # not a refusal: a fault
    notes += [f"asked {attempts} times"] if attempts > 1 else []
    said = f" ({', '.join(notes)})" if notes else ""
    if storage_full(words):
        # the cause first: what the registry said (codes, a storage path) can run to 200
        # characters, and the window's State cell shows only the start of a sentence
        return RegistryError(
            f"{what} failed: the registry {host} has no room left: {_STORAGE_FULL}, which "
            f"its administrator has to free; it answered {summary}{said}.", status=status,
            code=code,
        )
    fault = "; the fault is on the registry's side" if status >= 500 else ""
    return RegistryError(
        f"{what} failed: the registry {host} answered {summary}{said}{fault}.", status=status,
        code=code,
    )


_SPOKEN: Final = ("basic", "bearer")
"""The authentication schemes Spyglass answers a challenge of."""

_SCHEMES_NAMED: Final = 3
"""The most schemes of a 401's challenges a sentence names."""


def _unspoken(challenges: list[Challenge], *, what: str, host: str, detail: str,
              given: Credentials | None) -> RegistryError:
    """The sentence of a 401 whose challenges ask for no scheme Spyglass speaks
    (Negotiate, NTLM), or that has none: no credentials were sent, so none were refused,
    and logging in would not send them either."""
    names = list(dict.fromkeys(
        name if len(name := c.written or c.scheme) <= 40 else f"{name[:39]}…"
        for c in challenges))
    sent = "; the credentials given were not sent" if given is not None else ""
    if names:
        asked = " or ".join(names[:_SCHEMES_NAMED]) + (
            f" (and {len(names) - _SCHEMES_NAMED} more)" if len(names) > _SCHEMES_NAMED
            else "")
        said = (f"{what} failed: the registry {host} asks for {asked} authentication, which "
                f"Spyglass does not support (only Basic and Bearer){detail}{sent}.")
    else:
        said = (f"{what} failed: the registry {host} answered 401 Unauthorized without "
                f"saying how to authenticate (no Basic or Bearer challenge in "
                f"WWW-Authenticate){detail}{sent}.")
    return RegistryError(said, status=401)


def account_of(credentials: Credentials | None) -> str:
    """``the account "carol" (saved in the keyring)``: whose credentials were sent and
    where they came from, for a refusal (the user may have more than one account, in
    more than one place); ``the account used`` when that is not known."""
    if credentials is None:
        return "the account used"
    name = credentials.username
    who = f'the account "{name}"' if name and name != TOKEN_USERNAME else "the account"
    if credentials.source == REGISTRY_TOKEN_SOURCE and credentials.file_entry is None:
        return "the account of the Bearer token given"
    where = given_where(credentials)
    return f"{who} ({where})" if where else who


TAGS_NAMED: Final = 10
"""The most tags a manifest not found by its tag names of its repository's."""


def missing_tag_sentence(what: str, host: str, repository: str, tag: str,
                         tags: list[str] | None, *, whole: bool) -> str:
    """The sentence of a manifest that ``what`` (``Reading the manifest HOST/REPO:TAG``)
    did not find by its ``tag``, once the repository's tags were asked for (the
    registry's "no such image" says neither which part was wrong nor what exists):
    ``tags``, the first page of them (``whole``: all of them), or None where the
    registry has no such repository (``NAME_UNKNOWN``). That, or an empty list, is said
    as no repository, or one without tags: some registries answer the same for both
    (distribution answers ``NAME_UNKNOWN`` for a repository of untagged images, as
    ``spyglass tags`` says). The tags named are the first :data:`TAGS_NAMED` in natural
    order, then how many more."""
    if not tags:
        return (f"{what} failed: the registry {host} has no repository {repository}, or "
                "it has no tags (some registries answer the same for both).")
    named = [visible(name) for name in naturally_sorted(tags)[:TAGS_NAMED]]
    more = len(tags) - len(named)
    if not whole:
        its = f"its tags include {', '.join(named)} and more"
    elif more:
        its = f"its tags are {', '.join(named)} and {more} more"
    elif len(named) == 1:
        its = f"its only tag is {named[0]}"
    else:
        its = f"its tags are {', '.join(named[:-1])} and {named[-1]}"
    return (f'{what} failed: the repository {host}/{repository} has no tag "{visible(tag)}"; '
            f"{its}.")


DERIVED_TAG_ABSENT: Final = (ImageNotFound, AccessDenied)
"""What a look-up of a tag Spyglass derives from a digest (cosign's ``sha256-<hex>.sig``,
the referrers tag schema's ``sha256-<hex>``) takes for "there is none": JFrog
Artifactory's virtual repositories answer 403 for a tag they do not have
(go-containerregistry#1691, cosign#2973). A real lack of permission still shows
at the next read or write of the image itself."""
