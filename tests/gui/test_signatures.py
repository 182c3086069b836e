"""The Signatures tab and the signed/attachment tags of the tag list, in the real window.

Signatures are made with ``cryptography`` (tests/helpers/cosign.py) and stored as
cosign stores them: in an OCI layout (a ``sha256-<hex>.sig`` ref name and an SBOM
referrer whose manifest names the image as its ``subject``), and in a real
registry (docker-registry: a ``.sig`` tag pushed beside the image's tags).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from spyglass.core.signatures.model import Kind, Status
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.registry_rows import ATTACHMENT_ROLE, SIGNED_ROLE, TAG_ROLE
from spyglass.gui.models.signatures import (
    ARTIFACT_TYPE,
    CREATED,
    KIND,
    SIZE,
    AttachmentRow,
    PartRow,
    SignaturesModel,
)
from spyglass.gui.views.image_view import RAW, SIGNATURES
from spyglass.gui.views.signatures_page import SignaturesPage
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    accessible_cells,
    add_registry,
    show_image,
    wait_listed,
    wait_tags,
)
from tests.helpers import cosign, notary
from tests.helpers.imagebuild import (
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    dump_json,
    sha256_digest,
)
from tests.helpers.registry import RegistryServer, push_artifact, push_image

pytestmark = pytest.mark.gui

SBOM = json.dumps({"spdxVersion": "SPDX-2.3", "name": "app", "packages": []}).encode()
SBOM_TYPE = "application/spdx+json"


@dataclass(frozen=True)
class SignedLayout:
    path: Path
    image: str
    """The digest of ``app:1``, signed with ``key`` and with an SBOM referrer."""
    key: cosign.PrivateKey
    sig_tag: str


def add_signature(builder: LayoutBuilder, digest: str, key: cosign.PrivateKey) -> str:
    """Sign ``digest`` the cosign way into the layout: a manifest named ``sha256-<hex>.sig``."""
    payload = cosign.simple_signing_payload("example.com/team/app", digest,
                                            optional={"team": "spyglass"})
    content, annotations = cosign.signature_layer(payload, key)
    manifest, blobs = cosign.cosign_manifest(
        [(content, cosign.SIMPLESIGNING_MEDIA_TYPE, annotations)])
    for blob in blobs.values():
        builder.add_blob(blob)
    tag = cosign.cosign_tag(digest, "sig")
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(manifest)}, tag)
    return tag


def sbom_referrer(subject: dict[str, object]) -> tuple[bytes, dict[str, bytes]]:
    """An OCI 1.1 artifact manifest (an SPDX SBOM) whose ``subject`` is ``subject``."""
    empty = b"{}"
    manifest = dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SBOM_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": sha256_digest(empty), "size": 2},
        "layers": [{"mediaType": SBOM_TYPE, "digest": sha256_digest(SBOM), "size": len(SBOM)}],
        "subject": {"mediaType": subject["mediaType"], "digest": subject["digest"],
                    "size": subject["size"]},
        "annotations": {"org.opencontainers.image.created": "2026-02-03T04:05:06Z"},
    })
    return manifest, {sha256_digest(empty): empty, sha256_digest(SBOM): SBOM}


@pytest.fixture
def signed_layout(tmp_path: Path) -> SignedLayout:
    """``app:1`` signed (cosign, P-256) with an SBOM referrer; ``plain:1`` with nothing."""
    return build_signed_layout(tmp_path / "signed-layout")


def build_signed_layout(root: Path) -> SignedLayout:
    """The layout of :func:`signed_layout`, at ``root``."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
    builder.tag(image, "app:1")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/plain": b"plain\n"})])),
                "plain:1")
    key = cosign.generate_key("ecdsa-p256")
    tag = add_signature(builder, image["digest"], key)
    manifest, blobs = sbom_referrer(image)
    for blob in blobs.values():
        builder.add_blob(blob)
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(manifest),
                 "artifactType": SBOM_TYPE}, None)
    return SignedLayout(builder.root, image["digest"], key, tag)


def open_signatures(qtbot: QtBot, window: MainWindow) -> SignaturesPage:
    """Switch to the Signatures tab and wait until its answer is in."""
    view = window.image_view
    page = view.signatures
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS * 2):
        view.tabs.setCurrentIndex(SIGNATURES)
    return page


def attachment(page: SignaturesPage, kind: Kind) -> AttachmentRow:
    return next(a for a in page.model.attachment_rows() if a.content.kind is kind)


@pytest.fixture
def choose_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], list[str]]]:
    """Make the file dialog answer with a path; returns the filters it was offered."""
    offered: list[str] = []

    def answer(path: Path) -> list[str]:
        def fake(*args: object, **_kwargs: object) -> tuple[str, str]:
            offered.append(str(args[4]) if len(args) > 4 else "")
            return str(path), ""
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake))
        return offered

    yield answer


