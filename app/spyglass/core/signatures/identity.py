"""Whether a signature's claimed identity is the image's, as containers/image's default
``signedIdentity`` rule (``matchRepoDigestOrExact``) decides.

A simple signing payload (GPG or cosign) names the image it signs twice: by manifest
digest and by ``critical.identity.docker-reference``. The digest alone says the bytes
are the same; the reference says where the signer meant them to be. A signature copied
with its image to another repository (a replayed signature) still matches the digest,
so containers/image also asks that the reference be the image's own: for an image named
by tag, the same reference exactly; for one named by digest, the same repository.
"""

from __future__ import annotations

from spyglass.core.errors import InvalidReference
from spyglass.core.reference import DockerReference, parse_docker_reference

__all__ = ["identity_note", "identity_refusal"]

RULE = ("containers/image's default signedIdentity rule, matchRepoDigestOrExact, which "
        "skopeo's policy applies, decides")


def identity_refusal(signed: str, image: DockerReference) -> str | None:
    """None when a signature naming ``signed`` is accepted for ``image``; else the
    sentence saying it is not, naming both."""
    start = (f'The signature is good, but it is not accepted for this image: it names "{signed}"'
             f', and this image is "{image}"')
    try:
        claimed = parse_docker_reference(signed, default_tag=False)
    except InvalidReference:
        return f"{start}; what it names is not an image reference (as {RULE})."
    if claimed.tag is None and claimed.digest is None:
        if claimed.name == image.name:
            return None  # as cosign signs (see identity_note)
        return (f"{start}; it names another repository, with neither tag nor digest, as "
                f"cosign signs (as {RULE}).")
    if image.tag is not None:
        if str(claimed) == str(image):
            return None
        return f"{start}; a signature is accepted for the very reference it names (as {RULE})."
    if image.digest is None:  # (a docker:// name has a tag or a digest)
        return f"{start}; this image is named by neither tag nor digest (as {RULE})."
    if claimed.name == image.name:
        return None
    return (f"{start}; for an image named by digest a signature is accepted when it names "
            f"the same repository (as {RULE}).")


def identity_note(signed: str, image: DockerReference) -> str | None:
    """What to know of a signature accepted for ``image`` that skopeo's policy, with its
    default rule, still refuses: one that names the image's repository alone, as cosign
    signs (``cosign verify`` accepts it; a replayed one names another repository)."""
    try:
        claimed = parse_docker_reference(signed, default_tag=False)
    except InvalidReference:
        return None
    if claimed.tag is None and claimed.digest is None and claimed.name == image.name:
        return (f"It names this image's repository alone (\"{signed}\"), as cosign signs: a "
                'skopeo policy accepts it only with "signedIdentity": {"type": '
                '"matchRepository"} (its default rule, matchRepoDigestOrExact, wants the '
                "tag or digest too).")
    return None
