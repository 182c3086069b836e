"""A token server for registry tests, per the Docker registry token specification.

Distribution's ``auth.token`` mode sends clients to a token server: a 401
``WWW-Authenticate: Bearer realm="…/token",service="…",scope="…"`` names it,
the client asks it for a token for the scopes it needs, and presents that
token as ``Authorization: Bearer …``. This module is such a server, on
``127.0.0.1`` in a thread (stdlib ``http.server``), with both of the
specification's endpoints on ``/token``:

- ``GET /token?service=S&scope=repository:NAME:pull,push[&scope=…][&account=A]
  [&offline_token=true&client_id=C]``, optionally with Basic credentials, answers
  ``{"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}``
  (distribution ``docs/spec/auth/token.md``); each ``scope`` holds one scope, and
  a value holding several (space-separated) is a 400, as docker_auth answers it;
- ``POST /token`` with a form: ``grant_type=password`` (``username``,
  ``password``) or ``grant_type=refresh_token`` (``refresh_token``), plus
  ``service``, ``client_id`` (required), ``scope`` (space-separated) and
  ``access_type=offline`` for a refresh token, answers ``{"access_token",
  "scope", "expires_in", "issued_at"[, "refresh_token"]}``
  (``docs/spec/auth/oauth.md``).

Who gets what is a table of accounts (:data:`ANONYMOUS` for no credentials) to
repository-name patterns (``fnmatch``) to actions; a token carries the
requested actions that the table allows, and nothing else: asking for more is
not an error, the registry refuses what the token lacks. Wrong credentials are
a 401; so is asking anonymously when anonymous tokens are off.

The tokens are JWTs signed with ES256 (a P-256 key; the raw ``r || s``
signature JWS wants, not DER), built by hand. What distribution 2.8 checks
(``registry/auth/token/token.go``, ``accesscontroller.go``):

- ``iss`` equals its ``auth.token.issuer``; ``aud`` equals its ``service``, and
  must be a JSON *string* (2.8 has no audience lists: an array is a malformed
  token);
- ``exp`` and ``nbf`` with 60 s of leeway either way: a token stays good for
  a minute past ``exp``, so to see one refused make it with
  :meth:`TokenServer.issue_token` and an old ``issued_at``;
- a non-empty signature by a trusted key, found from the header by the first
  of: ``x5c`` (base64 DER certificates, leaf first, verified up to a
  certificate of ``rootcertbundle``, any extended key usage), ``jwk`` (a
  public JWK: trusted if its key is that of a bundle certificate, or if it
  carries its own ``x5c`` chain), ``kid`` (a libtrust key ID, see
  :func:`libtrust_key_id`, of a bundle certificate's key); ``alg`` must fit the
  key (ES256 for P-256);
- ``access``: ``[{"type", "name", "actions"}]``, every action the request needs
  must be listed; otherwise 401 with ``error="insufficient_scope"``.

:attr:`TokenServer.root_cert_bundle` holds the signing certificate *and* the CA
that issued it, so every one of the three header forms (:attr:`key_header`)
is trusted.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import hashlib
import http.server
import json
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.registry import CertificateAuthority

__all__ = [
    "ANONYMOUS",
    "KEY_HEADERS",
    "TEST_ACL",
    "TokenRequest",
    "TokenServer",
    "b64url_decode",
    "b64url_encode",
    "decode_jwt",
    "libtrust_key_id",
    "parse_scope",
]

#: The account name of requests without credentials (and the ``sub`` of their tokens).
ANONYMOUS = ""

#: How a token's header names its signing key.
KEY_HEADERS = ("x5c", "jwk", "kid")

#: An access table: account -> {pattern -> actions}. A pattern without ":"
#: matches repository names; ``TYPE:NAME`` patterns match other resource
#: types (``registry:catalog``). The action ``*`` grants every action asked for.
Acl = Mapping[str, Mapping[str, Iterable[str]]]


#: The fixtures' access table: alice may do anything (catalog included), bob
#: and anonymous clients may only pull ``public/*``.
TEST_ACL: dict[str, dict[str, list[str]]] = {
    "alice": {"*": ["*"], "registry:catalog": ["*"]},
    "bob": {"public/*": ["pull"]},
    ANONYMOUS: {"public/*": ["pull"]},
}


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as JWS wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, unverified (for tests to look inside tokens)."""
    header, claims, _signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(claims))


