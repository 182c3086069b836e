"""What is attached to an attachment (a signature on an SBOM that refers to the image)
shows under that attachment in the Signatures tab, and is verified against it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from spyglass.core.signatures.model import Kind, Status
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.signatures import KIND, AttachmentRow, PartRow, SubjectRow
from tests.gui.guitools import show_image
from tests.gui.test_signatures import (
    SBOM_TYPE,
    add_signature,
    choose_file,  # noqa: F401 (a fixture)
    open_signatures,
    sbom_referrer,
    verify_with,
)
from tests.helpers import cosign
from tests.helpers.imagebuild import OCI_MANIFEST, ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.gui


def test_a_signature_on_the_sbom_shows_under_the_sbom(
    qtbot: QtBot, window: MainWindow, tmp_path: Path,
    choose_file: Callable[[Path], list[str]], qtmodeltester: object,  # noqa: F811
) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
    builder.tag(image, "app:1")
    manifest, blobs = sbom_referrer(image)
    for blob in blobs.values():
        builder.add_blob(blob)
    sbom = builder.add_blob(manifest)
    builder.tag({"mediaType": OCI_MANIFEST, **sbom, "artifactType": SBOM_TYPE}, None)
    key = cosign.generate_key("ecdsa-p256")
    add_signature(builder, str(sbom["digest"]), key)  # cosign sign on the SBOM's digest

    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    qtmodeltester.check(page.model)  # type: ignore[attr-defined]
    found = page.attachments
    assert found is not None and (found.count, found.nested) == (2, 1)
    assert page.caption.text().startswith(
        "<b>2</b> things attached: 1 cosign signature, 1 SBOM (1 of them attached to "
        "another of them). Select one")
    (subject,) = page.model.subjects
    (sbom_row,) = subject.children  # the image has the SBOM only
    assert sbom_row.content.kind is Kind.SBOM
    assert [type(row) for row in sbom_row.children] == [PartRow, AttachmentRow]
    (signature,) = sbom_row.attached
    assert signature.content.kind is Kind.COSIGN_SIGNATURE
    assert signature.parent is sbom_row and signature.subject == sbom_row.content.attachment.\
        descriptor.digest  # type: ignore[union-attr]
    # in the tree: image → SBOM → (its part, the signature)
    model = page.model
    under = model.index(1, KIND, model.index(0, KIND, model.index(0, KIND)))
    assert model.data(under) == "Cosign signature"
    assert model.row(under) is signature
    assert isinstance(model.row(model.parent(under)), AttachmentRow)
    assert isinstance(model.row(model.parent(model.parent(under))), SubjectRow)
    assert page.tree.isExpanded(model.parent(under))

    page.select(signature)
    rows = dict(page.detail_rows)
    assert rows["Attached to"].startswith("the SBOM ")
    assert rows["Names this image"] == "yes"  # the SBOM's digest, which it signs
    page.select(sbom_row)
    assert dict(page.detail_rows)["Attached to it"] == "1 thing"

    # verified against the SBOM, the manifest it is attached to
    page.select(signature)
    public = tmp_path / "cosign.pub"
    public.write_bytes(cosign.public_key_pem(key))
    verify_with(qtbot, page, choose_file, public)
    assert page.badge.status is Status.VERIFIED
