"""Registry commands: ``tags``, ``catalog``, ``login``, ``logout`` and ``delete``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from spyglass.cli.common import (
    Commands,
    GoBool,
    RefusedFlag,
    add_override_flags,
    add_registry_options,
    argv_text,
    ask_password,
    note,
    registry_options,
    resolve_name,
    stdin_is_terminal,
    typed,
    write_json,
    write_text,
)
from spyglass.cli.forget_pending import settle_forget_pending
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidLayout,
    InvalidReference,
    RepositoryNotFound,
    SpyglassError,
)
from spyglass.core.natural import naturally_sorted
from spyglass.core.reference import (
    DockerReference,
    parse_docker_reference,
    registry_alone,
    registry_alone_error,
)

if TYPE_CHECKING:
    from spyglass.core.digest import Digest
    from spyglass.core.transports.registry.client import RegistryClient


def add_parsers(commands: Commands) -> None:
    tags = commands.add_parser(
        "tags", aliases=["list-tags"], help="list a repository's tags",
        description="List the tags of a repository as JSON (as skopeo list-tags does), or "
        "the names in a docker-archive (as skopeo does) or an OCI layout or archive.",
    )
    tags.add_argument("name", metavar="docker://HOST/REPO | docker-archive:PATH | oci:PATH | "
                      "oci-archive:PATH")
    tags.add_argument("--format", choices=("json", "text"), default="json",
                      help='{"Repository", "Tags"} as JSON (json, the default, as skopeo '
                      "list-tags prints them) or one tag per line (text, for a shell loop)")
    add_registry_options(tags, uses={"tmpdir"})
    tags.set_defaults(func=run_tags)

    catalog = commands.add_parser(
        "catalog", help="list a registry's repositories",
        description="List the repositories of a registry, one per line.",
    )
    catalog.add_argument("host", metavar="HOST",
                         help="the registry whose repositories to list: HOST[:PORT], such "
                         "as registry.example.com")
    catalog.add_argument("--format", choices=("json", "text"), default="text",
                         help='{"Registry", "Repositories"} as JSON (json) or one repository '
                         "per line (text, the default)")
    add_registry_options(catalog, uses=())
    catalog.set_defaults(func=run_catalog)

    login = commands.add_parser(
        "login", help="log in to a registry and keep the credentials in the keyring",
        description="Check credentials with the registry and store them in the system keyring.",
    )
    login.add_argument("host", metavar="HOST",
                       help="the registry to log in to: HOST[:PORT], such as "
                       "registry.example.com")
    login.add_argument("--username", "-u", type=argv_text, metavar="USER",
                       help="the user name (asked for on a terminal)")
    login.add_argument("--password", "-p", type=argv_text, metavar="PASS",
                       help="the password (prefer --password-stdin: a command line is seen "
                       "by other users of the machine)")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input")
    login.add_argument("--get-login", action="store_true",
                       help="print the user name the credentials for HOST have, if any")
    login.add_argument("--verbose", "-v", action="store_true",
                       help="taken for skopeo's scripts: a login always says where it kept "
                       "the credentials")
    add_registry_options(login, login=True, uses=())
    login.set_defaults(func=run_login)

    logout = commands.add_parser(
        "logout", help="forget a registry's stored credentials",
        description="Remove the credentials Spyglass stored for a registry.",
    )
    logout.add_argument("host", metavar="HOST", nargs="?",
                        help="the registry whose stored credentials to forget: HOST[:PORT]")
    logout.add_argument("--all", "-a", action="store_true",
                        help="remove the credentials Spyglass stored for every registry")
    logout.add_argument("--tls-verify", action=GoBool, default=None, metavar="BOOL",
                        help="taken for skopeo's scripts; a logout asks no registry")
    logout.add_argument("--authfile", action=RefusedFlag, said=LOGOUT_AUTHFILE)
    add_override_flags(logout.add_argument_group("skopeo's global flags"), here=True, uses=())
    logout.set_defaults(func=run_logout, validate=(
        logout, lambda args: None if args.all != (args.host is not None) else
        "give a HOST or --all, one of them"))

    delete = commands.add_parser(
        "delete", help="delete an image from a registry",
        description="Delete a manifest by digest, or the manifest a tag points at "
        "(which removes every tag pointing at it).",
    )
    delete.add_argument("name", metavar="docker://HOST/REPO[:TAG|@DIGEST]")
    delete.add_argument("--force", action="store_true",
                        help="delete even a manifest that lists of the repository hold as "
                             "one of their images (they are left naming a manifest gone)")
    add_registry_options(delete, image=True, uses=())
    delete.set_defaults(func=run_delete)


LOGOUT_AUTHFILE: Final = (
    "{flag} names the auth.json skopeo logout removes credentials from; spyglass logout "
    "forgets only those Spyglass keeps in the keyring, and never writes an auth file: use "
    "skopeo logout --authfile FILE HOST")
"""``logout --authfile``'s refusal (``login --authfile`` is refused as well)."""