def verify_with(qtbot: QtBot, page: SignaturesPage, choose_file: Callable[[Path], list[str]],
                path: Path) -> None:
    choose_file(path)
    with qtbot.waitSignal(page.verified, timeout=WAIT_MS * 2):
        qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)


# -- the tab


def test_signatures_tab_lists_decodes_and_verifies(
    qtbot: QtBot, window: MainWindow, signed_layout: SignedLayout, tmp_path: Path,
    choose_file: Callable[[Path], list[str]], qtmodeltester: object,
) -> None:
    window.open_location(signed_layout.path, select=False)
    show_image(qtbot, window, "app:1")
    page = window.image_view.signatures
    # opening the image reads nothing attached yet: that waits for the tab
    assert page.attachments is None and not page.loading

    assert open_signatures(qtbot, window) is page
    assert page.error_text == ""
    assert page.stack.currentWidget() is page.content
    found = page.attachments
    assert found is not None and found.count == 2
    qtmodeltester.check(page.model)  # type: ignore[attr-defined]
    model: SignaturesModel = page.model
    subject = model.index(0, KIND)
    assert model.data(subject) == "Image"
    assert model.rowCount(subject) == 2
    # kinds capitalised alike (beside "Attestation: SLSA provenance"), artifact types by
    # a short name, their media type in the tooltip (cut in its middle, it lost what
    # told rows apart)
    kinds = {model.data(model.index(r, KIND, subject)) for r in range(2)}
    assert kinds == {"Cosign signature", "SBOM"}
    types = {model.data(model.index(r, ARTIFACT_TYPE, subject)): model.data(
        model.index(r, ARTIFACT_TYPE, subject), Qt.ItemDataRole.ToolTipRole) for r in range(2)}
    assert SBOM_TYPE in types["SPDX SBOM"]
    assert not page.tree.isColumnHidden(CREATED)  # (the SBOM says when it was made)
    assert page.tree.isExpanded(subject)
    assert page.caption.text().startswith(
        "<b>2</b> things attached: 1 cosign signature, 1 SBOM. Select one")

    # the signature: how it was found, what it says, whether it names this image
    signature = attachment(page, Kind.COSIGN_SIGNATURE)
    page.select(signature)
    rows = dict(page.detail_rows)
    assert rows["Found as"] == f"tag {signed_layout.sig_tag}"
    assert rows["Names this image"] == "yes"
    assert "example.com/team/app" in " ".join(rows.values())
    assert page.verify_button.isVisible() and page.verify_button.isEnabled()
    assert page.badge.status is Status.NOT_CHECKED and page.badge.text() == "not checked"

    # the SBOM referrer: its created time, nothing to verify
    sbom = attachment(page, Kind.SBOM)
    page.select(sbom)
    rows = dict(page.detail_rows)
    assert rows["Found as"] == "OCI referrer"
    assert rows["Created"] == "2026-02-03 04:05:06 UTC"
    assert not page.verify_button.isEnabled()
    assert page.badge.isHidden()
    part = sbom.children[0]
    assert isinstance(part, PartRow)
    # the referrer's manifest and its one part, each said as such: "Media type" and
    # "Size" came twice, the manifest's and the part's, with nothing to tell them apart
    labels = [label for label, _value in page.detail_rows]
    assert len(labels) == len(set(labels)), labels
    descriptor = sbom.content.attachment.descriptor
    assert descriptor is not None
    assert rows["Manifest digest"] == str(descriptor.digest)
    assert rows["Manifest media type"] == descriptor.media_type
    assert rows["Manifest size"] == f"{descriptor.size} bytes"
    assert rows["Part media type"] == SBOM_TYPE
    assert rows["Part size"] == f"{part.part.size} bytes"
    assert descriptor.size != part.part.size
    assert "Media type" not in rows and "Size" not in rows
    page.select(part)
    rows = dict(page.detail_rows)
    assert rows["Part media type"] == SBOM_TYPE and rows["Part size"] == f"{part.part.size} bytes"
    assert "Media type" not in rows and "Size" not in rows and "Manifest size" not in rows
    # a cosign signature: the manifest its payload signs is not the attachment's own
    page.select(signature)
    rows = dict(page.detail_rows)
    assert rows["Signed manifest digest"] != rows["Manifest digest"]
    assert "Part size" in rows and "Manifest size" in rows and "Size" not in rows

    # Verify with the right key, a wrong one, and a file that is no key
    page.select(signature)
    right = tmp_path / "cosign.pub"
    right.write_bytes(cosign.public_key_pem(signed_layout.key))
    verify_with(qtbot, page, choose_file, right)
    assert page.badge.status is Status.VERIFIED and page.badge.text() == "✓ verified"
    assert page.badge.isVisible()
    assert "cosign.pub" in page.verdict.text()

    wrong = tmp_path / "other.pub"
    wrong.write_bytes(cosign.public_key_pem(cosign.generate_key("ecdsa-p256")))
    verify_with(qtbot, page, choose_file, wrong)
    assert page.badge.status is Status.BAD_SIGNATURE
    assert page.badge.text() == "✗ bad signature"

    junk = tmp_path / "notes.txt"
    junk.write_text("not a key at all\n")
    verify_with(qtbot, page, choose_file, junk)
    # a file that is no key gives no verdict: the one before stands, said after why
    assert page.badge.status is Status.BAD_SIGNATURE
    said = page.verdict.text()
    assert "notes.txt" in said and "Signature not valid for the key other.pub.\n" in said
    assert page.verdict.toolTip().endswith("(Key: other.pub)")
    assert " The check before stands: " in said

    # the result stays with its row while others are looked at
    page.select(sbom)
    page.select(signature)
    assert page.badge.status is Status.BAD_SIGNATURE
    page.select(signature.children[0])
    assert page.badge.status is Status.NOT_CHECKED  # the part row was never checked


