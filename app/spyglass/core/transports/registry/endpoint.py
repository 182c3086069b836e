"""Reaching one registry host: :class:`RegistryEndpoint`, the part of
:class:`~spyglass.core.transports.registry.client.RegistryClient` that finds how to
talk to the registry and sends its requests.

Its connections come from the process-wide pool of
:mod:`spyglass.core.transports.registry.connections`.

Every request goes through :meth:`RegistryEndpoint.send`, which authenticates
(:class:`~spyglass.core.transports.registry.auth.RegistryAuth`), retries
connection errors, 429 and 502/503/504 on idempotent requests with exponential
backoff (honouring ``Retry-After``), and turns failures into sentences (what a
failure's exception says is read by :mod:`spyglass.core.transports.registry.failures`).
A registry, or a repository in it, that ``registries.conf`` blocks is refused before
any request goes out (:meth:`RegistryEndpoint.ping` and :meth:`RegistryEndpoint.url`,
which every request passes first; see :mod:`spyglass.core.registries_conf`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final, cast

import httpx

from spyglass.core.cancel import CancelToken, check
from spyglass.core.credentials import Credentials, authorization_secrets
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    Cancelled,
    ConnectionFailed,
    InvalidDigest,
    NotARegistry,
    ProxyRefused,
    RateLimited,
    RegistryError,
    SpyglassError,
    TLSFailed,
    TokenRenewed,
    TooLarge,
    TransportError,
    Unanswered,
    Unreachable,
    describe_connection_error,
)
from spyglass.core.proxies import (
    Proxy,
    bypass_advice,
    connect_status,
    unused_proxy_note,
)
from spyglass.core.registries_conf import check_not_blocked
from spyglass.core.retry import (
    CONNECT_ONCE,
    MAX_RETRY_AFTER,
    NAME_UNKNOWN_RETRIES,
    NOTED_WAIT,
    RETRY_STATUSES,
    WAIT_LISTENER,
    Wait,
    add_to_remark,
    add_to_sentence,
    answered_after,
    backoff,
    name_unknown,
    numbered,
    pause,
    request_tries,
    retry_notes,
    worth_retrying,
)
from spyglass.core.transports.registry.abortable import (
    abortable,
    body_budget,
    raise_if_cancelled,
)
from spyglass.core.transports.registry.advice import check_sentence
from spyglass.core.transports.registry.auth import (
    SCOPE_EXTENSION,
    SCOPE_ONLY_EXTENSION,
    TOKEN_RENEWED,
    RegistryAuth,
    held_back_why,
    parse_challenges,
    read_capped,
    repository_of,
)
from spyglass.core.transports.registry.connections import (
    ATTEMPTS,
    POOL,
    HTTPPool,
    close_reusing,
)
from spyglass.core.transports.registry.errors import (
    MAX_ERROR_BODY,
    RateLimit,
    error_for,
    retry_after,
)
from spyglass.core.transports.registry.failures import (
    answer_may_be_lost,
    answered_nothing,
    ca_would_help,
    client_certificate_refused,
    is_tls_failure,
    mentions,
    plain_http_answered,
    unsendable,
    verify_failed,
    verify_reason,
)
from spyglass.core.transports.registry.hosts import (
    api_host,
    host_cert_folder,
    is_loopback,
    tls_settings,
)
from spyglass.core.transports.registry.uploads import SpareUpload
from spyglass.core.units import human_size

PING_TIMEOUT: Final = httpx.Timeout(20.0, connect=15.0)
"""For ``GET /v2/``, which a registry answers at once: a hung server is given up on
sooner than a big blob's slow read would be."""
IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
"""Methods retried on failure — unless the request's body is a stream, which is sent once.
A ``POST`` without a body is retried too: it opens an upload session (or mounts a blob),
and one opened twice costs the registry an unused session, which it purges."""
ANSWER_LOST: Final = "spyglass.answer_lost"
"""A response extension (True) for the answer to a request asked again after an earlier
try's answer was lost (see :attr:`~spyglass.core.errors.SpyglassError.answer_lost`)."""

PLAIN_AGAIN_TIMEOUT: Final = httpx.Timeout(5.0)
"""How long a registry that answered plain HTTP before is given to answer so again at
once, before the usual ping (:data:`PING_TIMEOUT`, TLS first) decides: one that now hangs
cost a whole ping's wait more."""

_PLAIN_HOSTS: set[str] = set()
"""The registries (``api_host``) found to answer plain HTTP only, in this process: the
endpoints made afterwards (one per repository) ask them in plain HTTP first, where each
tried TLS first, a connection and a failed handshake for each repository of a sync."""
_PLAIN_LOCK: Final = threading.Lock()


def _has_port(host: str) -> bool:
    """Whether ``host`` names its port (``127.0.0.1:5000``, ``[::1]:5000``): then plain HTTP
    and TLS reach one server, where a host alone means port 80 for one, 443 for the other."""
    return bool(re.search(r":\d+$", host))