def _repository(text: str) -> DockerReference:
    """``docker://HOST/REPO`` (the ``docker://`` may be left out)."""
    bare = text.removeprefix("docker://")
    if (registry := registry_alone(bare)) is not None:  # (not Docker Hub's library/NAME)
        raise registry_alone_error(text, registry, "REPOSITORY", ", or list its "
                                   f"repositories with spyglass catalog {registry}")
    try:
        return parse_docker_reference(bare, default_tag=False)
    except InvalidReference as exc:
        raise InvalidReference(f"{exc} Expected docker://HOST/REPOSITORY.") from exc


_PLACES: Final = {"oci": "an OCI layout", "dir": "a dir: folder",
                  "docker-archive": "a docker-archive", "oci-archive": "an OCI archive"}


def _registry_image(text: str) -> DockerReference:
    """delete's ``docker://HOST/REPO:TAG|@DIGEST``: with its transport, as skopeo wants it
    (a name without one is not taken for Docker Hub's: deleting is for sure or not at all)."""
    from spyglass.core.reference import DockerName, parse_image_name

    name = parse_image_name(text)
    if not isinstance(name, DockerName):
        raise SpyglassError(
            f'delete removes images from registries only; "{text}" is in '
            f"{_PLACES.get(name.transport, name.transport)}. Expected "
            "docker://HOST/REPOSITORY:TAG or docker://HOST/REPOSITORY@DIGEST.")
    return name.reference


def run_tags(args: argparse.Namespace) -> int:
    from spyglass.core.transports.registry import client_for

    transport, colon, _rest = args.name.partition(":")
    if (colon and transport in _LOCAL_TRANSPORTS) or _local_place(args.name):
        _write_names(args.format, {"Tags": _local_tags(args.name)}, "Tags")
        return 0
    reference = _repository(args.name)
    if reference.tag is not None or reference.digest is not None:
        named = reference.tag or reference.digest
        raise SpyglassError(f'tags lists a repository\'s tags; "{args.name}" names one '
                            f"image ({named}). Give docker://{reference.domain}/"
                            f"{reference.path}.")
    client = client_for(reference.domain, registry_options(args, reference.domain),
                        repository=reference.path)
    try:
        tags = client.tags_of(reference.path)
    except RepositoryNotFound as exc:
        exc.message = (f"{exc.message.rstrip('.')}, or its images have no tags (some "
                       "registries answer the same for both).")
        raise
    _write_names(args.format, {"Repository": reference.name, "Tags": tags}, "Tags")
    return 0


def _write_names(how: str, listing: dict[str, object], names: str) -> None:
    """``listing`` as JSON, or (``text``) its list under ``names`` one per line."""
    if how == "json":
        write_json(listing)
        return
    listed = listing[names]
    assert isinstance(listed, list)
    write_text("".join(f"{name}\n" for name in listed))


_LOCAL_TRANSPORTS: Final = ("docker-archive", "oci", "oci-archive", "dir")