@pytest.mark.usefixtures("big_font")
def test_at_16_pt_and_1024_px_the_artifact_type_stays_readable(
    qtbot: QtBot, make_window: Callable[..., MainWindow], signed_layout: SignedLayout,
) -> None:
    """The artifact type (the column that takes what is left) collapsed to "…" while the
    other columns kept room for texts they did not show (a whole timestamp, say)."""
    window = make_window()
    window.resize(1024, 640)
    window.open_location(signed_layout.path, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    tree, model = page.tree, page.model
    header = tree.header()
    metrics = tree.fontMetrics()
    subject = model.index(0, KIND)
    least = metrics.horizontalAdvance("application/vnd.dev.cosign")  # (its start)

    def readable() -> None:
        assert header.sectionSize(ARTIFACT_TYPE) >= least
        for row in range(model.rowCount(subject)):  # what the others show, whole
            for column in (SIZE, CREATED):
                text = str(model.index(row, column, subject).data() or "")
                assert header.sectionSize(column) >= metrics.horizontalAdvance(text)

    qtbot.waitUntil(readable, timeout=WAIT_MS)


def test_cancelled_file_dialog_checks_nothing(
    qtbot: QtBot, window: MainWindow, signed_layout: SignedLayout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window.open_location(signed_layout.path, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    page.select(attachment(page, Kind.COSIGN_SIGNATURE))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *_args, **_kwargs: ("", "")))
    with qtbot.assertNotEmitted(page.verified, wait=200):
        qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
    assert page.badge.status is Status.NOT_CHECKED


def test_nothing_attached_and_another_image_reloads(
    qtbot: QtBot, window: MainWindow, signed_layout: SignedLayout,
) -> None:
    window.open_location(signed_layout.path, select=False)
    show_image(qtbot, window, "plain:1")
    page = open_signatures(qtbot, window)
    assert page.attachments is not None and page.attachments.count == 0
    assert page.stack.currentWidget() is page.panel
    assert page.panel.title.text() == "Nothing is attached to this image"

    # with the tab showing, another image is read as soon as it is shown
    view = window.image_view
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS * 2):
        show_image(qtbot, window, "app:1")
    assert page.attachments is not None and page.attachments.count == 2
    assert view.tabs.currentIndex() == SIGNATURES
    assert view.tabs.tabText(SIGNATURES) == "Signatures"
    assert view.tabs.tabText(RAW) == "Raw JSON"


def test_a_stale_answer_is_dropped(
    qtbot: QtBot, window: MainWindow, signed_layout: SignedLayout,
) -> None:
    """Leaving an image while its attachments are read: the late answer never shows."""
    window.open_location(signed_layout.path, select=False)
    show_image(qtbot, window, "app:1")
    view = window.image_view
    page = view.signatures
    view.tabs.setCurrentIndex(SIGNATURES)
    assert page.loading
    with qtbot.waitSignal(window.runner.jobDropped, timeout=WAIT_MS * 2,
                          check_params_cb=lambda key: key == "signatures"):
        show_image(qtbot, window, "plain:1")
        view.tabs.setCurrentIndex(SIGNATURES)
        qtbot.waitUntil(lambda: page.attachments is not None, timeout=WAIT_MS * 2)
    assert page.attachments is not None and page.attachments.count == 0


# -- the registry: attachment tags hidden, signed tags marked


