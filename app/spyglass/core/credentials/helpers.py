"""Credential helpers: ``docker-credential-NAME get``, asked for a registry host.

An auth file's ``credHelpers`` entry for a host, or its ``credsStore``, names the
helper (see :mod:`spyglass.core.credentials.auth_files`). The helper reads the host
on stdin and answers ``{"Username", "Secret"}``; the username ``<token>`` means an
identity token. A helper that is missing, fails, or answers nonsense stops the
lookup with a :class:`SpyglassError`; its "credentials not found" is just no answer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from typing import Final

from spyglass.core import gojson
from spyglass.core.credentials import (
    DOCKER_HUB,
    DOCKER_HUB_LEGACY_KEY,
    TOKEN_USERNAME,
    Credentials,
    warn_once,
)
from spyglass.core.errors import SpyglassError

#: Seconds a ``docker-credential-*`` helper may take to answer.
HELPER_TIMEOUT: Final[float] = 10.0
#: What docker-credential-helpers print (with a failing exit status) for an unknown host.
HELPER_NOT_FOUND: Final = "credentials not found in native keychain"
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_MAX_DETAIL: Final = 200


def ask_helper(
    name: str, registry: str, *, origin: str, environ: Mapping[str, str],
    required: bool = True,
) -> Credentials | None:
    """Run ``docker-credential-NAME get`` for ``registry``.

    ``required`` False (a ``credsStore`` with no ``auths`` entry for the host)
    turns a missing helper into no answer, so that a configuration copied from
    another machine does not block every registry.
    """
    program = f"docker-credential-{name}"
    if not _HELPER_NAME.fullmatch(name):
        raise SpyglassError(
            f'The credential helper name "{name}" in {origin} is not a valid name; '
            "expected letters, digits, dots, dashes or underscores."
        )
    executable = shutil.which(program, path=environ.get("PATH", "") or os.defpath)
    if executable is None:
        if not required:
            warn_once('The credential helper %s named by %s is not installed; '
                      "asking it for %s was skipped.", program, origin, registry)
            return None
        raise SpyglassError(
            f"The credential helper {program}, named by {origin}, was not found on "
            f"PATH, so the credentials for {registry} cannot be read. Install it, or "
            "remove it from that file."
        )
    # Docker stores Docker Hub under its legacy URL; podman and skopeo under docker.io.
    urls = [DOCKER_HUB_LEGACY_KEY, DOCKER_HUB] if registry == DOCKER_HUB else [registry]
    for url in urls:
        found = _run_helper(executable, program, url, registry, origin, environ)
        if found is not None:
            return found
    return None


def _run_helper(
    executable: str, program: str, url: str, registry: str, origin: str,
    environ: Mapping[str, str],
) -> Credentials | None:
    import subprocess  # only for helpers: it costs start-up time

    failed = f"The credential helper {program} (named by {origin}) failed for {registry}"
    try:
        done = subprocess.run(
            [executable, "get"], input=url.encode(), capture_output=True,
            timeout=HELPER_TIMEOUT, env=dict(environ), check=False,
        )
    except subprocess.TimeoutExpired:
        # Not chained: the exception holds whatever the helper printed so far.
        raise SpyglassError(
            f"{failed}: it did not answer within {HELPER_TIMEOUT:g} seconds."
        ) from None
    except OSError as exc:
        raise SpyglassError(f"{failed}: it could not be started ({exc.strerror or exc}).") \
            from exc
    out = done.stdout.decode("utf-8", "replace").strip()
    err = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        if HELPER_NOT_FOUND in (out, err):
            return None
        raise SpyglassError(f"{failed}: {_helper_detail(out or err, done.returncode)}.")
    try:
        answer = gojson.loads(out)
    except json.JSONDecodeError:
        answer = None
    if not (isinstance(answer, dict) and isinstance(answer.get("Username", ""), str)
            and isinstance(answer.get("Secret", ""), str)):
        raise SpyglassError(
            f"{failed}: its answer is not the expected JSON object with "
            '"Username" and "Secret".'
        )
    username: str = answer.get("Username", "")
    secret: str = answer.get("Secret", "")
    if not username and not secret:
        return None
    if username == TOKEN_USERNAME:
        return Credentials("", "", identity_token=secret, source=program)
    return Credentials(username, secret, source=program)


def _helper_detail(text: str, status: int) -> str:
    """What a failing helper said, if it looks like a message and not like data."""
    line = text.splitlines()[0].strip() if text else ""
    if not line or line.startswith(("{", "[")):
        return f"it exited with status {status}"
    if len(line) > _MAX_DETAIL:
        line = line[:_MAX_DETAIL] + "…"
    return f'it exited with status {status} and said "{line}"'
