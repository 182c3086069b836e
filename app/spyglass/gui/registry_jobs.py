"""What the window's registry jobs do: plain functions over the registry core.

Nothing here touches Qt, so every function can run on a worker thread; each
takes the job's cancel token and returns an immutable result for the GUI.
Also here, because the window and its tests share them: the natural sort key
of tags, the texts the copy actions put on the clipboard, and reading what a
person types as a registry host or a repository name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final, Literal

from spyglass.core.cancel import CancelToken, check
from spyglass.core.credentials import (
    SIGN_IN_DIALOGS,
    TOKEN_USERNAME,
    Credentials,
    CredentialsMissing,
    canonical_host,
)
from spyglass.core.credentials.keyring_store import capitalized
from spyglass.core.credentials.store import CredentialStore, SaveTarget
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    Cancelled,
    ConnectionFailed,
    InvalidReference,
    NotARegistry,
    RateLimited,
    SpyglassError,
    TLSFailed,
    password_spans,
    without_password,
)
from spyglass.core.natural import natural_key
from spyglass.core.reference import DockerReference, parse_docker_reference
from spyglass.core.registries_conf import insecure_for
from spyglass.core.settings import RegistrySettings
from spyglass.core.transports.registry import RegistryClient
from spyglass.core.transports.registry.advice import to_check
from spyglass.core.transports.registry.client import DEFAULT_PAGE_SIZE, NamePage
from spyglass.core.transports.registry.hosts import split_host
from spyglass.gui.formatting import home_shortened

log = logging.getLogger(__name__)

CATALOG_PAGE_SIZE: Final = DEFAULT_PAGE_SIZE
"""The repositories a catalog page asks for: the command line's 1000, the most distribution
gives (a registry that refuses it is asked without ``n``). A page of 200 came no sooner (a
late page of a catalog of 23,000 costs distribution as long for 200 names as for 1000, and
the first showed after 40 ms either way), and reading it all took 5 times as long."""
TAG_PAGE_SIZE: Final = DEFAULT_PAGE_SIZE
TAG_BATCH_SECONDS: Final = 0.3
"""How long a job reads further pages of a tag list before the window gets them, merged
(:meth:`Listing.next_pages`)."""
DIGEST_THREADS: Final = 4
"""HEAD requests one digest job runs at once."""

# --------------------------------------------------------------------------- names


def tag_reference(host: str, repository: str, tag: str) -> str:
    """``HOST/REPO:TAG``, as ``podman pull`` takes it."""
    return f"{host}/{repository}:{tag}"


def digest_reference(host: str, repository: str, digest: Digest | str) -> str:
    """``HOST/REPO@sha256:…``: exactly this image, whatever the tags do later."""
    return f"{host}/{repository}@{digest}"


PullTool = Literal["podman", "docker"]


def pull_command(
    tool: PullTool, host: str, repository: str, tag: str, *, insecure: bool = False
) -> str:
    """``podman pull HOST/REPO:TAG`` (or ``docker pull``); for a registry marked insecure,
    podman's ``--tls-verify=false`` (docker takes its insecure registries from the
    daemon's settings, not from a flag)."""
    flag = " --tls-verify=false" if insecure and tool == "podman" else ""
    return f"{tool} pull{flag} {tag_reference(host, repository, tag)}"


@dataclass(frozen=True)
class HostInput:
    """A registry as typed: its canonical host, and whether it was given as ``http://``."""

    host: str
    plain_http: bool