def _local_place(text: str) -> bool:
    """Whether a name without a transport is a layout or archive here, as inspect and copy
    take a bare path (never asked of Docker Hub as a repository named after it). One
    starting with ``/`` or ``.`` is, whatever is there or not (so what is wrong with it
    is said, that it does not exist too); any other, such as ``alpine``, only when it is
    an image there (a Dockerfile's folder of that name leaves it a repository)."""
    if text.startswith(("/", ".")):
        return True
    if text.startswith("docker:") or not Path(text).exists():
        return False
    from spyglass.core.errors import DamagedArchive
    from spyglass.core.transports import detect_location_kind

    try:
        detect_location_kind(Path(text))
    except DamagedArchive:
        return True  # an archive, damaged: said as such, not asked of a registry
    except InvalidLayout:
        return False  # a folder or file of something else
    except SpyglassError:
        return True  # there, but unreadable or unsafe: what is wrong is said
    return True


def _local_tags(text: str) -> list[str]:
    """The names in an archive or layout, as ``tags`` lists them: a docker-archive's
    ``RepoTags`` (all its images'), as skopeo lists them; an OCI layout's or archive's
    ref names (skopeo lists none)."""
    from spyglass.core.manifest import REF_NAME_ANNOTATION
    from spyglass.core.reference import DockerArchiveName, OCIArchiveName, OCIName
    from spyglass.core.transports import open_location, path_not_found
    from spyglass.core.transports.archive import open_docker_archive_location

    transport, colon, _rest = text.partition(":")
    if not (colon and transport in _LOCAL_TRANSPORTS) and not Path(text).exists():
        raise path_not_found(text)  # as oci:PATH says it
    name = resolve_name(text)
    if isinstance(name, DockerArchiveName):
        if name.reference is not None or name.index is not None:
            raise SpyglassError(f'tags lists the names in an archive; "{text}" names one image '
                                f"in it. Give docker-archive:{name.path}.")
        archive = open_docker_archive_location(name.path)
        try:
            # an image without a name is listed by its position, as skopeo lists it
            return [tag for item in archive.reader.items
                    for tag in (item.repo_tags or (f"@{item.index}",))]
        finally:
            archive.close()
    if isinstance(name, OCIName | OCIArchiveName):
        if name.ref or name.index is not None:
            raise SpyglassError(f'tags lists the names in a layout; "{text}" names one image '
                                f"in it. Give {name.transport}:{name.path}.")
        location = open_location(name.path)
        try:
            return [ref for entry in location.list_images()
                    if (ref := entry.descriptor.annotations.get(REF_NAME_ANNOTATION))]
        finally:
            location.close()
    raise SpyglassError(f'tags lists the names of a registry repository, an archive or an '
                        f'OCI layout; "{text}" is a dir: image, which has one image and no '
                        "names.")


def run_catalog(args: argparse.Namespace) -> int:
    from spyglass.core.credentials import canonical_host
    from spyglass.core.transports.registry import client_for

    host = canonical_host(args.host)
    rest = args.host.strip().removeprefix("docker://").split("://")[-1].partition("/")[2]
    if rest.strip("/") and rest.strip("/") != "v2":
        raise SpyglassError(
            f'catalog lists a whole registry; "{args.host}" names a repository in it. Give '
            f"HOST[:PORT] ({host}), or list that repository's tags with spyglass tags "
            f"docker://{host}/{rest.strip('/')}.")
    client = client_for(host, registry_options(args, host))
    if args.format == "json":
        repositories = [name for page in client.catalog_pages() for name in page]
        _write_names("json", {"Registry": host, "Repositories": repositories}, "Repositories")
        return 0
    for page in client.catalog_pages():
        write_text("".join(name + "\n" for name in page))
    return 0


def _stdin_line() -> str:
    """A line of standard input as its bytes are, in UTF-8 (as :func:`argv_text` reads a
    word of the command line): a password is sent as the bytes given. A standard input
    that is closed (``<&-``), or cannot be read, is a sentence."""
    cannot = "Cannot read the password from standard input (--password-stdin)"
    if sys.stdin is None:
        raise SpyglassError(f"{cannot}: it is closed.")
    try:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # (a stand-in for stdin, text only)
            return sys.stdin.readline()
        return bytes(stream.readline()).decode("utf-8", "surrogateescape")
    except (OSError, ValueError) as exc:
        reason = (os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno
                  else "it is closed")
        raise SpyglassError(f"{cannot}: {reason[:1].lower()}{reason[1:]}.") from exc


