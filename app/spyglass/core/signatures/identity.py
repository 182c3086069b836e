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

__all__ = ["identity_refusal"]

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
        same = " (this image's repository)" if claimed.name == image.name else ""
        return (f"{start}; it names a repository{same} with neither tag nor digest, as cosign "
                f"signs, which is not accepted (as {RULE}; a policy accepts it with "
                '"signedIdentity": {"type": "matchRepository"}).')
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