def parse_host_input(text: str) -> HostInput:
    """What someone typed or pasted as a registry: ``quay.io``, ``https://r.example:5000/v2/``.

    Raises :class:`InvalidReference` with a sentence naming the text.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidReference(
            "Enter the registry's host name, such as registry.example.com or localhost:5000."
        )
    try:
        host = canonical_host(stripped)
        split_host(host)
    except SpyglassError as exc:
        raise InvalidReference(str(exc)) from exc
    try:
        parse_docker_reference(f"{host}/probe", default_tag=False)
    except InvalidReference:
        raise InvalidReference(
            f'"{without_password(stripped)}" is not a registry host; expected a name such as '
            '"registry.example.com" or "localhost:5000".'
        ) from None
    return HostInput(host, stripped.lower().startswith("http://"))


@dataclass(frozen=True)
class RepositoryInput:
    """A repository as typed into "Open repository": its path, and a tag if one was given."""

    repository: str
    tag: str | None


def parse_repository_input(host: str, text: str) -> RepositoryInput:
    """Read ``library/alpine``, ``alpine:3.19`` or ``HOST/team/app`` as a repository of ``host``.

    The docker reference grammar decides (``alpine`` on Docker Hub is
    ``library/alpine``). Raises :class:`InvalidReference` with a sentence.
    """
    stripped = text.strip().removeprefix("docker://")
    if not stripped:
        raise InvalidReference("Enter a repository name, such as team/app.")
    if password_spans(text.strip()):  # (a clause about a piece of it could quote it)
        raise InvalidReference(
            f'"{without_password(text.strip())}" holds a user name and password; '
            "credentials do not go in a repository name: sign in to the registry instead.")
    if stripped.startswith(f"{host}/"):
        stripped = stripped[len(host) + 1:]
    try:
        reference = parse_docker_reference(f"{host}/{stripped}", default_tag=False)
    except InvalidReference as exc:
        raise InvalidReference(str(exc).replace(f'"{host}/{stripped}"', f'"{stripped}"')) \
            from None
    if reference.domain != host:
        # a host such as "registry" reads as a Docker Hub namespace: check the path alone
        reference = _path_only(stripped)
    if reference.digest is not None:
        raise InvalidReference(
            f'"{stripped}" names a digest; open the repository by its name (and a tag).'
        )
    return RepositoryInput(reference.path, reference.tag)


def _path_only(text: str) -> DockerReference:
    try:
        return parse_docker_reference(f"localhost/{text}", default_tag=False)
    except InvalidReference as exc:
        raise InvalidReference(str(exc).replace(f'"localhost/{text}"', f'"{text}"')) from None


# --------------------------------------------------------------------------- connections


class _ListingToken(CancelToken):
    """Cancelled when the listing is (a reload, a removal) or when the running job is."""

    def __init__(self) -> None:
        super().__init__()
        self.job: CancelToken | None = None

    @property
    def cancelled(self) -> bool:
        job = self.job
        return super().cancelled or (job is not None and job.cancelled)

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()


class Connection:
    """The :class:`RegistryClient` of one registry entry, made on first use (on a worker).

    ``credentials`` are the ones just entered in the dialog; without them the
    store is asked — only when the registry wants credentials, and always on
    the worker that sent the request, since a lookup may read auth files and
    run credential helpers. Thread-safe.
    """

    def __init__(
        self,
        host: str,
        *,
        insecure: bool,
        store: CredentialStore,
        credentials: Credentials | None = None,
        username: str = "",
        retry_times: int = 3,
    ) -> None:
        self.host = host
        self.insecure = insecure
        self._store = store
        self._given = credentials
        self._username = username
        self._retry_times = retry_times
        self._client: RegistryClient | None = None
        self._lock = threading.Lock()
        self._found: Credentials | None = None
        self._missing = False

    @property
    def found(self) -> Credentials | None:
        """The credentials the store gave when the registry first wanted some (their
        ``source`` says where from: the keyring, an auth file, a credential helper), else
        the ones given; None while none were asked for, or none were found."""
        with self._lock:
            return self._found or (self._given if self._client is not None else None)

    @property
    def password_missing(self) -> bool:
        """Whether the registry wanted credentials and the store had none for the user
        the settings name (the keyring entry removed since it was saved)."""
        with self._lock:
            return self._missing

    @property
    def plain_http(self) -> bool:
        """Whether the registry was reached over plain HTTP (False until it was)."""
        with self._lock:
            client = self._client
        return client is not None and client.plain_http

    def client(self) -> RegistryClient:
        with self._lock:
            if self._client is not None:
                return self._client
        store, host, username = self._store, self.host, self._username

        def stored() -> Credentials | None:
            found = store.lookup(host)
            failure = store.keyring_failure
            if found is None and failure is not None:  # (a refusal says it, not "sign in")
                # (whether it keeps any for the host is not known: "could not be asked")
                raise failure.said(f"{capitalized(failure.state)}, so it could not be asked "
                                   f"for credentials for {host}.")
            if found is None and username:  # signed in as them, but the password is gone
                with self._lock:
                    self._missing = True
                raise CredentialsMissing(missing_password_sentence(store, host, username))
            with self._lock:
                self._found = found
            return found

        client = RegistryClient(
            host, credentials=self._given or stored,
            insecure=self.insecure or insecure_for(host), retry_times=self._retry_times)
        with self._lock:
            if self._client is None:
                self._client = client
            return self._client


def missing_password_sentence(store: CredentialStore, host: str, username: str) -> str:
    """Why no password is sent for the user the settings name: the keyring has no entry
    for the registry (removed since it was saved), or, without a keyring, the one given
    lasted only for the session it was given in. (The window adds how to sign in.)"""
    if store.keyring_usable:
        return (f"The password for {username} was not found in {store.keyring_description} "
                f"(it has no entry for {host}).")
    return (f"No password for {username} is kept for {host}: without a keyring, the one "
            "given lasted only until Spyglass quit.")


KEYRING_ORIGIN: Final = "saved in the keyring, e.g. by spyglass login"
"""Where credentials in the keyring that the window did not save come from: the keyring
entry is one per host, shared with ``spyglass login``."""


def saved_by_window(credentials: Credentials, entry: RegistrySettings | None) -> bool:
    """Whether ``credentials`` are the ones the window keeps for the registry ``entry``
    (None: one not in its list yet): typed into it (this session's), or found in the
    keyring for the user its settings name (with none, the token it saved). Keyring
    credentials of another user, or of a registry it saved nothing for, are not its own
    (``spyglass login`` saved them). A token alone in the keyring is the window's
    whatever its settings say: nothing else saves one there (an earlier Spyglass saved
    it without noting ``saved_token``)."""
    if credentials.source != "keyring":
        return credentials.source in ("", "session", *SIGN_IN_DIALOGS)
    if entry is not None and not entry.username and not credentials.username:
        return True
    return entry is not None and entry.keeps_secret \
        and credentials.username == entry.username


def credentials_origin(credentials: Credentials, entry: RegistrySettings | None = None
                       ) -> str:
    """``from ~/.docker/config.json``, ``from docker-credential-pass``, "saved in the
    keyring, e.g. by spyglass login": where credentials the window did not keep itself
    for the registry ``entry`` (:func:`saved_by_window`) came from, for a person to know
    which account signs in; "" for those it keeps (the keyring's it saved, this
    session's, the dialog's)."""
    if saved_by_window(credentials, entry):
        return ""
    if credentials.source == "keyring":
        return KEYRING_ORIGIN
    return f"from {home_shortened(credentials.source)}"


PLAIN_LOOPBACK: Final = "plain HTTP (allowed for this machine)"
"""How a registry on this machine is reached without TLS, though insecure connections are
not allowed for it (as Docker reaches one; skopeo needs --tls-verify=false): said
wherever the window says how it talks to the registry."""

ConnectionProblem = Literal["", "connection", "tls", "auth", "denied", "registry", "other"]


@dataclass(frozen=True)
class ConnectionCheck:
    """The answer of "Test Connection": what failed, and the sentence that says so."""

    host: str
    problem: ConnectionProblem
    sentence: str
    username: str
    untrusted: bool = False
    """The registry's TLS certificate could not be verified: a CA certificate would do."""
    unsigned: bool = False
    """The registry wants credentials (``problem`` is ``"auth"``) and none were sent: none
    were given, and none are kept for it; its sentence speaks of a login never tried."""
    token_refused: bool = False
    """The registry refused a token given with no user name, sent to it as it is
    (``problem`` is ``"auth"``): not a user name that is missing."""
    keyring_locked: bool = False
    """The registry wants credentials (``problem`` is ``"auth"``) and the keyring that
    may keep them was locked: its sentence says to unlock it."""

    @property
    def ok(self) -> bool:
        return not self.problem


def check_connection(
    host: str,
    *,
    insecure: bool,
    credentials: Credentials | None,
    store: CredentialStore | None,
    cancel: CancelToken,
    entry: RegistrySettings | None = None,
) -> ConnectionCheck:
    """Ask the registry whether it answers, as a registry, and takes the credentials.

    Without ``credentials`` but with a ``store``, the stored ones are tried, as the
    window will browse with them (editing a registry without typing the password again;
    adding one that ``docker login`` or ``podman login`` signed in to): looked up only
    once the registry asks for credentials, as the window's :class:`Connection` looks
    them up, so that a registry that wants none is reached whatever an auth file or the
    keyring would say (a file that is not JSON, a locked keyring and its unlock prompt).
    The sentence says where they came from when Spyglass does not keep them for the
    registry ``entry`` (Edit Registry's; None for one being added): see
    :func:`credentials_origin`.
    """
    problem: ConnectionProblem = ""
    untrusted = unsigned = token_refused = locked = False
    found: list[Credentials | None] = []  # what the store gave, once the registry asked

    def stored() -> Credentials | None:
        assert store is not None
        found.append(store.lookup(host))
        return found[-1]

    client = RegistryClient(
        host, credentials=credentials if credentials is not None or store is None else stored,
        insecure=insecure, retry_times=0)
    try:
        checked = client.check_credentials(cancel=cancel)
    except Cancelled:
        raise
    except TLSFailed as exc:
        problem, sentence, untrusted = "tls", str(exc), exc.untrusted
    except NotARegistry as exc:
        problem, sentence = "registry", str(exc)
    except ConnectionFailed as exc:
        problem, sentence = "connection", str(exc)
    except AuthenticationFailed as exc:
        problem, sentence = "auth", str(exc)
        tried = credentials if credentials is not None else next(
            (c for c in found if c is not None), None)
        token_refused = tried is not None and bool(tried.registry_token) \
            and exc.credentials_sent and client.auth.scheme == "bearer"
        origin = credentials_origin(tried, entry) if tried is not None else ""
        if exc.credentials_sent and exc.refusal and origin and tried is not None \
                and tried.file_entry is None:  # (an auth file's entry is named)
            # not the window's own: whose they are, where from, and how to mend them
            mend = (f"log in again with spyglass login {host}"
                    if tried.source == "keyring" else "change them there")
            sentence = (f"{exc.refusal} Check {to_check(tried, origin)}: {mend}, or "
                        "type a user name and password above to sign in with those.")
        locked = exc.keyring_locked is not None
        # (a locked or failing keyring, whose sentence says so, is not "none kept")
        unsigned = tried is None and not exc.credentials_sent and not locked \
            and (store is None or store.keyring_failure is None)
        return ConnectionCheck(host, problem, sentence, tried.username if tried else "",
                               untrusted, unsigned, token_refused, locked)
    except AccessDenied as exc:
        problem, sentence = "denied", str(exc)
    except SpyglassError as exc:
        problem, sentence = "other", str(exc)
    else:
        # plain HTTP said, not only allowed: on this machine it is taken unasked
        over = (f" over {PLAIN_LOOPBACK}" if client.plain_http and not insecure
                else " over plain HTTP" if client.plain_http
                # (its certificate not checked, which "Connected" alone did not say)
                else " over TLS without checking its certificate" if insecure else "")
        # what was typed (sent or not), else what the store gave and was sent
        said_of = credentials if credentials is not None else client.auth.sent
        username = said_of.username if said_of is not None \
            and said_of.username != TOKEN_USERNAME else ""
        secret = (f"the password of {username}" if username
                  else "the token" if said_of is not None else "")
        if secret and not checked:
            said = (f"{host} answers as a registry{over}; it asks for no credentials, so "
                    f"{secret} was not checked.")
        else:
            origin = credentials_origin(said_of, entry) if said_of is not None else ""
            who = (f"as {username}" if username else "with the token" if secret
                   else "without signing in")
            if secret and origin:
                who = f"{who} ({origin})"
            said = f"{host} answers as a registry{over}, {who}."
        return ConnectionCheck(host, "", said, username)
    return ConnectionCheck(host, problem, sentence,
                           credentials.username if credentials else "", untrusted)


@dataclass(frozen=True)
class Kept:
    """Where a typed password went: ``where`` it is kept, and ``overruled_by``, the
    ``$REGISTRY_AUTH_FILE`` entry that comes before anything Spyglass keeps (then
    nothing was saved: the password serves this session's connection only)."""

    where: SaveTarget
    overruled_by: str = ""


def save_credentials(store: CredentialStore, host: str, credentials: Credentials) -> Kept:
    """Keep the secret: in the keyring, or for this session only when there is none, or
    when the auth file chosen for every program has an entry for ``host`` (after a
    restart that entry would sign in, whatever was saved)."""
    try:
        first = store.chosen_file_entry(host)
    except SpyglassError as exc:  # its credential helper, say
        raise SpyglassError(f"{exc} The password for {host} was not saved.") from exc
    if first is not None:
        store.keep_for_session(host, credentials)  # so a connection made again has them
        return Kept("session", first.file_entry or first.source)
    return Kept(store.save(host, credentials))


def forget_credentials(store: CredentialStore, host: str, username: str | None = None) -> bool:
    """Remove the credentials the window saved for ``host``; True if something was
    removed. With ``username`` (the user they were saved for, "" for a token alone), only
    while what the keyring holds for ``host`` is still theirs: what was saved there since
    by something else (``spyglass login`` as another user) is not the window's, and stays
    (:meth:`CredentialStore.forget`); what this session kept goes either way."""
    return store.forget(host, only_user=username)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class Page:
    """One page of a catalog or tag list; ``done`` once the list has no more pages: the
    registry's answer linked to no next one (see :class:`NamePage`), whatever its
    length."""

    names: tuple[str, ...]
    done: bool


class Listing:
    """A catalog or tag list read page by page, by successive jobs (one at a time).

    Cancel :attr:`token` to stop it for good (a reload or removal).
    """

    def __init__(self, open_pages: Callable[[CancelToken], Iterator[NamePage]]) -> None:
        self._open = open_pages
        self._pages: Iterator[NamePage] | None = None
        self._failure: SpyglassError | None = None
        self.token = _ListingToken()

    def next_page(self, cancel: CancelToken) -> Page:
        self.token.job = cancel
        self.token.check()
        if self._failure is not None:
            raise self._failure
        if self._pages is None:
            self._pages = self._open(self.token)
        try:
            names = next(self._pages)
        except StopIteration:
            return Page((), True)
        check(self.token)
        return Page(tuple(names), not names.linked)

    def next_pages(self, cancel: CancelToken, *, within: float,
                   clock: Callable[[], float] = time.monotonic) -> Page:
        """The next page, and the pages after it as long as less than ``within`` seconds
        have passed since the call (or to the list's end), as one: the window merges
        them into its rows at once (a merge a page kept it busy for most of a listing in
        pages of 100). The list's first page comes alone, to be shown at once.

        A page that fails after others were read is said by the next call: those read
        are answered first.
        """
        first = self._pages is None
        started = clock()
        names: list[str] = []
        while True:
            try:
                page = self.next_page(cancel)
            except Cancelled:
                raise
            except SpyglassError as exc:
                if not names:
                    raise
                self._failure = exc
                return Page(tuple(names), False)
            names.extend(page.names)
            if page.done or first or clock() - started >= within:
                return Page(tuple(names), page.done)


def catalog_listing(connection: Connection) -> Listing:
    size = CATALOG_PAGE_SIZE
    return Listing(lambda cancel: connection.client().catalog_pages(
        page_size=size, cancel=cancel))


def tag_listing(connection: Connection, repository: str) -> Listing:
    size = TAG_PAGE_SIZE
    return Listing(lambda cancel: connection.client().tag_pages(
        repository, page_size=size, cancel=cancel))


def lists_no_catalog(connection: Connection, error: SpyglassError, cancel: CancelToken) -> bool:
    """Whether a failed catalog means "no catalog here" rather than a broken registry.

    Docker Hub and many hosted registries answer ``/v2/_catalog`` with 401,
    403, 404 or ``UNSUPPORTED``. A 404/405 says it outright; for 401/403 the
    registry is asked whether the credentials work at all (``GET /v2/``):
    when they do, only the catalog is closed.
    """
    from spyglass.core.errors import NotFound, Unsupported

    if isinstance(error, NotFound | Unsupported):
        return True
    if isinstance(error, AuthenticationFailed | AccessDenied):
        try:
            connection.client().check_credentials(cancel=cancel)
        except SpyglassError:
            return False
        return True
    return False


# --------------------------------------------------------------------------- digests


@dataclass(frozen=True)
class DigestAnswer:
    """What a ``HEAD`` on one tag told: its digest and media type, or why not."""

    tag: str
    digest: Digest | None
    media_type: str | None
    error: str | None = None
    rate_limited: bool = False


def head_digests(
    connection: Connection, repository: str, tags: Sequence[str], cancel: CancelToken
) -> list[DigestAnswer]:
    """The digests of ``tags`` (a handful, the rows someone looks at), a few requests at once."""
    client = connection.client()

    def one(tag: str) -> DigestAnswer:
        if cancel.cancelled:
            return DigestAnswer(tag, None, None, "Cancelled.")
        try:
            # a HEAD's 404 confirmed with GET: older Nexus answers HEAD 404 to what it serves
            head = client.head_manifest(repository, tag, cancel=cancel, confirm_missing=True)
        except RateLimited as exc:
            return DigestAnswer(tag, None, None, str(exc), rate_limited=True)
        except SpyglassError as exc:
            return DigestAnswer(tag, None, None, str(exc))
        return DigestAnswer(tag, head.digest, head.media_type)

    with ThreadPoolExecutor(max_workers=min(DIGEST_THREADS, max(1, len(tags)))) as pool:
        answers = list(pool.map(one, tags))
    check(cancel)
    return answers


# --------------------------------------------------------------------------- deleting


@dataclass(frozen=True)
class DeletePlan:
    """What deleting a tag's image takes with it: every tag pointing at the same manifest."""

    host: str
    repository: str
    tag: str
    digest: Digest
    tags: tuple[str, ...]
    lists: tuple[str, ...] = ()
    """The tags of manifest lists holding the image as one of theirs: deleting it
    breaks them."""
    unchecked: tuple[str, ...] = ()
    """The tags that could not be looked at."""
    referrers: tuple[str, ...] = ()
    """The referrers tags whose index lists the image (a referrer of their subject): the
    delete takes it out of them."""
    attached: tuple[str, ...] = ()
    """The tags of its signatures and referrers (cosign's ``.sig``, ``.att``, ``.sbom``
    and its referrers tag): the delete leaves them."""
    unlisted: tuple[tuple[str, str], ...] = ()
    """After the delete, the referrers tags changed, and how: ``written`` (without it),
    ``deleted`` (it was the only one listed)."""
    unlist_failed: str | None = None
    """After the delete, why it could not be taken out of :attr:`referrers`."""
    unlist_notes: tuple[str, ...] = ()
    """After the delete, what else was taken out of :attr:`referrers` (entries of
    manifests gone that the registry refused the index with), as notes."""

    @property
    def other_tags(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if t != self.tag)


DELETE_PROGRESS_S: Final = 0.1
"""How often at most :func:`plan_delete` says how many tags it has looked at."""


def plan_delete(
    connection: Connection, repository: str, tag: str, cancel: CancelToken,
    progress: Callable[[int, int], None] | None = None,
) -> DeletePlan:
    """Resolve the tag to its digest, and find every tag of the repository pointing there;
    ``progress(looked, of)`` is told how many tags have been looked at (one ``HEAD``
    each: 20,000 take half a minute), at first, every :data:`DELETE_PROGRESS_S` and at
    the end, from the job's threads.

    Asked fresh from the registry (a confirmation must not name tags from a
    stale list: the digests the tag table knows may be, so each tag is asked again).
    """
    client = connection.client()
    digest = client.head_manifest(repository, tag, cancel=cancel, confirm_missing=True).digest
    total = 0
    said = 0.0

    def looking(count: int) -> None:
        nonlocal total
        total = count
        if progress is not None:
            progress(0, count)

    def looked(done: int) -> None:  # (called under the lookups' lock)
        nonlocal said
        now = time.monotonic()
        if progress is not None and (done == total or now - said >= DELETE_PROGRESS_S):
            said = now
            progress(done, total)

    users = client.manifest_users(repository, digest, cancel=cancel, looking=looking,
                                  looked=looked)
    tags = {*users.tags, tag}
    return DeletePlan(connection.host, repository, tag, digest,
                      tuple(sorted(tags, key=natural_key)),
                      tuple(sorted(users.lists, key=natural_key)),
                      tuple(sorted(users.unchecked, key=natural_key)),
                      tuple(sorted(users.referrers, key=natural_key)),
                      tuple(sorted(users.attached, key=natural_key)))


def delete_image(connection: Connection, plan: DeletePlan, cancel: CancelToken) -> DeletePlan:
    """Delete the manifest of ``plan`` (and so every tag pointing at it), then take it
    out of the referrers tags that list it; ``plan`` with :attr:`~DeletePlan.unlisted`."""
    from spyglass.core.transports.registry.referrers_tag import unlist_referrer

    client = connection.client()
    client.delete_manifest(plan.repository, plan.digest, cancel=cancel)
    if not plan.referrers:
        return plan
    notes: list[str] = []
    try:
        done = unlist_referrer(client, plan.repository, plan.digest, plan.referrers,
                               cancel=cancel, note=notes.append)
    except SpyglassError as exc:  # deleted all the same: said with the result
        return replace(plan, unlist_failed=str(exc))
    return replace(plan, unlisted=tuple((tag, change) for tag, change in done.items()
                                        if change), unlist_notes=tuple(notes))


def resolve_digest(
    connection: Connection, repository: str, tag: str, cancel: CancelToken
) -> Digest:
    """The digest a tag points at now."""
    return connection.client().head_manifest(repository, tag, cancel=cancel,
                                             confirm_missing=True).digest


__all__ = [
    "CATALOG_PAGE_SIZE",
    "DELETE_PROGRESS_S",
    "KEYRING_ORIGIN",
    "PLAIN_LOOPBACK",
    "TAG_BATCH_SECONDS",
    "TAG_PAGE_SIZE",
    "Connection",
    "ConnectionCheck",
    "DeletePlan",
    "DigestAnswer",
    "HostInput",
    "Kept",
    "Listing",
    "Page",
    "RepositoryInput",
    "catalog_listing",
    "check_connection",
    "credentials_origin",
    "delete_image",
    "digest_reference",
    "forget_credentials",
    "head_digests",
    "lists_no_catalog",
    "missing_password_sentence",
    "natural_key",
    "parse_host_input",
    "parse_repository_input",
    "plan_delete",
    "pull_command",
    "resolve_digest",
    "save_credentials",
    "saved_by_window",
    "tag_listing",
    "tag_reference",
]