def run_login(args: argparse.Namespace) -> int:
    from spyglass.core.credentials import TOKEN_USERNAME, Credentials, canonical_host
    from spyglass.core.transports.registry import (
        RegistryClient,
        credential_store,
        forget_clients,
    )

    host = canonical_host(args.host)
    if args.get_login:  # reads only: an auth file named is where it reads
        found = credential_store(args.authfile).lookup(host)
        if found is None or not found.username or found.username == TOKEN_USERNAME:
            raise SpyglassError(f"Not logged in to {host}: no credentials with a user name "
                                "were found for it.")
        write_text(found.username + "\n")
        return 0
    if args.authfile is not None:
        raise SpyglassError(
            "spyglass login keeps credentials in the keyring, never in an auth file; "
            "--authfile is for reading an auth.json (skopeo login --authfile writes one).")
    if args.password_stdin and (args.password is not None or args.creds is not None):
        given = "--password" if args.password is not None else "--creds"
        raise SpyglassError(f"--password-stdin and {given} contradict each other; give one.")
    if args.creds is not None:
        options = registry_options(args, host)
        credentials = options.credentials
        assert credentials is not None
    else:
        username = args.username
        if not username:
            if not stdin_is_terminal():
                raise SpyglassError("No user name given; use --username USER.")
            username = typed("Username: ").strip()
        if args.password_stdin:
            password = _stdin_line().rstrip("\r\n")
        else:
            password = args.password or ""
        if not password and args.password_stdin:
            raise SpyglassError("The password read from standard input (--password-stdin) "
                                "is empty.")
        if not password and not stdin_is_terminal():
            raise SpyglassError(
                f'No password given for "{username}"; use --password-stdin (or --password '
                "PASSWORD), or run on a terminal to be asked.")
        credentials = ask_password(Credentials(username, password, source="login"), host)
    client = RegistryClient(
        host, credentials=credentials, insecure=args.tls_verify is False,
        plain_loopback=args.tls_verify is None, cert_dir=args.cert_dir,
        retry_times=max(0, args.retry_times),
    )
    try:
        checked = client.check_credentials()
    except AuthenticationFailed as exc:  # not "log in again": this is the login
        said = (f"{exc.refusal} Nothing was saved; check the user name and password."
                if exc.refusal else f"{exc} Nothing was saved.")
        raise SpyglassError(said) from exc
    except AccessDenied as exc:  # what some registries answer wrong credentials with
        raise SpyglassError(f"{exc} Nothing was saved.") from exc
    store = credential_store()
    try:
        first = store.chosen_file_entry(host)
    except SpyglassError as exc:  # its credential helper, say: said, and nothing saved
        raise SpyglassError(f"{exc} Nothing was saved.") from exc
    if first is not None:  # the file chosen for every program comes first: these would not
        worked = (f"The credentials for {host} work" if checked else
                  f"{host} asks for no credentials, so they were not checked")
        raise SpyglassError(
            f"{worked}, but $REGISTRY_AUTH_FILE names {first.source}, whose entry for "
            f"{host} comes first, so they were not saved. Log in with skopeo login (it "
            "writes that file), or remove that entry, or unset REGISTRY_AUTH_FILE.")
    where = store.save(host, credentials)
    forget_clients()
    if where == "keyring":
        if checked:
            note(f"Logged in to {host}; the credentials are in {store.keyring_description}.")
        else:
            note(f"Saved the credentials for {host} in {store.keyring_description}; the "
                 "registry asks for none, so they were not checked.")
        unsettled = settle_forget_pending([host])
        if unsettled is not None:
            note(f"{unsettled} A Spyglass window closed before the keyring had removed the "
                 f"password for {host} (a registry removed there), so the next window to "
                 "start removes the one just saved: log in again once the settings can be "
                 "saved.")
        return 0
    worked = (f"The credentials for {host} work" if checked else
              f"{host} asks for no credentials, so they were not checked")
    not_saved = store.why_not_saved(host)
    if not_saved is not None and not_saved.locked:  # kept nowhere else: not in a file
        raise SpyglassError(f"{worked}, but {not_saved.keyring} is locked: nothing was "
                            "saved. Unlock it and try again.")
    if not_saved is not None:
        raise SpyglassError(
            f"{worked}, but {not_saved.state}: nothing was saved. Pass --creds "
            f"USER:PASSWORD to each command, or {ANOTHER_LOGIN}.")
    passed_over = store.passed_over
    if passed_over is not None:
        dropped = (f", and the other credentials for {host} that an earlier Spyglass kept "
                   "there were removed" if store.dropped_before(host) else "")
        raise SpyglassError(
            f"{worked}, but the only keyring is {passed_over}, which Spyglass uses only "
            f"when chosen: nothing was saved{dropped}. Set up a system keyring, pass --creds "
            f"USER:PASSWORD to each command, {ANOTHER_LOGIN}, or choose that keyring with "
            f"PYTHON_KEYRING_BACKEND={store.backend_setting}.")
    raise SpyglassError(
        f"{worked}, but no keyring is available to keep them: nothing was saved. Pass "
        f"--creds USER:PASSWORD to each command, {ANOTHER_LOGIN}, or set up a system "
        "keyring.")