class RegistryEndpoint:
    """One registry host, reached: the constructor and state of
    :class:`~spyglass.core.transports.registry.client.RegistryClient` (see it for the
    arguments), the ping that finds how to talk to the registry, and :meth:`send`,
    which every request of the client goes through. Thread-safe."""

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | Callable[[], Credentials | None] | None = None,
        insecure: bool = False,
        plain_loopback: bool = True,
        cert_dir: Path | None = None,
        retry_times: int = 3,
        pool: HTTPPool = POOL,
    ) -> None:
        self.host = host
        self.api_host = api_host(host)
        self.insecure = insecure
        self.plain_loopback = plain_loopback
        self.retry_times = retry_times
        self._pool = pool
        self._tls = tls_settings(host, verify=not insecure, cert_dir=cert_dir)
        self._cert_dir = cert_dir
        self._http = pool.client(self._tls)
        # named by the host people know (docker.io): its messages and errors say it
        self.auth = RegistryAuth(host, credentials, self._http, proxy_for=pool.proxy_for,
                                 tls_verified=not insecure)
        self._base: str | None = None
        self._lock = threading.Lock()
        self.rate_limit: RateLimit | None = None
        self._no_head = False
        """The registry answered a manifest ``HEAD`` 405, or 404 again and again to ones
        that ``GET`` then found (older Nexus): manifests are looked up with ``GET``."""
        self._head_belied = 0
        """How many manifest ``HEAD`` 404s a ``GET`` found the manifest of."""
        self._spare_uploads: dict[str, list[SpareUpload]] = {}
        """Per repository, the sessions :meth:`RegistryPusher.check_push` and failed mounts
        opened, kept for the next :meth:`RegistryPusher.upload_blob` (see
        :meth:`RegistryPusher.drop_spare_upload`)."""

    def __repr__(self) -> str:
        return f"RegistryClient({self.host!r}, insecure={self.insecure})"

    @property
    def credentials(self) -> Credentials | None:
        return self.auth.credentials

    @property
    def plain_http(self) -> bool:
        """Whether the registry is reached over plain HTTP (known once it was pinged: an
        insecure registry, or a loopback one without TLS)."""
        with self._lock:
            return self._base is not None and self._base.startswith("http://")

    # ---------------------------------------------------------------- connection

    def ping(self, *, cancel: CancelToken | None = None) -> str:
        """Find how to talk to the registry (https or http) and how it authenticates.

        Returns the base URL. Raises :class:`TLSFailed`, :class:`ConnectionFailed`
        or :class:`NotARegistry` with a sentence; :class:`RegistryBlocked`, before any
        request, for a registry that ``registries.conf`` blocks.
        """
        check_not_blocked(self.host)  # every request goes through here, or url(), first
        return self._ping(cancel)

    def _plain_again(self, cancel: CancelToken | None) -> str | None:
        """The plain-HTTP base of a registry that answered in plain HTTP before (to another
        endpoint of this process), if it still does at once; else None, and it is
        forgotten: the ping then tries TLS first, as for any registry."""
        base = f"http://{self.api_host}"
        try:
            response = self._send_raw("GET", f"{base}/v2/", cancel=cancel, what="Connecting",
                                      retries=0, timeout=PLAIN_AGAIN_TIMEOUT,
                                      retry_timeouts=False)
        except (TLSFailed, ConnectionFailed):
            answered = False
        else:
            try:
                self._check_ping(response, base)
                answered = True
            except (NotARegistry, RegistryError):
                answered = False
            finally:
                close_reusing(response, cancel)
        if not answered:
            with _PLAIN_LOCK:
                _PLAIN_HOSTS.discard(self.api_host)
            return None
        with self._lock:
            self._base = base
        return base

    def _ping(self, cancel: CancelToken | None) -> str:
        with self._lock:
            if self._base is not None:
                return self._base
        schemes = ["https"]
        if self.insecure or (self.plain_loopback and is_loopback(self.api_host)):
            schemes.append("http")
            with _PLAIN_LOCK:  # (a host without a port has two: 80 for HTTP, 443 for TLS)
                plain_before = self.api_host in _PLAIN_HOSTS and _has_port(self.api_host)
            if plain_before and (base := self._plain_again(cancel)) is not None:
                return base
        first_error: SpyglassError | None = None
        answered: SpyglassError | None = None  # what a server that answered said
        proxied: ConnectionFailed | None = None  # a proxy that could not be reached
        silent: list[Proxy | None] = []  # attempts taken but never answered, and through
        plain = False  # the TLS hello was answered in plain HTTP: a server is there
        tries = 1  # the most any scheme was tried (the last one is retried)
        for scheme in schemes:
            base = f"{scheme}://{self.api_host}"
            try:
                # a registry answers /v2/ at once: one that takes the connection and
                # never answers is not waited for again and again (a refused
                # connection, or one never made, is still retried)
                response = self._send_raw(
                    "GET", f"{base}/v2/", cancel=cancel, what="Connecting",
                    retries=0 if scheme != schemes[-1] else None,
                    timeout=PING_TIMEOUT, retry_timeouts=False,
                )
            except ProxyRefused:
                raise  # whatever the scheme: the proxy is what stands in the way
            except (TLSFailed, ConnectionFailed) as exc:
                first_error = first_error or exc
                tries = max(tries, exc.attempts)
                if exc.__cause__ is not None and answered_nothing(exc.__cause__):
                    silent.append(self._pool.proxy_for(httpx.URL(f"{base}/v2/")))
                plain = plain or (isinstance(exc, TLSFailed) and plain_http_answered(exc))
                if isinstance(exc, ConnectionFailed) and \
                        self._pool.proxy_for(httpx.URL(f"{base}/v2/")) is not None:
                    proxied = proxied or exc
                continue
            try:
                self._check_ping(response, base)
            except (NotARegistry, RegistryError) as exc:  # no registry, or one busy now
                answered = answered or exc
                first_error = first_error or exc
                continue
            finally:
                close_reusing(response, cancel)
            with self._lock:
                self._base = base
            with _PLAIN_LOCK:
                (_PLAIN_HOSTS.add if scheme == "http" else _PLAIN_HOSTS.discard)(
                    self.api_host)
            return base
        assert first_error is not None
        # a TLS hello answered in plain HTTP, then an HTTP request never answered: that
        # server is the one that hangs, whatever its handshake said
        if len(silent) == len(schemes) or (plain and len(silent) == len(schemes) - 1 > 0):
            raise self._silent(silent, "a plain-HTTP server" if plain else "a server")
        # a server that answered (not a registry) says more than a failed handshake,
        # but not more than a certificate that failed verification, or a client
        # certificate the server asked for (a TLS registry answers plain HTTP with a 400);
        # a proxy that cannot be reached is the cause of its scheme's failure, more
        # than the other scheme's direct attempt
        decisive = isinstance(first_error, TLSFailed) and (
            mentions(first_error, "CERTIFICATE_VERIFY_FAILED")
            or client_certificate_refused(first_error))
        if not decisive and answered is not None:
            raise answered
        for failed in (proxied, first_error):  # (the one said stands for every try)
            if isinstance(failed, ConnectionFailed):
                failed.attempts = max(failed.attempts, tries)
        if not decisive and proxied is not None:
            raise proxied
        raise first_error

    def _silent(self, through: list[Proxy | None], server: str) -> Unanswered:
        """The sentence for a registry whose every attempt was taken and never answered,
        each directly or ``through`` a proxy: the proxy is named, it is what took it."""
        proxies = " and ".join(dict.fromkeys(p.describe() for p in through if p is not None))
        bypass = bypass_advice(httpx.URL(f"https://{self.api_host}/").host)
        if not proxies:
            return Unanswered(
                f"Cannot reach the registry {self.host}: {server} at {self.api_host} "
                "takes connections but answers nothing (it timed out); it may be hung, or "
                "not a registry.")
        if None in through:
            return Unanswered(
                f"Cannot reach the registry {self.host}: {server} at {self.api_host} "
                f"(reached directly) and {proxies} take connections but answer nothing "
                f"(they timed out); check the proxy, or {bypass}.")
        return Unanswered(
            f"Cannot reach the registry {self.host} through {proxies}: the proxy took the "
            f"connection but nothing came back (it timed out); check the proxy, or "
            f"{bypass}.")

    def check_reachable(self, *, cancel: CancelToken | None = None) -> None:
        """Ask the registry's ``/v2/`` once more, whatever was found before: raises the
        sentence of a registry that does not answer (now), or answers that it cannot
        (a 5xx); any other answer, a 401 included, is a registry there."""
        base = self.ping(cancel=cancel)
        response = self._send_raw("GET", f"{base}/v2/", what=f"Reaching {self.host}",
                                  cancel=cancel, retries=0, timeout=PING_TIMEOUT)
        close_reusing(response, cancel)
        if response.status_code >= 500:
            raise error_for(response.status_code, response.headers, b"",
                            what=f"Reaching {self.host}", host=self.host)

    def check_credentials(self, *, cancel: CancelToken | None = None) -> bool:
        """Ask the registry whether the credentials work (``GET /v2/``, authenticated).

        Returns False when the registry asks for no credentials at all (its ``/v2/``
        answers anyone): then they were not checked. One that asks for them in a scheme
        Spyglass does not speak (Negotiate) raises :class:`RegistryError` saying so. Raises
        :class:`AuthenticationFailed` when they do not work, and when they were kept from
        a token server on plain HTTP (:attr:`RegistryAuth.plain_realm`) or from another
        server the token server redirected to (:attr:`RegistryAuth.redirected`): an
        anonymous token answers ``/v2/``, but that says nothing of them.

        ``/v2/`` is asked with :data:`PING_TIMEOUT`, as a registry answers it at once, and
        so is the token it needs: a token server that takes the request and never
        answers is given up on as soon as a registry that does so is.
        """
        self.ping(cancel=cancel)
        if self.auth.scheme is None:
            # asked of /v2/ itself: one that answers anyone asks for none; a 401 asking
            # for a scheme Spyglass does not speak (Negotiate) is said, its credentials
            # not sent (error_for)
            response = self.send("GET", "/v2/", what=f"Logging in to {self.host}",
                                 cancel=cancel, timeout=PING_TIMEOUT)
            close_reusing(response, cancel)
            return self.auth.scheme is not None  # (a challenge now: they were sent)
        try:
            response = self.send("GET", "/v2/", what=f"Logging in to {self.host}",
                                 cancel=cancel, timeout=PING_TIMEOUT)
        except (AuthenticationFailed, AccessDenied):
            if self.auth.plain_realm is None and self.auth.redirected is None:
                raise
            raise self._held_back() from None
        close_reusing(response, cancel)
        if self.auth.plain_realm is not None or self.auth.redirected is not None:
            raise self._held_back()
        if self.auth.kept_token_refused:  # an anonymous token answered: the token did not
            said = (f"Logging in to {self.host} failed: the registry {self.host} refused "
                    "the Bearer token given.")
            raise AuthenticationFailed(
                f"{said} Check the token.", status=401, host=self.host,
                credentials_sent=True, refusal=said, to_check="the token",
                on_command_line=f"{said} {check_sentence(self.auth.sent, self.host)}")
        return True

    def _held_back(self) -> AuthenticationFailed:
        """The sentence of credentials :meth:`check_credentials` could not check: kept from
        the token server on plain HTTP of a registry reached over verified TLS, or from the
        other server its token server sent the request for a token on to."""
        held = self.auth.held_back
        assert held is not None
        why, _what_to_do = held_back_why(held, self.host, self.auth.plain_realm,
                                         self.auth.redirected)
        return AuthenticationFailed(
            f"The credentials for {self.host} could not be checked. {why}", status=401,
            host=self.host, credentials_sent=True)

    def _check_ping(self, response: httpx.Response, base: str) -> None:
        version = response.headers.get("docker-distribution-api-version", "")
        if response.status_code == 401:
            self.auth.learn(parse_challenges(response.headers.get_list("www-authenticate")))
            return
        if response.status_code == 200 and (version.startswith("registry/2") or not version):
            return
        attempts = response.extensions.get(ATTEMPTS, 1)
        tried = f" (asked {attempts} times)" if attempts > 1 else ""
        if response.status_code == 429:
            wait = retry_after(response.headers)
            raise RateLimited(
                f"{base}/v2/ answered HTTP 429 Too Many Requests{tried}: the registry "
                f"{self.host} is limiting requests"
                + (f"; it asks to wait {wait:.0f} s" if wait is not None else "")
                + ". Try again later.", retry_after=wait)
        proxy = self._pool.proxy_for(httpx.URL(f"{base}/v2/"))
        if proxy is not None and response.status_code in GATEWAY_STATUSES:
            # the proxy's own answer, or the registry's passed on: plain HTTP cannot tell
            raise RegistryError(
                f"{base}/v2/ answered HTTP {response.status_code} "
                f"{response.reason_phrase}{tried} through {proxy.describe()}: the proxy "
                f"may not reach {self.api_host}; "
                f"{bypass_advice(httpx.URL(base).host)}, or try again later.",
                status=response.status_code,
            )
        if response.status_code in RETRY_STATUSES:  # the server is there, but busy or down
            raise RegistryError(
                f"{base}/v2/ answered HTTP {response.status_code} "
                f"{response.reason_phrase}{tried}: the registry {self.host} is not taking "
                "requests now (overloaded, down for maintenance, or a proxy in front of it "
                "cannot reach it). Try again later.",
                status=response.status_code,
            )
        raise NotARegistry(
            f"{base}/v2/ answered HTTP {response.status_code}: {self.host} does not look like "
            "a container registry (no distribution API there)."
        )

    def _send_raw(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        what: str,
        cancel: CancelToken | None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
        follow_redirects: bool = False,
        content: bytes | Iterable[bytes | memoryview] | None = None,
        retries: int | None = None,
        timeout: httpx.Timeout | None = None,
        scope: str | None = None,
        retry_timeouts: bool = True,
        scope_only: bool = False,
    ) -> httpx.Response:
        """One request with retries; returns the (streamed, unread) response.

        A streamed body (an iterable rather than bytes) is consumed by the
        first attempt, so such a request is never retried; nor is a timeout
        without ``retry_timeouts``. ``scope_only``: a 401 to the token of ``scope``
        is the answer (:data:`SCOPE_ONLY_EXTENSION`).
        """
        extensions: dict[str, object] = {SCOPE_EXTENSION: scope} if scope else {}
        if scope_only:
            extensions[SCOPE_ONLY_EXTENSION] = True
        attempt = 0
        lost = False  # an earlier try's answer may have been lost (see ANSWER_LOST)
        # (a blob transfer's request: what the blob has left of them at most)
        allowed = request_tries(self.retry_times if retries is None else retries)
        if content is not None and not isinstance(content, bytes):
            allowed = 0
        # a mirror asked first that has not answered yet: no connection, no second try
        with self._lock:
            connect_once = CONNECT_ONCE.get() and self._base is None
        while True:
            check(cancel)
            request = self._http.build_request(
                method, url, params=params, headers=headers,
                # httpcore sends any bytes-like piece; views save a copy of each
                content=cast("bytes | Iterable[bytes] | None", content),
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                extensions=extensions or None,
            )
            try:
                with abortable(cancel):
                    response = self._http.send(
                        request,
                        auth=self.auth if auth else None,
                        stream=True,
                        follow_redirects=follow_redirects,
                    )
            except SpyglassError as exc:  # from the auth flow (a token request)
                if not isinstance(exc, Cancelled):
                    raise_if_cancelled(cancel, exc)
                # the request itself was not sent (or was refused, with a 401): asking
                # again is safe whatever it is, as for the registry's own 503
                cause = exc.__cause__
                if attempt < allowed and _token_retryable(exc, retry_timeouts):
                    attempt += 1
                    asked = exc.retry_after if isinstance(exc, RateLimited) else None
                    who = self._token_server(cause)
                    if isinstance(cause, httpx.TimeoutException):
                        self._note_timeout(what, cause, who, attempt, allowed)
                    self._wait_before(
                        attempt, allowed, asked, what, cancel, who=who,
                        unreached=describe_connection_error(cause)
                        if isinstance(cause, httpx.ConnectError) else "")
                    continue
                if attempt:
                    exc.attempts = attempt + 1
                    if "times)" not in exc.message and isinstance(
                            cause, httpx.TimeoutException) and exc.message.endswith(
                                "for the whole timeout)."):
                        # a token server that said nothing: its sentence ends with that
                        # remark, which the tries join (as the registry's own does); one
                        # that sent its answer too slowly ends with a measurement the
                        # count is no part of ("(61 B in 61 s, …) (asked 2 times).")
                        add_to_remark(exc, f"; asked {attempt + 1} times")
                    elif "times)" not in exc.message:
                        add_to_sentence(exc, f" (asked {attempt + 1} times)")
                if lost:  # (an earlier try may have done the work all the same)
                    exc.answer_lost = True
                raise
            except httpx.TooManyRedirects as exc:
                raise TransportError(
                    f"{what}: {self.host} redirected the request more than "
                    f"{self._http.max_redirects} times.") from exc
            except httpx.UnsupportedProtocol as exc:
                # only a redirect leads off http(s): refused, not "cannot reach", not retried
                scheme = re.search(r"'([A-Za-z][A-Za-z0-9+.-]*)(?::/*)?'", str(exc))
                to = f"a {scheme.group(1)}: URL" if scheme else "a URL that is not http(s)"
                raise TransportError(
                    f"{what}: {self.host} redirected the request to {to}, which Spyglass "
                    "does not follow (only http and https); refused.") from exc
            except httpx.TransportError as exc:
                raise_if_cancelled(cancel, exc)
                if isinstance(exc, httpx.LocalProtocolError):
                    # the request itself cannot be written: asking again will not help,
                    # and the library's words quote the header (a token, a password)
                    raise TransportError(
                        f"{what}: the request to {self.host} could not be sent: "
                        f"{unsendable(exc)}") from exc
                refused = connect_status(exc)  # the proxy's answer to CONNECT, if any
                if refused == 407:
                    raise self._proxy_refused(request.url) from exc
                if refused in TUNNEL_REFUSALS:
                    raise self._tunnel_refused(request.url, str(exc)) from exc
                if is_tls_failure(exc):
                    raise self._tls_failed(exc, request.url) from exc
                proxy = self._pool.proxy_for(request.url)
                via = f" through {proxy.describe()}" if proxy is not None else ""
                # no connection made at all (refused, no route, no such name)
                never = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                with self._lock:  # (a host that never answered: a name unknown, a typo)
                    most = min(allowed, NAME_UNKNOWN_RETRIES) \
                        if self._base is None and name_unknown(exc) else allowed
                if _repeatable(method, content) and attempt < most and not (
                        never and connect_once) and (
                        retry_timeouts or not answered_nothing(exc)):
                    attempt += 1
                    lost = lost or answer_may_be_lost(exc)
                    if isinstance(exc, httpx.TimeoutException):
                        self._note_timeout(what, exc, f"the registry {self.host}{via}",
                                           attempt, allowed, request)
                    self._wait_before(
                        attempt, most, None, what, cancel,
                        who=f"the registry {self.host}{via}",
                        unreached=describe_connection_error(exc)
                        if isinstance(exc, httpx.ConnectError) else "")
                    continue
                times = f"; asked {attempt + 1} times" if attempt else ""
                if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" in str(exc):
                    # reached, then dropped without a word (not a peer answering garbage)
                    failed = ConnectionFailed(
                        f"{what}: the registry {self.host}{via} closed the connection "
                        f"without an answer ({describe_connection_error(exc)})."
                    )
                elif isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
                    # the connection was made and the request (some or all of it) sent:
                    # not "cannot reach", which sends one to look at the network
                    failed = ConnectionFailed(
                        f"{what}: the connection to the registry {self.host}{via} was lost "
                        f"before its answer came ({describe_connection_error(exc)}{times})."
                    )
                elif isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
                    # reached, then silent: not "cannot reach", which sends one to the
                    # network when the registry is the one that hangs
                    failed = ConnectionFailed(
                        f"{what}: the registry {self.host}{via} stopped answering (nothing "
                        f"{'came' if isinstance(exc, httpx.ReadTimeout) else 'was taken'} "
                        f"for the whole timeout{times})."
                    )
                elif refused in GATEWAY_STATUSES:
                    # the proxy's answer to CONNECT: it is the one that cannot reach it
                    failed = ConnectionFailed(
                        f"Cannot reach the registry {self.host}{via}: "
                        f"{describe_connection_error(exc)}{times}; the proxy could not "
                        f"reach {_authority(request.url)}: {bypass_advice(request.url.host)}."
                    )
                else:
                    # directly, with a proxy named where this scheme does not look for it
                    note = unused_proxy_note(request.url) if never and not via else ""
                    failed = (Unreachable if never else ConnectionFailed)(
                        f"Cannot reach the registry {self.host}{via}: "
                        f"{describe_connection_error(exc)}{note}."
                    )
                failed.attempts = attempt + 1
                failed.host = self.host
                raise failed from exc
            if response.status_code == 407:  # from a proxy of plain-HTTP requests
                response.close()
                raise self._proxy_refused(request.url)
            rate = RateLimit.from_headers(response.headers)
            if rate is not None:
                self.rate_limit = rate
            if (
                response.status_code in RETRY_STATUSES
                # a POST without a body (an upload session opened, a mount) that was
                # refused made nothing: asking again is safe
                and _repeatable(method, content)
                and attempt < allowed
            ):
                attempt += 1
                response.close()
                # a gateway's 502/504: the registry behind it may have done the work
                lost = lost or response.status_code in (502, 504)
                self._wait_before(attempt, allowed, retry_after(response.headers), what,
                                  cancel)
                continue
            if attempt:
                response.extensions[ATTEMPTS] = attempt + 1  # for the sentence of a failure
                answered_after(attempt)  # (a blob transfer's tries, spent all the same)
            if lost:
                response.extensions[ANSWER_LOST] = True
            return response

    @staticmethod
    def _note_timeout(what: str, exc: httpx.TimeoutException, who: str, attempt: int,
                      allowed: int, request: httpx.Request | None = None) -> None:
        """Say (:data:`~spyglass.core.retry.RETRY_NOTES`) that ``who``, the registry or
        its token server, let the request (``request``, else the timeout's own) go
        unanswered for its whole timeout, and that it is asked again: a minute of silence
        and then another is not taken for a Spyglass that hangs."""
        if request is None:
            try:
                request = exc.request
            except RuntimeError:  # (one raised without its request: no limit is said)
                request = None
        retry_notes.warning("%s: %s; asking again (attempt %d of %d)…", what,
                            _waited(exc, request, who), *numbered(attempt, allowed))

    def _token_server(self, cause: BaseException | None) -> str:
        """``the token server H:P of R`` (``… through the proxy …``) that a token request
        failed at with ``cause``; ``the token server of R`` where it does not tell."""
        try:
            url = cause.request.url if isinstance(cause, httpx.RequestError) else None
        except RuntimeError:  # (an error raised without its request)
            url = None
        if url is None:
            return f"the token server of {self.host}"
        proxy = self._pool.proxy_for(url)
        via = f" through {proxy.describe()}" if proxy is not None else ""
        server = f"{url.host}:{url.port}" if url.port else url.host
        return f"the token server {server} of {self.host}{via}"

    def _wait_before(self, attempt: int, allowed: int, asked: float | None, what: str,
                     cancel: CancelToken | None, *, who: str = "", unreached: str = "",
                     broke_off: str = "") -> None:
        """Wait before try ``attempt + 1`` of ``allowed + 1`` (as said: :func:`numbered`):
        what a ``Retry-After`` asked (``asked``, at most :data:`MAX_RETRY_AFTER`; a long
        wait is said, ``who`` asked for it: the registry unless told), else the backoff;
        one after ``who`` could not be reached at all (``unreached``: why, ``connection
        refused``) is said as it begins, so that the seconds of retries are not taken for
        a hung registry; so is one after the answer broke off (``broke_off``: how).
        Either is told to :data:`~spyglass.core.retry.WAIT_LISTENER`."""
        who = who or f"the registry {self.host}"
        wait = self._backoff(attempt) if asked is None else min(asked, MAX_RETRY_AFTER)
        told = Wait(who, wait, *numbered(attempt, allowed), asked=asked, unreached=unreached,
                    broke_off=broke_off)
        worth_telling = bool(unreached or broke_off) if asked is None else wait > 0
        if worth_telling and (unreached or broke_off or wait >= NOTED_WAIT):
            retry_notes.warning("%s: %s…", what, told.said)
        if worth_telling and (listener := WAIT_LISTENER.get()) is not None:
            listener(told)
        self._sleep(wait, cancel)

    def _proxy_refused(self, url: httpx.URL) -> ProxyRefused:
        """The sentence for a proxy that wants other credentials (407) than its URL has."""
        proxy = self._pool.proxy_for(url)
        if proxy is None:  # a proxy in front of the registry, not one of ours
            return ProxyRefused(
                f"Cannot reach the registry {self.host}: a proxy between answered 407 "
                "Proxy Authentication Required.")
        return ProxyRefused(f"Cannot reach the registry {self.host} through "
                            f"{proxy.describe()}: {proxy.credentials_refused()}.")

    def _tunnel_refused(self, url: httpx.URL, answer: str) -> ProxyRefused:
        """The sentence for a proxy that answered ``answer`` (``403 Forbidden``) to the
        CONNECT of an https:// request: its rules, which asking again does not change."""
        proxy = self._pool.proxy_for(url)
        via = f" through {proxy.describe()}" if proxy is not None else ""
        target = _authority(url)
        allowed = ("many proxies allow tunnels only to port 443. Ask for this port to be "
                   "allowed" if (url.port or 443) != 443
                   else "ask for tunnels to it to be allowed")
        return ProxyRefused(
            f"Cannot reach the registry {self.host}{via}: it refused to open a tunnel to "
            f"{target} ({answer.strip()}); {allowed}, or {bypass_advice(url.host)}.")

    def _tls_failed(self, exc: BaseException, url: httpx.URL) -> TLSFailed:
        """The sentence for a failed handshake; the command line's names its flag."""
        reason = describe_connection_error(exc) if isinstance(exc, httpx.TransportError) else exc
        through = ""
        proxy = self._pool.proxy_for(url)
        if proxy is not None and proxy.url.scheme == "https" and not self.insecure \
                and verify_failed(exc) and \
                (why := self._pool.proxy_certificate_refused(proxy, self._tls)) is not None:
            return self._proxy_untrusted(proxy, why)
        if proxy is not None and proxy.url.scheme == "https":  # whose certificate, then?
            through = f"; through {proxy.describe()}, whose certificate is checked too"
            reason = f"{reason}{through}"
        if client_certificate_refused(exc):  # whether verified or not: it wants ours
            return self._client_certificate_wanted(reason)
        if self.insecure:
            return TLSFailed(f"The TLS connection to {self.api_host} failed ({reason}).")
        # OpenSSL's reason, trimmed, then the proxy's part (the trim works at the end)
        verified = verify_reason(str(reason).removesuffix(through)) + through
        if not verify_failed(exc):
            said = (f"The TLS connection to {self.api_host} failed ({reason}). If the registry "
                    "speaks plain HTTP, allow it to be insecure")
        elif not ca_would_help(exc):  # expired, another host's: no CA file cures that
            said = (f"The TLS certificate of {self.api_host} could not be verified "
                    f"({verified}). Check the registry's name and its certificate, or "
                    "allow this registry to be insecure")
        else:
            in_use = host_cert_folder(self.host)  # putting it elsewhere would hide that one
            where = (f"a *.crt file in {self._cert_dir}" if self._cert_dir is not None
                     else f"{in_use}/ca.crt" if in_use is not None
                     else f"~/.config/containers/certs.d/{self.host}/ca.crt")
            said = (f"The TLS certificate of {self.api_host} could not be verified "
                    f"({verified}). Put its CA certificate in {where}")
            elsewhere = ("" if self._cert_dir is not None
                         else " (or a folder named by --cert-dir DIR)")
            return TLSFailed(
                f"{said}, or allow this registry to be insecure.",
                on_command_line=f"{said}{elsewhere}, or allow this registry to be insecure "
                "(--tls-verify=false).",
                untrusted=not (proxy is not None and proxy.url.scheme == "https"))
        return TLSFailed(f"{said}.", on_command_line=f"{said} (--tls-verify=false).")

    @staticmethod
    def _proxy_untrusted(proxy: Proxy, why: str) -> TLSFailed:
        """The sentence for an https:// proxy whose own certificate is not trusted: its CA
        belongs in the system's trusted certificates (it stands in front of every
        registry), not in one registry's certificate folder."""
        said = (f"The TLS certificate of {proxy.describe()} could not be verified ({why}). "
                "Add the CA certificate that issued it to the system's trusted "
                "certificates (update-ca-certificates, or a bundle named by SSL_CERT_FILE), "
                "or allow this registry to be insecure")
        return TLSFailed(f"{said}.", on_command_line=f"{said} (--tls-verify=false).")

    def _client_certificate_wanted(self, reason: object) -> TLSFailed:
        """The sentence for a server that ended the handshake over the client certificate:
        none was sent, or it does not take the one sent."""
        sent = self._tls.client_cert
        folder = self._cert_dir or host_cert_folder(self.host)
        where = (f"{folder}" if folder is not None
                 else f"~/.config/containers/certs.d/{self.host}")
        if sent is None:
            said = (f"The registry {self.api_host} asks for a client certificate, and none "
                    f"was given ({reason}). Put it in {where} as client.cert, with its key "
                    "as client.key")
            return TLSFailed(f"{said}.", on_command_line=f"{said} (or in a folder named by "
                             "--cert-dir DIR)." if self._cert_dir is None else f"{said}.")
        return TLSFailed(
            f"The registry {self.api_host} does not accept the client certificate "
            f"{sent[0]} ({reason}); check that a CA the registry trusts issued it, and that "
            "it has not expired.")

    @staticmethod
    def _backoff(attempt: int) -> float:
        return backoff(attempt)

    @staticmethod
    def _sleep(seconds: float, cancel: CancelToken | None) -> None:
        pause(seconds, cancel)

    def url(self, path: str, *, cancel: CancelToken | None = None) -> str:
        """The full URL of an API path such as ``/v2/_catalog`` (the first call pings the
        registry, which ``cancel`` can interrupt). A path in a repository that
        ``registries.conf`` blocks is refused before the registry is pinged."""
        repository = repository_of(path)
        if repository is None:
            return self.ping(cancel=cancel) + path
        # the longest prefix decides, as in containers/image: a namespace unblocked
        # under a blocked host is read
        check_not_blocked(self.host, repository)
        return self._ping(cancel) + path

    def send(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        *,
        what: str,
        cancel: CancelToken | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        follow_redirects: bool = False,
        content: bytes | Iterable[bytes | memoryview] | None = None,
        kind: str | None = None,
        retries: int | None = None,
        scope: str | None = None,
        ok_elsewhere: tuple[int, ...] = (),
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """An authenticated request; raises the mapped error unless the status is in ``ok``
        (or in ``ok_elsewhere`` and answered by another server a redirect led to: the
        caller makes of it what it can).

        The response is streamed: the caller reads (or closes) it. ``kind``
        (``"manifest"``, ``"blob"``) says what a 404 without an error code means.
        ``content`` may be an iterable of bytes, streamed as it is consumed (then
        give ``Content-Length`` in ``headers`` where known); such a request is
        sent once, never retried, and cannot be replayed after a 401, so its
        scope must be authenticated by an earlier request; a 401 to a token the
        registry took before raises :class:`TokenRenewed` (a new one is cached: worth
        doing the whole again). ``retries`` (None: the
        client's ``retry_times``) caps the retries of this request. ``scope`` is the
        token scope to ask for, where the path does not tell it (an upload session's
        ``Location``) or does not tell all of it (a mount: the repository mounted from).
        ``timeout`` (None: the client's) is the request's, and that of the token request
        it needs.
        """
        url = path_or_url if isinstance(path_or_url, httpx.URL) or "://" in path_or_url \
            else self.url(path_or_url, cancel=cancel)
        response = self._send_raw(
            method, url, what=what, cancel=cancel, params=params, headers=headers,
            auth=True, follow_redirects=follow_redirects, content=content, retries=retries,
            scope=scope, timeout=timeout,
        )
        if response.status_code in ok:
            return response
        elsewhere = response.request.url
        redirected = elsewhere.netloc != httpx.URL(self._ping(cancel)).netloc
        if redirected and response.status_code in ok_elsewhere:
            return response
        try:
            with abortable(cancel, budget=body_budget()):
                body = read_capped(response, MAX_ERROR_BODY) if method != "HEAD" else b""
        except httpx.RequestError:
            body = b""  # the status says enough; a broken (or dripped) error body adds nothing
        finally:
            response.close()
        check(cancel)  # an error body cut short by a cancel: the cancel is the news
        if response.status_code in (401, 403) and redirected:
            # refused by the server a redirect led to (storage whose signed URL expired or
            # was signed for another method): not the registry's refusal, nor a matter of
            # credentials, which are never sent there
            raise AccessDenied(
                f"{what} failed: {self.host} sent the request on to {elsewhere.host}, which "
                f"refused it (HTTP {response.status_code}).", status=response.status_code)
        error = error_for(
            response.status_code, response.headers, body, what=what, host=self.host, kind=kind,
            anonymous=self.auth.anonymous, attempts=response.extensions.get(ATTEMPTS, 1),
            credentials=self.auth.sent,
            keyring_locked=self.auth.keyring_locked if self.auth.anonymous else None,
            keyring_failed=self.auth.keyring_failed if self.auth.anonymous else "",
            held_back=self.auth.held_back, plain_realm=self.auth.plain_realm,
            unasked=self.auth.scheme is None, unsent=self.auth.unasked,
            redirected=self.auth.redirected, kept_token_refused=self.auth.kept_token_refused,
            secrets=(*self.auth.secrets(), *(  # what this request (and its redirects) carried
                secret for sent in (*response.history, response)
                for secret in authorization_secrets(sent.request.headers.get("authorization")))),
        )
        if response.extensions.get(TOKEN_RENEWED):  # a streamed body: not sent again here
            raise TokenRenewed(
                f"{what} failed: the registry {self.host} no longer takes the token it took "
                "until now (it expired or was revoked there); a new one was fetched.",
                refusal=error)
        error.attempts = response.extensions.get(ATTEMPTS, 1)
        error.answer_lost = bool(response.extensions.get(ANSWER_LOST))
        if isinstance(error, RegistryError):
            length = response.request.headers.get("content-length", "")
            error.body_length = int(length) if length.isdigit() else None
        raise error

    def _read_whole(
        self, response: httpx.Response, *, limit: int, what: str,
        cancel: CancelToken | None, kind: str | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """A small answer's body (:meth:`read_body`); one cut off after its headers is
        asked for again (the same request), as a 503 there is, within ``retry_times``.
        Returns the response the body came with."""
        tries = response.extensions.get(ATTEMPTS, 1)
        while True:
            try:
                return response, self.read_body(response, limit=limit, what=what,
                                                cancel=cancel)
            except ConnectionFailed as broken:  # answered, then cut off
                if tries > self.retry_times:
                    broken.attempts = tries
                    if tries > 1 and "times)" not in broken.message:
                        add_to_remark(broken, f"; asked {tries} times")
                    raise
                # said as every other retry is (the command line's note, the window's
                # notice): four minutes of silence were taken for a hung Spyglass
                how = broken.message.removeprefix(what).strip().rstrip(".")
                self._wait_before(tries, self.retry_times, None, what, cancel,
                                  broke_off=how)
                # the registry's own URL, not a redirect's target (where our credentials
                # would go): it redirects again
                asked = (response.history[0] if response.history else response).request
                response = self.send(
                    asked.method, str(asked.url), what=what, cancel=cancel,
                    headers={"Accept": asked.headers["accept"]}
                    if "accept" in asked.headers else None,
                    follow_redirects=True, kind=kind)
                tries += response.extensions.get(ATTEMPTS, 1)

    def read_body(
        self, response: httpx.Response, *, limit: int, what: str,
        cancel: CancelToken | None = None,
    ) -> bytes:
        """Read a small response whole, refusing more than ``limit`` bytes; cancelling
        ``cancel`` ends a read the registry stalls (:class:`Cancelled`); one it sends too
        slowly ends under :func:`~.abortable.body_budget` (:class:`ConnectionFailed`)."""
        budget = body_budget()
        try:
            length = response.headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                raise TooLarge(
                    f"{what}: the registry {self.host} sends {int(length)} bytes, more than "
                    f"the {limit // 1024} KiB accepted."
                )
            # a manifest, a page, a list of referrers: no server drips it out for days
            with abortable(cancel, budget=budget):
                body = read_capped(response, limit + 1)
        except httpx.RequestError as exc:  # a Content-Encoding that does not decode too
            raise_if_cancelled(cancel, exc)
            if budget.dripped:  # (none at all in a whole timeout: it stopped answering)
                raise ConnectionFailed(
                    f"{what} broke off: the registry {self.host} sent it too slowly "
                    f"{budget.too_slow()}.") from exc
            came = response.num_bytes_downloaded
            when = f"after {human_size(came)}" if came else "before any of it came"
            if isinstance(exc, httpx.ReadTimeout):  # "the registry H sent nothing for 60 s"
                why = _waited(exc, response.request, f"the registry {self.host}")
                why = why.replace(" sent nothing", " sent nothing more", 1) if came else why
            else:
                why = describe_connection_error(exc)
            raise ConnectionFailed(f"{what} broke off {when} ({why}).") from exc
        finally:
            response.close()
        if len(body) > limit:
            raise TooLarge(
                f"{what}: the registry {self.host} sends more than the {limit // 1024} KiB "
                "accepted."
            )
        return body


def _repeatable(method: str, content: object) -> bool:
    """Whether a request may be sent again after a failure (:data:`IDEMPOTENT`)."""
    return method in IDEMPOTENT or (method == "POST" and content is None)


TUNNEL_REFUSALS: Final = (400, 403, 405)
"""A proxy's answers to CONNECT that refuse the tunnel by its rules (not a passing fault)."""

GATEWAY_STATUSES: Final = (502, 503, 504)
"""A proxy's answers for a host it cannot reach (its own, or the registry's passed on)."""


def _authority(url: httpx.URL) -> str:
    """``host:port`` of ``url``, its default port named (``[::1]:443`` for IPv6)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _token_retryable(error: SpyglassError, retry_timeouts: bool) -> bool:
    """Whether the token request that failed with ``error`` (in the auth flow of a
    request) is worth asking again: what :func:`worth_retrying` says of the registry's
    own answers, but for a TLS failure, or a timeout where the request does not retry
    those."""
    cause = error.__cause__
    if cause is not None and (is_tls_failure(cause)
                              or (not retry_timeouts and answered_nothing(cause))):
        return False
    return worth_retrying(error)


def _waited(exc: httpx.TimeoutException, request: httpx.Request | None, who: str) -> str:
    """What ``who`` did not do in the time ``request`` gave it: ``the registry … sent
    nothing for 60 s`` (a read), ``took nothing`` (a write), ``was not reached`` (a
    connection); without the time where the request is not known."""
    limits = (request.extensions.get("timeout") if request is not None else None) or {}
    if isinstance(exc, httpx.ReadTimeout):
        did, limit = "sent nothing", limits.get("read")
    elif isinstance(exc, httpx.WriteTimeout):
        did, limit = "took nothing", limits.get("write")
    else:
        did, limit = "could not be reached", limits.get("connect")
    return f"{who} {did} for {limit:g} s" if isinstance(limit, int | float) else f"{who} {did}"


def digest_or_none(text: str) -> Digest | None:
    """The digest ``text`` names (a ``Docker-Content-Digest``, a reference), or None."""
    if ":" not in text:
        return None
    try:
        return Digest.parse(text)
    except InvalidDigest:
        return None


def ref_suffix(reference: str) -> str:
    """A tag or digest as it follows a repository's name: ``:TAG``, ``@DIGEST``."""
    return f"@{reference}" if ":" in reference else f":{reference}"