SIGNED_REPO = "signed/app"


@dataclass(frozen=True)
class SignedRegistry:
    facts: RegistryFacts
    key: cosign.PrivateKey
    sig_tag: str
    referrers_tag: str


@pytest.fixture(scope="module")
def signed_registry(registry_binary: str, sample_layout: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedRegistry]:
    """``signed/app``: 1.0 and latest are one (signed) image, 2.0 another (unsigned); beside
    them cosign's ``.sig`` tag and a referrers-schema ``sha256-<hex>`` tag."""
    work = tmp_path_factory.mktemp("signed-registry")
    builder = LayoutBuilder(work / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/v2": b"2\n"})])), "two")
    with RegistryServer(binary=registry_binary) as server:
        digest = push_image(server, sample_layout, "spyglass-demo:1.0", f"{SIGNED_REPO}:1.0")
        push_image(server, sample_layout, "spyglass-demo:1.0", f"{SIGNED_REPO}:latest")
        other = push_image(server, builder.root, "two", f"{SIGNED_REPO}:2.0")
        key = cosign.generate_key("ecdsa-p256")
        payload = cosign.simple_signing_payload(f"{server.host}/{SIGNED_REPO}", digest)
        content, annotations = cosign.signature_layer(payload, key)
        manifest, blobs = cosign.cosign_manifest(
            [(content, cosign.SIMPLESIGNING_MEDIA_TYPE, annotations)])
        sig_tag = cosign.cosign_tag(digest, "sig")
        push_artifact(server, SIGNED_REPO, manifest, blobs, sig_tag)
        # an SBOM for 2.0 through the referrers tag schema
        two = json.loads(builder.read_blob(other))
        subject = {"mediaType": two["mediaType"], "digest": other,
                   "size": len(builder.read_blob(other))}
        sbom_manifest, sbom_blobs = sbom_referrer(subject)
        sbom_digest = push_artifact(server, SIGNED_REPO, sbom_manifest, sbom_blobs,
                                    sha256_digest(sbom_manifest))
        index = dump_json({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": [{"mediaType": OCI_MANIFEST, "digest": sbom_digest,
                                          "size": len(sbom_manifest),
                                          "artifactType": SBOM_TYPE}]})
        referrers_tag = other.replace(":", "-")
        push_artifact(server, SIGNED_REPO, index, {}, referrers_tag,
                      media_type="application/vnd.oci.image.index.v1+json")
        facts = RegistryFacts(server, {f"{SIGNED_REPO}:1.0": digest,
                                       f"{SIGNED_REPO}:2.0": other})
        yield SignedRegistry(facts, key, sig_tag, referrers_tag)