ANOTHER_LOGIN: Final = ("log in with skopeo login or podman login (Spyglass reads the "
                        "auth.json they write)")
"""The way in for a machine without a keyring that can keep a ``spyglass login``."""


def run_logout(args: argparse.Namespace) -> int:
    """Remove what ``spyglass login`` kept. A keyring that is locked, or fails, cannot say
    whether it keeps anything: that is an error (status 1), as skopeo logout's is when
    it cannot remove an entry, never "no stored credentials"."""
    from spyglass.core.credentials import canonical_host
    from spyglass.core.credentials.keyring_store import KeyringUnavailable
    from spyglass.core.transports.registry import credential_store, forget_clients

    if args.all:
        from spyglass.core.settings_file import read_settings

        loaded = read_settings(set_aside=False)  # (only read: a logout never saves them)
        if loaded.unusable:
            note(f'The settings file "{loaded.path}" could not be used ({loaded.unusable}); '
                 "it is left as it is, and the registries the keyring lists are logged "
                 "out.")
        try:
            hosts = credential_store().forget_all(r.host for r in loaded.settings.registries)
        except KeyringUnavailable as exc:  # what was removed, then what was not
            if exc.removed:
                note(f"Removed the stored credentials for {_listed(list(exc.removed))}.")
            raise
        finally:
            forget_clients()
        note(f"Removed the stored credentials for {_listed(hosts)}." if hosts else
             "Spyglass had no stored credentials; auth.json and ~/.docker/config.json are "
             "left alone.")
        settle_forget_pending(hosts)  # (what stays on it would remove nothing now)
        return 0
    host = canonical_host(args.host)
    try:
        removed = credential_store().forget(host)
    finally:
        forget_clients()
    settle_forget_pending([host])  # (no password left: nothing for a window to remove)
    if removed:
        note(f"Removed the stored credentials for {host}.")
        return 0
    raise SpyglassError(
        f"Spyglass has no stored credentials for {host}; credentials in auth.json or "
        "~/.docker/config.json are left alone (use skopeo logout, podman logout or docker "
        "logout)."
    )


def _listed(hosts: list[str]) -> str:
    return hosts[0] if len(hosts) == 1 else (
        f"{len(hosts)} registries: {', '.join(hosts[:-1])} and {hosts[-1]}")


def counted_tags(tags: list[str], most: int = 10, *, noun: str = "tag") -> str:
    """``The tag a`` or ``The tags a, b`` in natural order (the first ``most``, then how
    many more)."""
    if len(tags) == 1:
        return f"The {noun} {tags[0]}"
    tags = naturally_sorted(tags)
    shown = ", ".join(tags[:most]) + (f" and {len(tags) - most} more" if len(tags) > most
                                      else "")
    return f"The {noun}s {shown}"


MANY_TAGS: Final = 200
"""From this many tags on, delete says it looks at them (one request a tag) first."""