def libtrust_key_id(public_key: Any) -> str:
    """The key ID docker/libtrust gives a public key, as distribution 2.8 looks ``kid`` up.

    SHA-256 of the DER SubjectPublicKeyInfo, its first 240 bits in base32,
    in twelve groups of four joined by ``:`` (``ABCD:EFGH:…``).
    """
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """``repository:team/app:pull,push`` -> ``("repository", "team/app", ["pull", "push"])``.

    The name may hold colons (a registry host with a port); the type may carry
    a class in parentheses (``repository(plugin)``), which is dropped. None for
    a scope that is not ``TYPE:NAME:ACTIONS`` (one holding whitespace is several).
    """
    if any(character.isspace() for character in scope):
        return None
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and kind and name):
        return None
    kind = kind.split("(", 1)[0]
    return kind, name, [action for action in actions.split(",") if action]


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server received, and what it answered."""

    method: str
    path: str
    #: Query and form parameters (passwords left out).
    params: dict[str, list[str]]
    #: The account the request authenticated as (ANONYMOUS for none); None if refused.
    account: str | None
    grant_type: str | None
    scopes: tuple[str, ...]
    status: int
    #: The ``access`` claim of the issued token (empty when none was issued).
    granted: tuple[dict[str, Any], ...] = ()
    token_issued: bool = False
    refresh_token_used: bool = False
    refresh_token_issued: bool = False
    basic_auth: bool = False


@dataclass
class _Refresh:
    account: str
    client_id: str


@dataclass
class _Failure:
    remaining: int
    status: int
    body: bytes = field(default=b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}')


class TokenServer:
    """A registry token server on ``127.0.0.1``; see the module docstring for the protocol.

    Args:
        users: account -> password, checked on Basic auth and password grants.
        acl: account -> {pattern -> actions}; :data:`ANONYMOUS` for no credentials.
        allow_anonymous: whether requests without credentials get tokens at all.
        service: the audience (``aud``) of the tokens; the registry's ``service``.
        issuer: ``iss`` of the tokens; the registry's ``issuer``.
        expires_in: lifetime of tokens in seconds (``exp`` and ``expires_in``).
        key_header: how tokens name their key: ``"x5c"``, ``"jwk"`` or ``"kid"``.
        require_client_id: refuse POSTs without ``client_id`` (the OAuth spec's rule).
        allow_post: answer POST at all; False makes it a 404, as on servers that
            only know the GET flow (clients then fall back to GET).
        directory: where the certificates go; a temporary folder if not given.

    All of these may be changed on a running server (tests shorten
    ``expires_in``, switch ``key_header``, ``allow_anonymous``...).
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        acl: Acl | None = None,
        allow_anonymous: bool = True,
        service: str = "spyglass-test-registry",
        issuer: str = "spyglass-test-token-server",
        expires_in: int = 300,
        key_header: str = "x5c",
        require_client_id: bool = True,
        allow_post: bool = True,
        directory: Path | None = None,
    ) -> None:
        if key_header not in KEY_HEADERS:
            raise ValueError(f"key_header {key_header!r} is not one of {KEY_HEADERS}")
        self.users = dict(users or {})
        self.acl: dict[str, dict[str, set[str]]] = {
            account: {pattern: set(actions) for pattern, actions in rules.items()}
            for account, rules in (acl or {}).items()
        }
        self.allow_anonymous = allow_anonymous
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.key_header = key_header
        self.require_client_id = require_client_id
        self.allow_post = allow_post

        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="spyglass-tokens-"))
        self.ca = CertificateAuthority(self.directory, name="Spyglass Test Token CA")
        self.signing = self.ca.issue("token-signer", server=False)
        self.root_cert_bundle = self.directory / "rootcertbundle.pem"
        self.root_cert_bundle.write_bytes(
            self.signing.cert_path.read_bytes() + self.ca.cert_path.read_bytes()
        )
        self.key_id = libtrust_key_id(self.signing.key.public_key())

        self.answering = threading.Event()
        """Set while requests are answered; cleared, each request is taken and held, and
        answered once it is set again (a token server that hangs), or never, once the
        server stopped."""
        self.answering.set()
        self._lock = threading.Lock()
        self._log: list[TokenRequest] = []
        self._refresh: dict[str, _Refresh] = {}
        self._failure: _Failure | None = None
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- names

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the token server has not been started, so it has no port yet")
        return f"http://127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        """The token endpoint: what the registry's challenge names as ``realm``."""
        return f"{self.url}/token"

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"<TokenServer {self.issuer} for {self.service} {where}>"

    # -- life cycle

    def start(self) -> TokenServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"token_server": self})
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port or 0), handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"token-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        self.answering.set()  # (requests held end unanswered, as a server stopping ends them)
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what tests look at and change

    @property
    def requests(self) -> list[TokenRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return sum(1 for entry in self._log if entry.token_issued)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token issued so far: using one is then ``invalid_grant``."""
        with self._lock:
            self._refresh.clear()

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next *count* requests with *status* (and log them)."""
        with self._lock:
            self._failure = _Failure(remaining=count, status=status)

    def grant(self, account: str, scopes: Iterable[str]) -> list[dict[str, Any]]:
        """The ``access`` claim *account* gets for *scopes* under the current table."""
        rules = self.acl.get(account, {})
        access: list[dict[str, Any]] = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            kind, name, actions = parsed
            subject = name if kind == "repository" else f"{kind}:{name}"
            allowed: set[str] = set()
            for pattern, pattern_actions in rules.items():
                is_typed = ":" in pattern
                if is_typed != (kind != "repository"):
                    continue
                if fnmatch.fnmatchcase(subject, pattern):
                    allowed |= pattern_actions
            granted = [a for a in actions if "*" in allowed or a in allowed]
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        return access

    def issue_token(
        self,
        account: str,
        access: list[dict[str, Any]],
        *,
        lifetime: int | None = None,
        issued_at: float | None = None,
        audience: Any = None,
        issuer: str | None = None,
        key_header: str | None = None,
    ) -> str:
        """Sign a token for *account* with *access*; the arguments bend it for tests.

        *issued_at* (Unix time) sets ``iat`` and ``nbf``; ``exp`` is that plus
        *lifetime* (default :attr:`expires_in`). *audience* and *issuer*
        replace ``aud`` and ``iss``.
        """
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        now = int(time.time() if issued_at is None else issued_at)
        lifetime = self.expires_in if lifetime is None else lifetime
        header: dict[str, Any] = {"typ": "JWT", "alg": "ES256"}
        form = key_header or self.key_header
        if form == "x5c":
            header["x5c"] = [base64.b64encode(self.signing.der).decode("ascii")]
        elif form == "kid":
            header["kid"] = self.key_id
        elif form == "jwk":
            numbers = self.signing.key.public_key().public_numbers()
            header["jwk"] = {
                "kty": "EC",
                "crv": "P-256",
                "kid": self.key_id,
                "x": b64url_encode(numbers.x.to_bytes(32, "big")),
                "y": b64url_encode(numbers.y.to_bytes(32, "big")),
            }
        else:
            raise ValueError(f"key_header {form!r} is not one of {KEY_HEADERS}")
        claims = {
            "iss": issuer or self.issuer,
            "sub": account,
            "aud": self.service if audience is None else audience,
            "exp": now + lifetime,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        signing_input = (
            b64url_encode(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self.signing.key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + b64url_encode(signature)

    # -- the protocol (called from the handler's threads)

    def _authenticate(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        # as bytes: compare_digest takes ASCII text alone (a TypeError for "pässwörd")
        return expected is not None and secrets.compare_digest(
            expected.encode(), password.encode())

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            failure = self._failure
            if failure is None:
                return None
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failure = None
            return failure

    def _record(self, entry: TokenRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def _new_refresh_token(self, account: str, client_id: str) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[token] = _Refresh(account=account, client_id=client_id)
        return token

    def _lookup_refresh_token(self, token: str) -> _Refresh | None:
        with self._lock:
            return self._refresh.get(token)


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Handler(http.server.BaseHTTPRequestHandler):
    token_server: TokenServer  # set on the subclass TokenServer.start makes
    protocol_version = "HTTP/1.1"
    server_version = "SpyglassTestTokenServer/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the server keeps its own log; stderr stays quiet

    # -- plumbing

    def _send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _basic_credentials(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except ValueError:
            return ("", "\0invalid")
        return user, password

    def _path_and_query(self) -> tuple[str, dict[str, list[str]]]:
        parsed = urllib.parse.urlsplit(self.path)
        return parsed.path, urllib.parse.parse_qs(parsed.query, keep_blank_values=True)

    def _fail_if_asked(self, path: str, params: dict[str, list[str]]) -> bool:
        failure = self.token_server._take_failure()
        if failure is None:
            return False
        self.token_server._record(
            TokenRequest(self.command, path, params, None, None, (), failure.status)
        )
        self._send_json(failure.status, failure.body)
        return True

    # -- GET: the token spec

    def do_GET(self) -> None:
        server = self.token_server
        server.answering.wait()
        if server._httpd is None:  # held until the server stopped: no answer comes
            return
        path, params = self._path_and_query()
        if self._fail_if_asked(path, params):
            return
        # the spec: one scope per ``scope`` parameter, repeated for several; a value
        # holding several (space-separated, as the challenge names them) is refused,
        # as docker_auth refuses it
        scopes = tuple(params.get("scope", []))

        def record(status: int, account: str | None, **extra: Any) -> None:
            server._record(
                TokenRequest(
                    "GET",
                    path,
                    params,
                    account,
                    None,
                    scopes,
                    status,
                    basic_auth=creds is not None,
                    **extra,
                )
            )

        creds = self._basic_credentials()
        if path != "/token":
            record(404, None)
            self._send_json(404, {"errors": [{"code": "NOT_FOUND", "message": path}]})
            return
        challenge = {"WWW-Authenticate": f'Basic realm="{server.realm}"'}
        if creds is not None:
            if not server._authenticate(*creds):
                record(401, None)
                self._send_json(
                    401,
                    {
                        "errors": [
                            {"code": "UNAUTHORIZED", "message": "incorrect username or password"}
                        ]
                    },
                    challenge,
                )
                return
            account = creds[0]
        elif server.allow_anonymous:
            account = ANONYMOUS
        else:
            record(401, None)
            self._send_json(
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                challenge,
            )
            return
        if bad := [scope for scope in scopes if parse_scope(scope) is None]:
            record(400, account)
            self._send_json(
                400,
                {"errors": [{"code": "INVALID_REQUEST", "message": f"invalid scope {bad[0]!r}"}]},
            )
            return
        service = params.get("service", [""])[0]
        if service != server.service:
            record(400, account)
            self._send_json(
                400,
                {
                    "errors": [
                        {"code": "INVALID_REQUEST", "message": f"unknown service {service!r}"}
                    ]
                },
            )
            return

        access = server.grant(account, scopes)
        token = server.issue_token(account, access)
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": server.expires_in,
            "issued_at": _now_rfc3339(),
        }
        offline = params.get("offline_token", ["false"])[0].lower() == "true"
        client_id = params.get("client_id", [""])[0]
        refresh_issued = False
        if offline and account != ANONYMOUS:
            if not client_id:
                record(400, account)
                self._send_json(
                    400,
                    {
                        "errors": [
                            {"code": "INVALID_REQUEST", "message": "offline_token needs client_id"}
                        ]
                    },
                )
                return
            body["refresh_token"] = server._new_refresh_token(account, client_id)
            refresh_issued = True
        record(
            200,
            account,
            granted=tuple(access),
            token_issued=True,
            refresh_token_issued=refresh_issued,
        )
        self._send_json(200, body)

    # -- POST: the OAuth2 flavour

    def do_POST(self) -> None:
        server = self.token_server
        server.answering.wait()
        if server._httpd is None:  # held until the server stopped: no answer comes
            return
        path, _query = self._path_and_query()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        form = urllib.parse.parse_qs(raw, keep_blank_values=True)
        logged = {key: value for key, value in form.items() if key != "password"}
        if self._fail_if_asked(path, logged):
            return

        def value(name: str) -> str:
            return form.get(name, [""])[0]

        grant_type = value("grant_type") or None
        scopes = tuple(scope for scope in value("scope").split(" ") if scope)

        def answer(status: int, body: Any, account: str | None = None, **extra: Any) -> None:
            server._record(
                TokenRequest("POST", path, logged, account, grant_type, scopes, status, **extra)
            )
            self._send_json(status, body)

        def oauth_error(status: int, error: str, description: str) -> None:
            answer(status, {"error": error, "error_description": description})

        if path != "/token" or not server.allow_post:
            answer(404, {"errors": [{"code": "NOT_FOUND", "message": f"POST {path}"}]})
            return
        if server.require_client_id and not value("client_id"):
            oauth_error(400, "invalid_request", "client_id is required")
            return
        if value("service") != server.service:
            oauth_error(400, "invalid_request", f"unknown service {value('service')!r}")
            return

        refresh_used = False
        if grant_type == "password":
            if not server._authenticate(value("username"), value("password")):
                oauth_error(401, "invalid_grant", "incorrect username or password")
                return
            account = value("username")
        elif grant_type == "refresh_token":
            known = server._lookup_refresh_token(value("refresh_token"))
            if known is None:
                oauth_error(400, "invalid_grant", "unknown or revoked refresh token")
                return
            account = known.account
            refresh_used = True
        else:
            oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
            return

        access = server.grant(account, scopes)
        token = server.issue_token(account, access)
        body: dict[str, Any] = {
            "access_token": token,
            "scope": " ".join(scopes),
            "expires_in": server.expires_in,
            "issued_at": _now_rfc3339(),
        }
        refresh_issued = False
        if value("access_type") == "offline":
            if grant_type == "refresh_token":
                body["refresh_token"] = value("refresh_token")
            else:
                body["refresh_token"] = server._new_refresh_token(account, value("client_id"))
                refresh_issued = True
        answer(
            200,
            body,
            account,
            granted=tuple(access),
            token_issued=True,
            refresh_token_used=refresh_used,
            refresh_token_issued=refresh_issued,
        )