def test_tag_list_hides_attachment_tags_and_marks_signed_ones(
    qtbot: QtBot, window: MainWindow, signed_registry: SignedRegistry, tmp_path: Path,
    choose_file: Callable[[Path], list[str]],
) -> None:
    host = signed_registry.facts.host
    add_registry(qtbot, window, host, insecure=True)
    registries = window.registries
    model = registries.model
    repo = model.open_repository(model.registry_index(host), SIGNED_REPO)
    registries.tree.setCurrentIndex(repo)
    registries.tree.expand(repo)
    every = wait_tags(qtbot, window, host, SIGNED_REPO)
    repo = model.repository_index(host, SIGNED_REPO)
    assert set(every) == {"1.0", "2.0", "latest", signed_registry.sig_tag,
                          signed_registry.referrers_tag}
    page = registries.repository_page
    assert window.content.currentWidget() is page

    # hidden by default, in the page and in the tree; the count says so
    assert page.tag_texts() == ["1.0", "2.0", "latest"]
    assert page.attachments_box.isVisible() and not page.attachments_box.isChecked()
    # the header and the count say the tags the list shows, the hidden ones apart: the
    # header said "5 tags" beside a list of three
    # (the count beside the filter says how many are hidden; the header, which said it
    # again in other words and wrapped at 900 px, does not, nor the count: once is enough)
    assert page.count.text() == "3 tags · 2 hidden"
    assert page.count.toolTip() == "2 signature and referrer tags are hidden"
    assert page.header.subtitle.text() == host
    # the tree's row counted them among its tags ("5 tags" over three rows)
    assert "3 tags (and 2 signature and referrer tags)" in model.data(
        repo, Qt.ItemDataRole.ToolTipRole)
    tree = registries.tree
    hidden = {model.data(model.index(r, 0, repo), TAG_ROLE)
              for r in range(model.rowCount(repo)) if tree.isRowHidden(r, repo)}
    assert hidden == {signed_registry.sig_tag, signed_registry.referrers_tag}
    for tag in hidden:
        assert model.data(model.tag_index(host, SIGNED_REPO, tag), ATTACHMENT_ROLE) is True

    # the signed image's tags wear the badge once their digests are known
    def marked() -> None:
        for tag, signed in (("1.0", True), ("latest", True), ("2.0", False)):
            index = model.tag_index(host, SIGNED_REPO, tag)
            assert model.data(index, SIGNED_ROLE) is signed, tag
    qtbot.waitUntil(marked, timeout=WAIT_MS)
    # the pill is painted: a screen reader is told it in the cell's text
    for view in (page.table, registries.tree):
        cells = accessible_cells(view)
        assert {"1.0, signed", "latest, signed", "2.0"} <= set(cells), cells
    tooltip = model.data(model.tag_index(host, SIGNED_REPO, "1.0"),
                         Qt.ItemDataRole.ToolTipRole)
    assert "Signed" in tooltip and signed_registry.sig_tag in tooltip

    # the toggle shows them, in both places
    qtbot.mouseClick(page.attachments_box, Qt.MouseButton.LeftButton)
    assert page.attachments_box.isChecked() and registries.show_attachments
    assert window.settings.show_attachment_tags  # kept for the next start
    assert set(page.tag_texts()) == set(every)
    assert page.count.text() == "5 tags"
    assert page.header.subtitle.text() == host
    assert not any(tree.isRowHidden(r, repo) for r in range(model.rowCount(repo)))
    qtbot.mouseClick(page.attachments_box, Qt.MouseButton.LeftButton)
    assert not window.settings.show_attachment_tags
    assert page.tag_texts() == ["1.0", "2.0", "latest"]
    assert sum(tree.isRowHidden(r, repo) for r in range(model.rowCount(repo))) == 2

    # the signed tag opened: its Signatures tab finds the .sig tag and it verifies
    view = window.image_view
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS * 2):
        tree.setCurrentIndex(model.tag_index(host, SIGNED_REPO, "1.0"))
    sigs = open_signatures(qtbot, window)
    found = sigs.attachments
    assert found is not None
    assert found.subjects[0].label == "manifest list" and len(found.subjects) > 1
    signature = attachment(sigs, Kind.COSIGN_SIGNATURE)
    assert signature.content.attachment.found == f"tag {signed_registry.sig_tag}"
    sigs.select(signature)
    assert dict(sigs.detail_rows)["Names this image"] == "yes"
    assert sigs.tree.isColumnHidden(CREATED)  # (no row says when it was made)
    key_file = tmp_path / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(signed_registry.key))
    verify_with(qtbot, sigs, choose_file, key_file)
    assert sigs.badge.status is Status.VERIFIED
    # it names the repository alone, as cosign signs: verified, and the note says what a
    # skopeo policy makes of it (as spyglass signatures does)
    # (the verdict leads with a plain sentence; the policy's terms are in its tooltip)
    assert sigs.verdict.text().startswith("Signature valid — made with the key cosign.pub")
    assert "matchRepoDigestOrExact" not in sigs.verdict.text()
    assert "names this image's repository alone" in sigs.verdict.toolTip()

    # 2.0: the SBOM referrer found through the sha256-<hex> tag
    with qtbot.waitSignal(sigs.loaded, timeout=WAIT_MS * 2):
        tree.setCurrentIndex(model.tag_index(host, SIGNED_REPO, "2.0"))
    found = sigs.attachments
    assert found is not None and found.count == 1
    assert attachment(sigs, Kind.SBOM).content.attachment.found == "OCI referrer"


def test_a_layouts_attachments_are_not_listed_as_images(
    qtbot: QtBot, window: MainWindow, signed_layout: SignedLayout
) -> None:
    """The cosign ``.sig`` entry and the unnamed SBOM referrer of the layout belong to
    ``app:1``'s Signatures tab, not to the list of images."""
    window.open_location(signed_layout.path, select=False)
    wait_listed(qtbot, window)
    location = window.places.index(0, 0)
    labels = sorted(
        window.places.data(window.places.index(row, 0, location))
        for row in range(window.places.rowCount(location))
    )
    assert labels == ["app:1", "plain:1"]
    assert not window.places.find_image(signed_layout.sig_tag, 0).isValid()


def place_labels(window: MainWindow, row: int = 0) -> list[str]:
    location = window.places.index(row, 0)
    return [window.places.data(window.places.index(child, 0, location))
            for child in range(window.places.rowCount(location))]


