"""Registry authentication: challenges, Bearer tokens and Basic auth, as an ``httpx.Auth`` flow.

The flow (httpx's ``Auth.auth_flow`` shape) attaches what it already has for
the request's scope — a cached Bearer token or Basic credentials — sends the
request, and on a 401 from the registry reads the ``WWW-Authenticate``
challenge, gets a token for the scope the challenge names, and sends the
request once more. Tokens are cached per scope and renewed shortly before
they expire, following the Docker registry token specification: ``token`` or
``access_token``, ``expires_in`` (60 s when absent), ``issued_at``; a refresh
token (Docker's identity token) is exchanged with the OAuth2 POST form,
falling back to GET when the server has no POST endpoint.

A 401 to a token the registry took before (expired or revoked on its side, sooner
than ``expires_in`` said), for a request whose body is a stream that cannot be sent
again, is handed back marked :data:`TOKEN_RENEWED`: a new token is cached by then, and
the caller starts what the request was part of again (an upload, from its ``POST``).

A token request is not retried here: its failure (a 429, a 502/503/504, a connection
broken or refused) ends the flow with the error, and the request that needed the token
is asked again, token and all, by the endpoint's retries, within the same
``--retry-times`` (a 401 or 403 of the token server is an answer).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import httpx

from spyglass.core import gojson
from spyglass.core.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ProxyRefused,
    RateLimited,
    RegistryError,
    describe_connection_error,
    locked_keyring_sentence,
    url_refusal,
)
from spyglass.core.proxies import Proxy, bypass_advice, connect_status
from spyglass.core.retry import waiting_on
from spyglass.core.text import quoted_value
from spyglass.core.transports.registry.abortable import abortable, body_budget
from spyglass.core.transports.registry.advice import (
    check_sentence,
    held_back_sentences,
    to_check,
)

if TYPE_CHECKING:
    from spyglass.core.credentials import Credentials

log = logging.getLogger(__name__)

MAX_TOKEN_BODY: Final = 1024 * 1024
"""Token responses are read to at most this many bytes (containers/image's limit)."""

DEFAULT_TOKEN_LIFETIME: Final = 60.0
"""Seconds a token lives when the server does not say (the token spec's default)."""

RENEW_MARGIN: Final = 10.0
"""Renew a token this many seconds before it expires."""

CLIENT_ID: Final = "spyglass"

MAX_TOKEN_REDIRECTS: Final = 10
"""A token request that carries credentials follows at most this many redirects."""

# greedy name, anchored endpoint: a repository may have a path component such as "tags"
_SCOPE_PATH = re.compile(
    r"^/v2/(?P<name>.+)/(?:manifests/[^/]+|blobs/(?:uploads/[^/]*|[^/]+)|tags/list"
    r"|referrers/[^/]+)/?$"
)


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: ``Bearer realm=…,service=…``."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    written: str = field(default="", compare=False, repr=False)
    """The scheme as the server wrote it (``Negotiate``, ``NTLM``), for a sentence."""


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN})\s*(?:,|$)')
_SCHEME = re.compile(rf"\s*,?\s*({_TOKEN})(?:\s+|$|(?=,))")


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` header values into challenges (several per header allowed)."""
    out: list[Challenge] = []
    for header in headers:
        pos = 0
        while pos < len(header):
            scheme_match = _SCHEME.match(header, pos)
            if not scheme_match:
                break
            pos = scheme_match.end()
            params: dict[str, str] = {}
            while pos < len(header):
                param = _PARAM.match(header, pos)
                if not param:
                    break
                value = param.group(2)
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                params[param.group(1).lower()] = value
                pos = param.end()
            out.append(Challenge(scheme_match.group(1).lower(), params,
                                 written=scheme_match.group(1)))
    return out


SCOPE_EXTENSION: Final = "spyglass.scope"
"""A request extension naming the token scope it needs, where its path does not tell
(an upload session's ``Location``) or does not tell all of it (a mount)."""

TOKEN_RENEWED: Final = "spyglass.token_renewed"
"""A response extension (True) on a 401 to a token the registry had taken before, for a
request whose body could not be sent again: a new token was fetched for its scope, so
sending the whole again may work (a refusal of a token the registry never took is an
authentication failure, as is a second 401 to a request that could be sent again)."""

SCOPE_ONLY_EXTENSION: Final = "spyglass.scope_only"
"""A request extension (True) for a request sent with its scope's token or not at all:
a 401 is its answer, not a challenge to fetch a token of the scope it names (the
``delete`` a cancel of an upload session is challenged for is rarely granted, and
asking for it costs the token server a request each time)."""


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def repository_of(path: str) -> str | None:
    """The repository an API path is about (``/v2/team/app/manifests/1.0`` →
    ``team/app``), or None for one about none (``/v2/``, ``/v2/_catalog``)."""
    match = _SCOPE_PATH.match(path)
    return match.group("name") if match else None


def scope_for(method: str, path: str) -> str | None:
    """The token scope a request needs, e.g. ``repository:library/alpine:pull``."""
    if path.rstrip("/") == "/v2/_catalog":
        return "registry:catalog:*"
    match = _SCOPE_PATH.match(path)
    if not match:
        return None
    if method in ("GET", "HEAD"):
        actions = "pull"
    elif method == "DELETE":
        actions = "delete"
    else:
        actions = "pull,push"
    return f"repository:{match.group('name')}:{actions}"


@dataclass
class _Token:
    value: str
    expires: float
    """When to stop using it (monotonic clock): its expiry less a renewal margin."""
    taken: bool = False
    """The registry answered a request that carried it with anything but a 401 (set by
    any thread that sees it: a flag that only goes up needs no lock)."""

    @property
    def header(self) -> str:
        return f"Bearer {self.value}"


def _basic(username: str, password: str) -> str:
    """The Basic header; a byte of the credentials that is not UTF-8 (a surrogate, as the
    command line's words are read: see ``spyglass.cli.common.argv_text``) is sent as it
    was given."""
    from spyglass.core.credentials import basic_secret

    return "Basic " + basic_secret(username, password)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _with_query(url: httpx.URL, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    """``url`` with ``params`` added to its query, each value's bytes as given (an
    ``account`` that is not UTF-8 text: see :func:`_basic`)."""
    added = urllib.parse.urlencode(
        [(key, value.encode("utf-8", "surrogateescape")) for key, value in params]).encode()
    return url.copy_with(query=url.query + b"&" + added if url.query else added)


class RegistryAuth(httpx.Auth):
    """Authentication for one registry host, shared by every request to it; thread-safe.

    ``credentials`` may be None (anonymous), the credentials themselves, or a
    function that finds them: it is called once, the first time the registry
    asks for credentials, so anonymous access never searches keyrings and
    auth files. When it raises :class:`~spyglass.core.credentials.keyring_store.KeyringUnavailable`
    for a locked keyring, requests go on without credentials (:attr:`keyring_locked`
    names it for the sentences of a refusal) and the function is called again once
    the keyring may be asked again: unlocked meanwhile, it answers. For one that failed,
    they go on without, for good (:attr:`keyring_failed` says it for a refusal).
    ``token_client`` sends token requests (the registry's own client, so it shares
    TLS settings); ``proxy_for`` says which proxy, if any, a token request goes
    through (the pool's :meth:`~spyglass.core.transports.registry.connections.HTTPPool.proxy_for`),
    for the sentences of a failure. ``tls_verified`` says the registry's certificate is
    verified (not ``--tls-verify=false``): a token server on plain HTTP that a registry
    reached over https names is then asked without the credentials (no Basic header, no
    refresh token), which would cross the network in clear text.
    """

    def __init__(
        self,
        host: str,
        credentials: Credentials | Callable[[], Credentials | None] | None,
        token_client: httpx.Client,
        *,
        proxy_for: Callable[[httpx.URL], Proxy | None] | None = None,
        tls_verified: bool = True,
    ) -> None:
        self.host = host
        self._tls_verified = tls_verified
        self._plain_realm: str | None = None
        self._redirected: str | None = None
        """Where a token server sent the request for a token on to, another server that
        was asked without the credentials (a clause); None while none was."""
        """The plain-HTTP token server (its realm) the credentials were held back from,
        the registry being reached over verified TLS; None while none was."""
        self._proxy_for = proxy_for
        self._lookup = credentials if callable(credentials) else None
        self._credentials = None if callable(credentials) else credentials
        self._http = token_client
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._challenge: Challenge | None = None
        self._refresh_token: str | None = None
        self._looked_up = self._lookup is None
        self._failed = ""
        """The sentence of a keyring that failed as the credentials were looked up, or of
        credentials kept that were missing (:class:`CredentialsMissing`)."""
        self._locked: tuple[str, float] | None = None
        """The locked keyring the last lookup met (described), and when it may be asked
        again (:func:`time.monotonic`)."""
        if self._credentials is not None:
            self._refresh_token = self._credentials.identity_token
        self.tokens_fetched = 0
        self._refresh_sent: dict[str, None] = {}
        """The refresh tokens sent to the token server (in the order sent)."""
        self._kept_token_refused = False
        """A token kept with no user name (:attr:`kept_token_refused`) was refused: the
        token server is asked anonymously since."""

    def __repr__(self) -> str:
        return f"RegistryAuth(host={self.host!r}, credentials={self._credentials!r})"

    @property
    def credentials(self) -> Credentials | None:
        """The credentials for this registry, looked up on first use."""
        if not self._looked_up:
            from spyglass.core.credentials import CredentialsMissing
            from spyglass.core.credentials.keyring_store import KeyringUnavailable

            assert self._lookup is not None
            with self._lock:
                locked = self._locked
            if locked is not None and time.monotonic() < locked[1]:
                return None  # not asked again before then: one unlock prompt, not many
            try:
                found = self._lookup()
            except KeyringUnavailable as exc:
                with self._lock:
                    if not exc.locked:  # not asked again: anonymous, and said if refused
                        self._failed = str(exc)
                        self._looked_up = True
                    else:
                        self._locked = (exc.keyring, exc.retry_at)
                return None
            except CredentialsMissing as exc:  # as a keyring that failed: said if refused
                with self._lock:
                    self._failed = str(exc)
                    self._looked_up = True
                return None
            with self._lock:
                self._locked = None
                if not self._looked_up:
                    self._credentials = found
                    if found is not None and found.identity_token:
                        self._refresh_token = found.identity_token
                    self._looked_up = True
        return self._credentials

    def secrets(self) -> tuple[str, ...]:
        """The secrets this registry's token server was sent that a request's own
        ``Authorization`` header does not show: the identity (refresh) tokens its tokens
        were got with, for :func:`~spyglass.core.credentials.scrubbed` (what the registry
        says back must not repeat them). Credentials never sent are not among them."""
        with self._lock:
            return tuple(self._refresh_sent)

    @property
    def keyring_failed(self) -> str:
        """The sentence of the keyring that failed as the credentials were looked up, where
        nothing else had any ("The keyring backend X failed (…), so it could not be asked for
        credentials for H."), or of kept credentials found missing
        (:class:`~spyglass.core.credentials.CredentialsMissing`); "" otherwise. Does not
        look them up."""
        with self._lock:
            return self._failed

    @property
    def keyring_locked(self) -> str | None:
        """The keyring (as a sentence names it) that was locked when the credentials were
        looked up, where nothing else had any: none were sent, perhaps for that alone.
        None otherwise. Does not look them up."""
        with self._lock:
            return self._locked[0] if self._locked is not None and not self._looked_up \
                else None

    @property
    def sent(self) -> Credentials | None:
        """The credentials sent (their ``source`` says where they came from), or None
        while none were sent. Does not look them up."""
        return None if self.anonymous else self._credentials

    @property
    def held_back(self) -> Credentials | None:
        """The credentials a token server was asked without: a user name with an empty
        password (skopeo asks so too; :attr:`anonymous` is True then), or credentials kept
        from a token server on plain HTTP (:attr:`plain_realm`) or from the other server
        a token server redirected to (:attr:`redirected`), for the sentences of a refusal;
        None otherwise. Does not look them up."""
        creds = self._credentials
        if creds is None or not self.anonymous:
            return None
        if self._plain_realm is not None or self._redirected is not None:
            return creds
        return creds if creds.username and not creds.password else None

    @property
    def plain_realm(self) -> str | None:
        """The token server on plain HTTP (its realm) that the credentials were kept from,
        the registry being reached over verified TLS (:attr:`held_back` are they); None
        while none was."""
        return self._plain_realm

    @property
    def redirected(self) -> str | None:
        """Where the token server sent the request for a token on to, another server that
        was asked without the credentials, as a clause (``the token server A of H sent
        the request for a token on to B (HTTP 307), another server``); None while none
        was."""
        return self._redirected

    @property
    def anonymous(self) -> bool:
        """True while no credentials were sent: none exist, the registry never asked for
        them (so they were never looked up), or not in a scheme Spyglass speaks (a 401 that
        asks for Negotiate, or names none), or a token server was asked without them
        (a user name with an empty password, as skopeo asks too). Asking does not look
        them up."""
        creds = self._credentials
        if not self._looked_up or creds is None:
            return True
        challenge = self._challenge
        if challenge is None:  # never asked for Basic or Bearer: nothing was sent
            return True
        if creds.registry_token:
            return False
        if self._plain_realm is not None or self._redirected is not None:
            return True
        return (challenge.scheme == "bearer"
                and not self._refresh_token and not (creds.username and creds.password))

    @property
    def unasked(self) -> Credentials | None:
        """Credentials given that were not sent because the registry has not asked for
        them in a scheme Spyglass speaks (Basic, Bearer): none, or Negotiate, say; None
        otherwise, or while they have not been looked up. Does not look them up."""
        return self._credentials if self._looked_up and self._challenge is None else None

    # ---------------------------------------------------------------- state

    def learn(self, challenges: list[Challenge]) -> None:
        """Remember how the registry wants to be authenticated (from the ``/v2/`` ping)."""
        for challenge in challenges:
            if challenge.scheme in ("bearer", "basic"):
                with self._lock:
                    self._challenge = challenge
                return

    @property
    def scheme(self) -> str | None:
        return self._challenge.scheme if self._challenge else None

    def _header(self, scope: str | None) -> tuple[str | None, _Token | None]:
        """The ``Authorization`` header for ``scope`` from what is at hand (Basic
        credentials, the token given, a cached token: returned as well), or None."""
        challenge = self._challenge
        if challenge is None:
            return None, None
        if challenge.scheme == "basic":
            creds = self.credentials
            return (_basic(creds.username, creds.password) if creds else None), None
        given = self._registry_token()
        if given:
            return f"Bearer {given}", None
        token = self._cached(scope or "")
        return (token.header, token) if token else (None, None)

    def _registry_token(self) -> str | None:
        """The Bearer token given to present as it is (``--registry-token``, or a token
        kept with no user name: :func:`~spyglass.core.credentials.token_alone`), if any;
        credentials to be looked up are, now (the registry asked for them). None once a
        kept token was refused (:attr:`kept_token_refused`)."""
        creds = self.credentials
        if creds is None or self._kept_token_refused:
            return None
        return creds.registry_token

    @property
    def kept_token_refused(self) -> bool:
        """Whether the registry refused a token kept in the keyring with no user name,
        presented as it is: its token server is asked anonymously since, as it was before
        such a token was presented (public repositories stay browsable), and a refusal
        still says the token was refused. Does not look credentials up."""
        return self._kept_token_refused

    def _fall_back_from(self, header: str | None, challenge: Challenge) -> bool:
        """Whether the refused ``header`` presented a token kept in the keyring with no
        user name (not ``--registry-token``, which is presented or refused as it is), and
        ``challenge`` does not say it merely lacks the scope (it is good elsewhere): then
        it is given up for anonymous tokens (:attr:`kept_token_refused`), said in the log
        (a refusal of an anonymous token says the token was refused)."""
        creds = self._credentials
        if header is None or creds is None or creds.source != "keyring" or creds.username \
                or not creds.registry_token \
                or challenge.params.get("error") == "insufficient_scope":
            return False
        with self._lock:
            self._kept_token_refused = True
        log.info("The registry %s refused the token kept in the keyring for it (with no "
                    "user name): asking its token server anonymously instead.", self.host)
        return True

    def _cached(self, scope: str) -> _Token | None:
        with self._lock:
            token = self._tokens.get(scope)
        if token and token.expires > time.monotonic():
            return token
        return None

    # ---------------------------------------------------------------- flow

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Override httpx.Auth.auth_flow."""
        scope = request.extensions.get(SCOPE_EXTENSION) or scope_for(
            request.method, request.url.path
        )
        header, token = self._header(scope)
        if header is None and self._challenge is not None and self._challenge.scheme == "bearer":
            token = self._bearer(self._challenge, scope, timeout=_timeout_of(request),
                                 guarded=self._guarded(request))
            header = token.header
        if header:
            request.headers["Authorization"] = header
        response = yield request
        if response.status_code != 401 and token is not None:
            token.taken = True
        if response.status_code != 401 or response.request.url.netloc != request.url.netloc:
            return  # fine, or a 401 from a host a redirect led to: not ours to answer
        if request.extensions.get(SCOPE_ONLY_EXTENSION) and header is not None:
            return
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        self.learn(challenges)
        challenge = self._challenge
        if challenge is None:
            return
        renewed: _Token | None = None
        if challenge.scheme == "basic":
            if self.credentials is None or header is not None:
                return  # no credentials, or the ones we sent were refused
            new_header, _ = self._header(scope)
        elif self._registry_token() and not self._fall_back_from(header, challenge):
            if header is not None:
                return  # the token given was refused: there is no other to ask for
            new_header, _ = self._header(scope)
        else:
            scope_only = request.extensions.get(SCOPE_ONLY_EXTENSION)
            wanted = scope if scope_only else challenge.params.get("scope") or scope
            self._forget(scope or "")
            renewed = self._bearer(
                challenge, wanted, store_as=scope, timeout=_timeout_of(request),
                guarded=self._guarded(request),
            )
            new_header = renewed.header
        if not new_header or new_header == header:
            return
        if not _replayable(request):
            if renewed is not None and token is not None and token.taken:
                # it was good until now (expired or revoked on the registry's side): the
                # caller sends the whole again, with the new one
                response.extensions[TOKEN_RENEWED] = True
            return
        request.headers["Authorization"] = new_header
        again = yield request
        if renewed is not None and again.status_code != 401:
            renewed.taken = True

    def _guarded(self, request: httpx.Request) -> bool:
        """Whether ``request`` goes to the registry over verified TLS: its credentials
        then never go to a token server over plain HTTP."""
        return self._tls_verified and request.url.scheme == "https"

    def _forget(self, scope: str) -> None:
        with self._lock:
            self._tokens.pop(scope, None)

    # ---------------------------------------------------------------- tokens

    def _bearer(
        self,
        challenge: Challenge,
        scope: str | None,
        *,
        store_as: str | None = None,
        timeout: httpx.Timeout | None = None,
        guarded: bool = False,
    ) -> _Token:
        """A new token for ``scope`` (cached as ``store_as``, else as ``scope``)."""
        realm = challenge.params.get("realm")
        if not realm:
            raise AuthenticationFailed(
                f"The registry {self.host} asks for a Bearer token but names no token "
                "server (realm) in its challenge.",
                status=401, host=self.host,
            )
        service = challenge.params.get("service")
        value, lifetime = self._fetch_token(realm, service, scope, timeout, guarded=guarded)
        # renew RENEW_MARGIN before expiry, but use a short-lived token at least half its life
        usable = lifetime - min(RENEW_MARGIN, lifetime / 2)
        token = _Token(value, time.monotonic() + usable)
        with self._lock:
            self._tokens[store_as if store_as is not None else scope or ""] = token
        return token

    def _fetch_token(
        self, realm: str, service: str | None, scope: str | None, timeout: httpx.Timeout | None,
        *, guarded: bool = False,
    ) -> tuple[str, float]:
        """A token for ``scope``, asked with the timeout of the request that needs it;
        ``guarded`` (the registry reached over verified TLS): a realm on plain HTTP is
        asked without credentials (:attr:`plain_realm`)."""
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL as exc:  # control characters, 100,000 characters long
            raise AuthenticationFailed(
                f"The registry {self.host} names a token server (realm) "
                f"{quoted_value(realm)} that is not a valid URL ({url_refusal(exc)}).",
                status=401, host=self.host,
            ) from exc
        if realm_url.scheme not in ("http", "https"):
            raise AuthenticationFailed(
                f"The registry {self.host} names a token server {quoted_value(realm)} that "
                "is not an http(s) URL.",
                status=401, host=self.host,
            )
        creds = self.credentials
        plain = guarded and realm_url.scheme == "http"
        with self._lock:  # (what a refusal says: kept from this realm, or sent)
            self._plain_realm = realm if plain and (
                self._refresh_token or (creds is not None and creds.password)) else None
            self._redirected = None
        if plain:
            creds = None  # asked anonymously: neither the password nor the refresh token
        elif self._refresh_token:
            form: dict[str, str | list[str]] = {
                "grant_type": "refresh_token", "refresh_token": self._refresh_token,
                "client_id": CLIENT_ID}
            if service:
                form["service"] = service
            if scope:
                form["scope"] = scope.split()  # one field per scope, as containers/image
            with self._lock:
                self._refresh_sent[self._refresh_token] = None
            response = self._send("POST", realm_url, data=form, timeout=timeout)
            if response.status not in (404, 405):
                return self._token_from(response, realm_url)
        params: list[tuple[str, str]] = []
        if service:
            params.append(("service", service))
        # the token spec: one ``scope`` parameter per scope (a challenge names several,
        # space-separated, for a mount: the repository mounted from as well)
        params.extend(("scope", one) for one in (scope or "").split())
        auth: tuple[str, str] | None = None
        if creds is not None and creds.username and creds.password:
            params.append(("account", creds.username))
            auth = (creds.username, creds.password)
        response = self._send("GET", realm_url, params=tuple(params), basic=auth, timeout=timeout)
        return self._token_from(response, realm_url)

    def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: tuple[tuple[str, str], ...] | None = None,
        data: dict[str, str | list[str]] | None = None,
        basic: tuple[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> _TokenResponse:
        """A token request's answer. One that carries credentials (``basic``, or a
        refresh token in ``data``) follows redirects with them only on its server (or
        from http to https on its host). A ``GET`` sent on to another server goes there
        without its ``Authorization`` header (as Go's client and httpx do), for what an
        anonymous token is good for; a ``POST`` of the refresh token is refused, naming
        where it pointed: its form is the credential, and a 307 or 308 would send it
        there again."""
        if params is not None and not all(_utf8(value) for _key, value in params):
            url, params = _with_query(url, params), None  # (httpx takes UTF-8 text alone)
        if basic is None and data is None:
            return self._send_once(method, url, params=params, timeout=timeout, follow=True)
        for _hop in range(MAX_TOKEN_REDIRECTS + 1):
            answer = self._send_once(method, url, params=params, data=data, basic=basic,
                                     timeout=timeout, follow=False)
            if answer.location is None:
                return answer
            target = url.join(answer.location)
            if not _same_origin(url, target) and (data is not None or basic is not None):
                server = f"{url.host}:{url.port}" if url.port else url.host
                pointed = f"{target.scheme}://{target.netloc.decode('ascii')}{target.path}"
                sent_on = (f"the token server {server} of {self.host} sent the request for "
                           f"a token on to {pointed} (HTTP {answer.status}), another server")
                if data is not None:
                    raise AuthenticationFailed(
                        f"{sent_on[0].upper()}{sent_on[1:]}; the request carried the "
                        "identity token, so it was not sent there.",
                        status=answer.status, host=self.host)
                with self._lock:  # (what a refusal says: they were not sent there)
                    self._redirected = sent_on
                basic = None  # on without the credentials, as Go's client goes on
            if answer.status in (301, 302, 303) and method == "POST":
                method, data = "GET", None  # as httpx and browsers follow them: no body
            url, params = target, None  # (the Location's query is the query now)
        server = f"{url.host}:{url.port}" if url.port else url.host
        raise RegistryError(f"The token server {server} of {self.host} redirected the request "
                            f"for a token more than {MAX_TOKEN_REDIRECTS} times.")

    def _send_once(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: tuple[tuple[str, str], ...] | None = None,
        data: dict[str, str | list[str]] | None = None,
        basic: tuple[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        follow: bool,
    ) -> _TokenResponse:
        """One token request (and the redirects httpx follows, with ``follow``); a
        redirect not followed is answered with its ``location``."""
        headers = {"Authorization": _basic(*basic)} if basic else {}
        budget = body_budget()  # a token's answer dripped out holds the request for no days
        server = f"{url.host}:{url.port}" if url.port else url.host
        try:
            # (a window's page that waits long says it waits on the token server)
            with waiting_on(f"the token server {server} of {self.host}"), self._http.stream(
                method, url, params=params, data=data, headers=headers, follow_redirects=follow,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            ) as response:
                if response.status_code == 407:  # from a proxy of plain-HTTP requests
                    raise self._proxy_refused(url)
                location = response.headers.get("location") \
                    if response.is_redirect and not follow else None
                with abortable(None, budget=budget):
                    body = read_capped(response, MAX_TOKEN_BODY + 1) if location is None \
                        else b""
                from spyglass.core.transports.registry.errors import retry_after

                return _TokenResponse(response.status_code, body,
                                      retry_after(response.headers), location)
        except httpx.InvalidURL as exc:  # a challenge's service or scope of 70,000 characters
            raise RegistryError(
                f"The registry {self.host} asked for a token from {server} with a request "
                f"that cannot be sent ({exc}); its challenge is not usable.") from exc
        except httpx.RequestError as exc:
            if connect_status(exc) == 407:
                raise self._proxy_refused(url) from exc
            via = self._via(url)
            if isinstance(exc, httpx.ReadTimeout) and budget.dripped:
                raise ConnectionFailed(
                    f"The token server {server} of {self.host}{via} sent its answer too "
                    f"slowly {budget.too_slow()}.") from exc
            if isinstance(exc, httpx.ReadTimeout):  # reached, then silent: not unreachable
                raise ConnectionFailed(
                    f"The token server {server} of {self.host}{via} stopped answering (no "
                    "token came for the whole timeout).") from exc
            raise ConnectionFailed(
                f"Cannot reach the token server {server} of {self.host}{via}: "
                f"{describe_connection_error(exc)}."
            ) from exc

    def _via(self, url: httpx.URL) -> str:
        """`` through the proxy H:P (VARIABLE)`` for a token request through a proxy."""
        proxy = self._proxy_for(url) if self._proxy_for is not None else None
        return f" through {proxy.describe()}" if proxy is not None else ""

    def _proxy_refused(self, url: httpx.URL) -> ProxyRefused:
        """The sentence for a proxy that wants other credentials (407) for a token request."""
        server = f"{url.host}:{url.port}" if url.port else url.host
        proxy = self._proxy_for(url) if self._proxy_for is not None else None
        if proxy is None:  # a proxy in front of the token server, not one of ours
            return ProxyRefused(
                f"Cannot reach the token server {server} of {self.host}: a proxy between "
                "answered 407 Proxy Authentication Required.")
        return ProxyRefused(
            f"Cannot reach the token server {server} of {self.host} through "
            f"{proxy.describe()}: {proxy.credentials_refused()}.")

    def _token_from(self, response: _TokenResponse, url: httpx.URL) -> tuple[str, float]:
        host = f"{url.host}:{url.port}" if url.port else url.host
        held = self.held_back if response.status in (401, 403) else None
        if response.status in (401, 403) and (self.credentials is None or held is not None):
            said = (f"The token server {host} of {self.host} refused an anonymous token "
                    f"(HTTP {response.status})")
            if held is not None:  # not the user name and password: they were not sent
                why, what_to_do = held_back_why(held, self.host, self.plain_realm,
                                                self.redirected)
                raise AuthenticationFailed(
                    f"{said}. {why}", status=response.status, host=self.host,
                    credentials_sent=True, refusal=f"{said}. {why}",
                    on_command_line=f"{said}. {what_to_do}")
            locked = self.keyring_locked
            if locked is not None:
                raise AuthenticationFailed(
                    f"{said}. {locked_keyring_sentence(locked)}", status=response.status,
                    host=self.host, keyring_locked=locked,
                    on_command_line=f"{said}. {locked_keyring_sentence(locked, creds=True)}")
            failed = self.keyring_failed  # why none were sent: that, not "log in"
            if failed:
                raise AuthenticationFailed(
                    f"{said}. {failed}", status=response.status, host=self.host,
                    refusal=f"{said}. {failed}")
            raise AuthenticationFailed(
                f"{said}; log in to {self.host} to read or write this.", status=response.status,
                host=self.host,
                on_command_line=f"{said}. Log in with spyglass login {self.host}, or pass "
                "--creds USER:PASSWORD.",
            )
        # where refused credentials came from says what to check (check_sentence: the
        # words of a Basic-auth registry's refusal)
        if response.status in (401, 403):
            who = f'as "{self.credentials.username}"' if self.credentials else "anonymously"
            said = (f"The token server {host} of {self.host} refused to log in {who} "
                    f"(HTTP {response.status})")
            entry = self.credentials.file_entry if self.credentials else None
            check = check_sentence(self.credentials, self.host)
            checked = to_check(self.credentials)  # (from where: the window says it)
            if entry is not None:  # read from an auth.json
                raise AuthenticationFailed(
                    f"{said}. {check}", status=response.status, host=self.host,
                    credentials_sent=True, refusal=f"{said}.", to_check=checked)
            raise AuthenticationFailed(
                f"{said}; check {checked}.", status=response.status,
                host=self.host, credentials_sent=self.credentials is not None,
                refusal=f"{said}.", on_command_line=f"{said}. {check}", to_check=checked,
            )
        if response.status == 400 and _oauth_error(response.body) == "invalid_grant":
            # OAuth2: the refresh (identity) token is unknown, expired or revoked
            said = (f"The token server {host} of {self.host} no longer accepts the stored "
                    "identity token (invalid_grant)")
            entry = self.credentials.file_entry if self.credentials else None
            if entry is not None:  # an auth.json's: a Spyglass login changes nothing there
                raise AuthenticationFailed(
                    f"{said}. Log in again with the tool that wrote {entry}, or remove the "
                    "entry.", status=response.status, host=self.host, credentials_sent=True,
                    refusal=f"{said}.")
            raise AuthenticationFailed(
                f"{said}; enter the password again.", status=response.status,
                host=self.host, credentials_sent=True,
                on_command_line=f"{said}. {check_sentence(self.credentials, self.host)}",
            )
        if response.status == 429:  # asked again, as the registry's own 429 is
            wait = response.retry_after
            raise RateLimited(
                f"The token server {host} of {self.host} is limiting requests (HTTP 429)"
                + (f"; it asks to wait {wait:.0f} s" if wait is not None else "")
                + ". Try again later.", retry_after=wait)
        if response.status in (502, 503, 504) and (via := self._via(url)):
            raise RegistryError(  # the proxy's own answer, maybe: plain HTTP cannot tell
                f"The token server {host} of {self.host} answered HTTP {response.status}"
                f"{via} instead of a token: the proxy may not reach {host}; "
                f"{bypass_advice(url.host)}, or try again later.",
                status=response.status)
        if response.status != 200:  # a 502/503/504 is asked again (the endpoint's retries)
            raise RegistryError(
                f"The token server {host} of {self.host} answered HTTP {response.status} "
                "instead of a token.",
                status=response.status,
            )
        if len(response.body) > MAX_TOKEN_BODY:
            raise RegistryError(
                f"The token server {host} of {self.host} answered with more than "
                f"{MAX_TOKEN_BODY // (1024 * 1024)} MiB, too large for a token response.")
        try:
            data = gojson.loads(response.body)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise RegistryError(
                f"The token server {host} of {self.host} answered with something that is not "
                "a JSON token response."
            )
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"The token server {host} of {self.host} sent no token.")
        refresh = data.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            self._refresh_token = refresh
        seconds = _lifetime(data.get("expires_in"))
        self.tokens_fetched += 1
        return token, seconds or DEFAULT_TOKEN_LIFETIME


def held_back_why(credentials: Credentials, host: str,
                  plain_realm: str | None, redirected: str | None = None) -> tuple[str, str]:
    """Why credentials were not sent (:attr:`RegistryAuth.held_back`), as
    :func:`~spyglass.core.transports.registry.advice.held_back_sentences` says it (the
    sentence, and the command line's): kept from ``plain_realm``, the token server on
    plain HTTP of a registry reached over verified TLS, where it is given; kept from the
    other server a token server sent the request for a token on to (``redirected``, a
    clause); else a user name with an empty password."""
    if plain_realm is None and redirected is not None:
        said = (f"The password for {host} was not sent there: {redirected}, which was "
                "asked without credentials, as credentials are never sent on to another "
                "server.")
        return said, said
    if plain_realm is None:
        return held_back_sentences(credentials, host)
    secret = "password" if credentials.password else "identity token"
    said = (f"The {secret} for {host} was not sent over plain HTTP: {host} is reached over "
            f"verified TLS, but names the token server {plain_realm}, which is not https, "
            "so it was asked without credentials; the registry's administrator has to "
            "serve it over https.")
    return said, said


def _lifetime(value: object) -> float | None:
    """A token's ``expires_in`` in seconds, or None when it says none that can be used
    (not a number, not positive, or not finite: 1e400 written as an integer is too
    large for a float)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


@dataclass(frozen=True)
class _TokenResponse:
    status: int
    body: bytes = field(repr=False)
    retry_after: float | None = None
    """What a ``Retry-After`` asked for (seconds), if any."""
    location: str | None = None
    """Where a redirect that was not followed pointed."""


def _same_origin(url: httpx.URL, target: httpx.URL) -> bool:
    """Whether a redirect from ``url`` to ``target`` stays on its server: the same scheme,
    host and port, or from http to https on the same host (at https's default port where
    http was at its own)."""
    if target.host != url.host:
        return False
    if target.scheme == url.scheme:
        return target.port == url.port
    return url.scheme == "http" and target.scheme == "https" and (
        target.port == url.port or (url.port is None and target.port is None))


def _oauth_error(body: bytes) -> str | None:
    """The ``error`` of an OAuth2 error answer (``{"error": "invalid_grant", …}``), or None."""
    try:
        data = gojson.loads(body)
    except json.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


def read_capped(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of a streamed response body; the rest is left unread."""
    parts: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        parts.append(chunk)
        total += len(chunk)
        if total >= limit:
            break
    return b"".join(parts)[:limit]


def _replayable(request: httpx.Request) -> bool:
    """True when the request's body can be sent again (no body, or bytes already in memory)."""
    try:
        request.content  # noqa: B018 - raises for a streaming body not yet read
    except httpx.RequestNotRead:
        return False
    return True


def _timeout_of(request: httpx.Request) -> httpx.Timeout | None:
    """The timeout ``request`` was sent with, for the token request it needs (a short
    courtesy request must not wait a minute for its token)."""
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        return httpx.Timeout(**timeout)
    return None