def run_delete(args: argparse.Namespace) -> int:
    from spyglass.core.transports.registry import client_for

    reference = _registry_image(args.name)
    client = client_for(reference.domain, registry_options(args, reference.domain),
                        repository=reference.path)
    if reference.digest is not None:
        digest = reference.digest
        # there, first: a 404 to a DELETE asked again is taken for the first one having
        # worked (its answer lost), which only holds of an image that was there
        client.head_manifest(reference.path, str(digest), confirm_missing=True)
    else:
        assert reference.tag is not None
        digest = client.head_manifest(reference.path, reference.tag,
                                      confirm_missing=True).digest
    from spyglass.core.transports.registry.client import ManifestUsers

    def looking(count: int) -> None:
        if count >= MANY_TAGS:  # a request each: seconds, or a minute on a slow link
            note(f"Looking at the {count} tags of {reference.name} for what else uses "
                 f"{digest}…")

    try:
        users = client.manifest_users(reference.path, digest, looking=looking)
    except SpyglassError as exc:  # the tags cannot be listed: delete as skopeo does
        note(f"What else uses {digest} could not be looked at ({exc}).")
        users = ManifestUsers([], [])
    if users.unchecked:
        they = "it uses" if len(users.unchecked) == 1 else "they use"
        note(f"{counted_tags(users.unchecked)} could not be looked at (gone meanwhile, or "
             f"unreadable); whether {they} the manifest is not known.")
    named = f"{reference.name}:{reference.tag}" if reference.tag else reference.name
    others = [t for t in users.tags if t != reference.tag]
    held = ""  # the lists holding it, said before the other tags once it is sure to go
    if users.lists:
        one = len(users.lists) == 1
        which = counted_tags([f"{reference.name}:{tag}" for tag in users.lists],
                             noun="list") + (" holds" if one else " hold")
        held = (f"{which} {digest} as one of {'its' if one else 'their'} images; deleting "
                f"it would leave {'it' if one else 'them'} naming a manifest that is gone")
        if not args.force:  # refused: nothing about tags that go too, since none does
            raise SpyglassError(f"{held}. Nothing was deleted; delete "
                                f"{'that list' if one else 'those lists'} first, or pass "
                                "--force.")
    if others:
        one = len(others) == 1
        which = counted_tags(others)
        note(f"{named} is the manifest {digest}, which {which[:1].lower()}{which[1:]} "
             f"also {'points' if one else 'point'} at; "
             f"{'that tag goes' if one else 'those tags go'} too.")
    if held:
        note(f"{held} (--force).")
    if client.delete_manifest(reference.path, digest):
        note(f"Deleted {reference.name}@{digest} (the registry's answer to the delete was "
             "lost; asked again, it no longer has the image).")
    else:
        note(f"Deleted {reference.name}@{digest}.")
    _unlisted(client, reference, digest, users.referrers)
    if users.attached:
        one = len(users.attached) == 1
        which = counted_tags(users.attached).removeprefix("The ")
        note(f"Its signature and referrer {which} {'stays' if one else 'stay'}, naming a "
             f"manifest that is gone; delete {'it' if one else 'each'} with spyglass delete "
             f"docker://{reference.name}:TAG.")
    return 0


def _unlisted(client: RegistryClient, reference: DockerReference, digest: Digest,
              tags: list[str]) -> None:
    """Take the deleted ``digest`` out of the referrers tags ``tags`` (the spec's client
    side of a delete, on a registry without the referrers API), saying so."""
    from spyglass.core.credentials.keyring_store import capitalized
    from spyglass.core.referrers import attachment_tag_subject
    from spyglass.core.transports.registry.referrers_tag import unlist_referrer

    try:
        done = unlist_referrer(client, reference.path, digest, tags,
                               note=lambda said: note(f"{capitalized(said)}."))
    except SpyglassError as exc:
        which = counted_tags([f"{reference.name}:{tag}" for tag in tags])
        failed = str(exc).rstrip(".")
        note(f"{digest} is still listed among the referrers in {which[:1].lower()}"
             f"{which[1:]}; taking it out failed: {failed}.")
        return
    for tag, change in done.items():
        said = (f"{digest} was a referrer of {attachment_tag_subject(tag)}; the index "
                f"{reference.name}:{tag} listing its referrers ")
        if change == "deleted":
            note(said + "listed no other, and is deleted too.")
        elif change == "written":
            note(said + "no longer lists it.")
