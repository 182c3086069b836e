"""Media types, annotation keys and type URIs of signatures, attestations and SBOMs.

The values are those the producing tools write: cosign (``pkg/types``,
``pkg/oci/static``), the Notary Project specifications, containers/image
(``internal/signature``) and in-toto.
"""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------------- cosign

COSIGN_SIMPLESIGNING: Final = "application/vnd.dev.cosign.simplesigning.v1+json"
"""Layer media type of a cosign signature: the layer is the signed payload."""

DSSE_ENVELOPE: Final = "application/vnd.dsse.envelope.v1+json"
"""Layer media type of a cosign attestation: the layer is a DSSE envelope."""

IN_TOTO_PAYLOAD: Final = "application/vnd.in-toto+json"
"""The DSSE ``payloadType`` of an in-toto statement."""

COSIGN_SIGNATURE_ANNOTATION: Final = "dev.cosignproject.cosign/signature"
COSIGN_CERTIFICATE_ANNOTATION: Final = "dev.sigstore.cosign/certificate"
COSIGN_CHAIN_ANNOTATION: Final = "dev.sigstore.cosign/chain"
COSIGN_BUNDLE_ANNOTATION: Final = "dev.sigstore.cosign/bundle"
COSIGN_RFC3161_ANNOTATION: Final = "dev.sigstore.cosign/rfc3161timestamp"
COSIGN_PREDICATE_TYPE_ANNOTATION: Final = "predicateType"

COSIGN_PAYLOAD_TYPE: Final = "cosign container image signature"
"""``critical.type`` of a cosign simple-signing payload."""

ATOMIC_PAYLOAD_TYPE: Final = "atomic container signature"
"""``critical.type`` of a containers/image (GPG) simple-signing payload."""

# --------------------------------------------------------------------------- SBOMs

SPDX_JSON_TYPES: Final = frozenset({
    "text/spdx+json",
    "application/spdx+json",
    "spdx+json",  # cosign's SPDXJSONMediaType lacks a top-level type
})
SPDX_TEXT_TYPES: Final = frozenset({"text/spdx", "text/spdx+tag-value"})
CYCLONEDX_JSON_TYPES: Final = frozenset({"application/vnd.cyclonedx+json"})
CYCLONEDX_XML_TYPES: Final = frozenset({
    "application/vnd.cyclonedx+xml",
    "application/vnd.cyclonedx",
})
SYFT_JSON_TYPES: Final = frozenset({"application/vnd.syft+json"})
SBOM_TYPES: Final = (
    SPDX_JSON_TYPES | SPDX_TEXT_TYPES | CYCLONEDX_JSON_TYPES | CYCLONEDX_XML_TYPES
    | SYFT_JSON_TYPES
)

# in-toto predicate types that carry an SBOM, by the prefix cosign and syft use
SPDX_PREDICATE_PREFIX: Final = "https://spdx.dev/Document"
CYCLONEDX_PREDICATE_PREFIX: Final = "https://cyclonedx.org/bom"
SYFT_PREDICATE_PREFIX: Final = "https://syft.dev/bom"

# --------------------------------------------------------------------------- Notary Project

NOTARY_ARTIFACT_TYPE: Final = "application/vnd.cncf.notary.signature"
NOTARY_JWS: Final = "application/jose+json"
NOTARY_COSE: Final = "application/cose"
NOTARY_PAYLOAD: Final = "application/vnd.cncf.notary.payload.v1+json"

# --------------------------------------------------------------------------- containers/image dir:

DIR_SIMPLE_SIGNING_FORMAT: Final = "simple-signing"
DIR_SIGSTORE_FORMAT: Final = "sigstore-json"