def test_what_is_attached_to_an_image_the_layout_does_not_hold_is_listed(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """A layout left with only the cosign signature and the SBOM referrer of an image it
    no longer names lists those two, and says what they are, rather than look empty:
    they would show in no image's Signatures tab."""
    builder = LayoutBuilder(tmp_path / "orphans")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
    tag = add_signature(builder, image["digest"], cosign.generate_key("ecdsa-p256"))
    manifest, blobs = sbom_referrer(image)
    for blob in blobs.values():
        builder.add_blob(blob)
    sbom = builder.add_blob(manifest)
    builder.tag({"mediaType": OCI_MANIFEST, **sbom, "artifactType": SBOM_TYPE}, None)
    window.open_location(builder.root, select=False)
    wait_listed(qtbot, window)
    sbom_label = "@sha256:" + sbom["digest"][7:19]
    assert place_labels(window) == [tag, sbom_label]
    location = window.places.index(0, 0)
    assert window.places.data(location, Qt.ItemDataRole.ToolTipRole).endswith(
        "<p>no images, only 2 signatures or referrers of images not in it.</p>")
    row = window.places.find_image(sbom_label, 0)
    assert window.places.data(row, Qt.ItemDataRole.ToolTipRole).endswith(
        f"\nAttached to {image['digest']}, which is not here.")
    window.tree.setCurrentIndex(location)
    view = window.image_view
    qtbot.waitUntil(lambda: view.location.title.text() == "orphans", timeout=WAIT_MS)
    assert view.location.body.text().endswith(
        "\nNo images, only 2 signatures or referrers of images not in it — select one on "
        "the left to inspect it.")
    show_image(qtbot, window, tag)  # and each opens
    assert view.state is not None and view.state.entry.attached_to is not None


def test_what_is_attached_to_a_list_s_image_or_to_a_referrer_is_not_listed(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """Attached to an image of a list the layout holds, or to a referrer of it (a
    signature of an SBOM), is attached to something there: it goes with that image."""
    builder = LayoutBuilder(tmp_path / "list")
    amd64 = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    arm64 = builder.add_image(ImageSpec(architecture="arm64",
                                        layers=[LayerSpec({"/b": b"b\n"})]))
    builder.tag(builder.add_index([amd64, arm64]), "multi:1")
    add_signature(builder, amd64["digest"], cosign.generate_key("ecdsa-p256"))
    sbom = builder.add_referrer(amd64, SBOM_TYPE)
    builder.tag(sbom, None)
    builder.tag(builder.add_referrer(sbom, "application/vnd.dev.sigstore.bundle+json"), None)
    window.open_location(builder.root, select=False)
    wait_listed(qtbot, window)
    assert place_labels(window) == ["multi:1"]
    assert window.places.data(window.places.index(0, 0), Qt.ItemDataRole.ToolTipRole) \
        .endswith("<p>1 image.</p>")


def test_a_cosign_save_layout_is_one_image_with_its_signatures(
    qtbot: QtBot, window: MainWindow, tmp_path: Path,
    choose_file: Callable[[Path], list[str]],
) -> None:
    """What ``cosign save`` wrote (no names; the image, its signatures and attestations
    annotated ``kind``) is one image in the places, and the other two entries are its
    Signatures tab's, verified with the key that signed them."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved")
    window.open_location(saved.root, select=False)
    wait_listed(qtbot, window)
    location = window.places.index(0, 0)
    labels = [window.places.data(window.places.index(row, 0, location))
              for row in range(window.places.rowCount(location))]
    assert labels == ["@sha256:" + saved.image[7:19]]
    show_image(qtbot, window, labels[0])
    page = open_signatures(qtbot, window)
    assert page.attachments is not None and page.attachments.count == 2
    assert {a.content.kind for a in page.model.attachment_rows()} == {
        Kind.COSIGN_SIGNATURE, Kind.ATTESTATION}
    signature = attachment(page, Kind.COSIGN_SIGNATURE)
    page.select(signature)
    rows = dict(page.detail_rows)
    assert rows["Found as"] == f"cosign save entry {cosign.cosign_tag(saved.image, 'sig')}"
    assert rows["Names this image"] == "yes"
    key = tmp_path / "cosign.pub"
    key.write_bytes(cosign.public_key_pem(saved.key))
    verify_with(qtbot, page, choose_file, key)
    assert page.badge.status is Status.VERIFIED


def test_a_signature_replayed_from_another_repository_is_the_wrong_image(
    qtbot: QtBot, window: MainWindow, signed_registry: SignedRegistry, sample_layout: Path,
    tmp_path: Path, choose_file: Callable[[Path], list[str]],
) -> None:
    """The image and its good signature copied to another repository: the digest is the
    image's, but the reference it signs is signed/app's. The window verified it (the
    command line says "wrong image"); it compares the reference now, as the command line."""
    server = signed_registry.facts.server
    host = server.host
    digest = push_image(server, sample_layout, "spyglass-demo:1.0", "replayed/app:1.0")
    payload = cosign.simple_signing_payload(f"{host}/{SIGNED_REPO}", digest)
    content, annotations = cosign.signature_layer(payload, signed_registry.key)
    manifest, blobs = cosign.cosign_manifest(
        [(content, cosign.SIMPLESIGNING_MEDIA_TYPE, annotations)])
    push_artifact(server, "replayed/app", manifest, blobs, cosign.cosign_tag(digest, "sig"))
    add_registry(qtbot, window, host, insecure=True)
    model = window.registries.model
    repo = model.open_repository(model.registry_index(host), "replayed/app")
    window.registries.tree.expand(repo)
    wait_tags(qtbot, window, host, "replayed/app")
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS * 2):
        window.registries.tree.setCurrentIndex(model.tag_index(host, "replayed/app", "1.0"))
    sigs = open_signatures(qtbot, window)
    sigs.select(attachment(sigs, Kind.COSIGN_SIGNATURE))
    assert dict(sigs.detail_rows)["Names this image"] == "no"
    key_file = tmp_path / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(signed_registry.key))
    verify_with(qtbot, sigs, choose_file, key_file)
    assert sigs.badge.status is Status.WRONG_IMAGE
    said = sigs.verdict.text()
    assert f'it names "{host}/{SIGNED_REPO}", and this image is "{host}/replayed/app:1.0"' \
        in said
    assert "another repository" in said


def test_a_notary_signature_checked_with_a_ca_names_who_signed(
    qtbot: QtBot, window: MainWindow, tmp_path: Path,
    choose_file: Callable[[Path], list[str]],
) -> None:
    """A Notary v2 signature verified through the CA certificate given: the CA did not make
    it, so the verdict names the signer the CA vouches for, not "the key ca.crt"."""
    builder = LayoutBuilder(tmp_path / "notary-layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
    builder.tag(image, "app:1")
    ca_key = cosign.generate_key()
    ca = cosign.make_certificate(ca_key, common_name="Test CA", ca=True)
    alice_key = cosign.generate_key()
    alice = cosign.make_certificate(alice_key, common_name="Alice", issuer_key=ca_key,
                                    issuer_certificate=ca)
    envelope = notary.jws_envelope(alice_key, [alice, ca],
                                   notary.notary_payload(image["digest"], image["size"]))
    empty = builder.add_blob(b"{}")
    referrer = dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": notary.SIGNATURE_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": notary.JWS, **builder.add_blob(envelope)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image["digest"],
                    "size": image["size"]},
    })
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(referrer),
                 "artifactType": notary.SIGNATURE_TYPE}, None)
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    page.select(attachment(page, Kind.NOTARY_SIGNATURE))
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(cosign.certificate_pem(ca))
    verify_with(qtbot, page, choose_file, ca_file)
    assert page.badge.status is Status.VERIFIED
    assert page.verdict.text() == \
        "Signature valid — signed by CN=Alice, whom ca.crt trusts, for this image."


def _open_registry_image(qtbot: QtBot, window: MainWindow, host: str, repository: str,
                         tag: str) -> SignaturesPage:
    """Show ``repository:tag`` of the registry ``host`` (added already) and its
    Signatures tab."""
    model = window.registries.model
    repo = model.open_repository(model.registry_index(host), repository)
    window.registries.tree.expand(repo)
    wait_tags(qtbot, window, host, repository)
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS * 2):
        window.registries.tree.setCurrentIndex(model.tag_index(host, repository, tag))
    return open_signatures(qtbot, window)


def test_a_referrers_index_entry_that_is_no_referrer_of_the_image_is_not_shown(
    qtbot: QtBot, window: MainWindow, signed_registry: SignedRegistry, sample_layout: Path,
) -> None:
    """The image's referrers index (the registry has no referrers API) lists an SBOM whose
    own subject is another manifest beside the image's own SBOM; another image's index
    lists that image itself. The tab showed each as attached ('1 thing attached: 1
    SBOM' for an image with nothing attached); it leaves them out and says why."""
    server = signed_registry.facts.server
    host = server.host
    pushed = {repository: push_image(server, sample_layout, "spyglass-demo:1.0",
                                     f"{repository}:1.0")
              for repository in ("misplaced/app", "itself/app")}
    image = pushed["misplaced/app"]  # (the sample's list: the same in both)
    index_type = "application/vnd.oci.image.index.v1+json"
    with server.client() as client:
        answer = client.get(f"/v2/misplaced/app/manifests/{image}",
                            headers={"Accept": index_type})
    subject = {"mediaType": index_type, "digest": image, "size": len(answer.content)}
    elsewhere = {**subject, "digest": "sha256:" + "ef" * 32}
    entries = []
    for names in (elsewhere, subject):
        manifest, blobs = sbom_referrer(names)
        digest = push_artifact(server, "misplaced/app", manifest, blobs,
                               sha256_digest(manifest))
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest),
                        "artifactType": SBOM_TYPE})
    tag = image.replace(":", "-")
    push_artifact(server, "misplaced/app",
                  dump_json({"schemaVersion": 2, "mediaType": index_type,
                             "manifests": entries}), {}, tag, media_type=index_type)
    push_artifact(server, "itself/app",
                  dump_json({"schemaVersion": 2, "mediaType": index_type,
                             "manifests": [{**subject, "artifactType": SBOM_TYPE}]}),
                  {}, tag, media_type=index_type)
    add_registry(qtbot, window, host, insecure=True)

    sigs = _open_registry_image(qtbot, window, host, "misplaced/app", "1.0")
    found = sigs.attachments
    assert found is not None and found.count == 1
    (sbom,) = sigs.model.attachment_rows()
    assert sbom.content.attachment.descriptor is not None
    assert str(sbom.content.attachment.descriptor.digest) == entries[1]["digest"]
    note = (f"The referrers index {tag} lists {entries[0]['digest']}, whose subject is "
            f"{elsewhere['digest']}, not {image}: not listed as attached to it.")
    assert found.notes == (note,)
    assert sigs.caption.text().startswith("<b>1</b> thing attached: 1 SBOM")
    assert sigs.caption.text().endswith(f"<br>{note}")

    sigs = _open_registry_image(qtbot, window, host, "itself/app", "1.0")
    found = sigs.attachments
    assert found is not None and found.count == 0
    assert sigs.stack.currentWidget() is sigs.panel
    assert sigs.panel.title.text() == "Nothing is attached to this image"
    assert sigs.panel.body.text().endswith(
        f" The referrers index {tag} lists {image} itself: not listed as attached to it.")


def test_a_hidden_created_column_leaves_no_empty_strip_at_the_rows_end(
    qtbot: QtBot, window: MainWindow, tmp_path: Path,
) -> None:
    """With no row saying when it was made, the Created column was hidden but its width
    still taken from the others: rows, selection and bands stopped some 70 px short of
    the tree's right edge."""
    builder = LayoutBuilder(tmp_path / "signed-only")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
    builder.tag(image, "app:1")
    add_signature(builder, image["digest"], cosign.generate_key("ecdsa-p256"))
    window.resize(1400, 700)  # (room for every column: narrower, the tree scrolls sideways)
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    tree = page.tree
    assert tree.isColumnHidden(CREATED)
    header = tree.header()

    def rows_reach_the_end() -> None:
        shown = sum(header.sectionSize(column) for column in range(header.count())
                    if not tree.isColumnHidden(column))
        assert shown == tree.viewport().width(), (shown, tree.viewport().width())

    qtbot.waitUntil(rows_reach_the_end, timeout=WAIT_MS)
    window.resize(window.width() + 120, window.height())  # (and as the tree widens)
    qtbot.waitUntil(rows_reach_the_end, timeout=WAIT_MS)


@pytest.mark.parametrize("points", [None, 12.0, 20.0])
def test_the_status_badge_is_round_at_every_font(qtbot: QtBot, points: float | None) -> None:
    """Its radius was 9 px whatever its height: at the default font the badge is 17 px
    high, Qt dropped a radius more than half of it, and the pill was a plain rectangle."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from spyglass.gui.views.signatures_page import BADGE_STYLES, Badge

    holder = QWidget()
    qtbot.addWidget(holder)
    layout = QVBoxLayout(holder)
    badge = Badge()
    if points is not None:
        font = badge.font()
        font.setPointSizeF(points)
        badge.setFont(font)
    badge.set_status(Status.VERIFIED)
    layout.addWidget(badge)
    holder.show()
    qtbot.waitExposed(holder)
    green = QColor(BADGE_STYLES[Status.VERIFIED][0])

    def round_ends() -> None:
        image = holder.grab(badge.geometry()).toImage()  # (on what is behind it)
        middle = image.height() // 2
        assert image.pixelColor(1, middle) == green, image.size()  # (the pill's end)
        for x, y in ((0, 0), (image.width() - 1, 0), (0, image.height() - 1),
                     (image.width() - 1, image.height() - 1)):  # (its corners: not)
            assert image.pixelColor(x, y) != green, (x, y, image.size())

    qtbot.waitUntil(round_ends)
    badge.set_status(Status.BAD_SIGNATURE)  # (a new status keeps them round)
    green = QColor(BADGE_STYLES[Status.BAD_SIGNATURE][0])
    qtbot.waitUntil(round_ends)
