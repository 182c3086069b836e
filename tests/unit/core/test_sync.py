"""What ``sync`` copies and the names it gives, without a registry (tags from a table).

The names follow skopeo sync 1.9 (checked by hand against it, and against the real
thing in tests/integration/test_sync.py): ``DESTINATION/`` plus the source's last
part, or with ``--scoped`` its whole name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.errors import RepositoryNotFound, SpyglassError
from spyglass.core.reference import DirName, DockerName, DockerReference
from spyglass.core.sync import SyncRequest, list_sources
from spyglass.core.transports.registry import RegistryOptions

TAGS = {"r.example:5000/team/app": ["1.0", "2.0", "nightly-1"],
        "r.example:5000/team/db": ["15", "16"], "r.example/none": [],
        "r.example/signed": ["v1", "sha256-" + "a" * 64 + ".sig", "sha256-" + "a" * 64,
                             "sha256-" + "b" * 64 + ".att", "sha256-" + "c" * 64 + ".sbom",
                             "sha256-short", "sha256-" + "d" * 64 + ".other"]}


def tags(repository: DockerReference, options: RegistryOptions | None) -> list[str]:
    if repository.name not in TAGS:
        raise RepositoryNotFound(f"Listing the tags of {repository.name} failed: the "
                                 "registry has no such repository.")
    return TAGS[repository.name]


def names(request: SyncRequest) -> list[tuple[str, str]]:
    return [(str(image.source), str(image.destination))
            for source in list_sources(request, tags) for image in source.images]


def test_a_repository_is_every_tag_named_after_its_last_part() -> None:
    request = SyncRequest("docker", "r.example:5000/team/app", "docker", "m.example/mirror")
    assert names(request) == [
        (f"docker://r.example:5000/team/app:{tag}", f"docker://m.example/mirror/app:{tag}")
        for tag in ("1.0", "2.0", "nightly-1")]


def test_scoped_names_keep_the_whole_source_name(tmp_path: Path) -> None:
    request = SyncRequest("docker", "r.example/team/app:2.0", "dir", str(tmp_path / "out"),
                          scoped=True)
    assert names(request) == [("docker://r.example/team/app:2.0",
                               f"dir:{tmp_path}/out/r.example/team/app:2.0")]
    # Docker Hub names are written in full, as skopeo writes them
    hub = SyncRequest("docker", "alpine:3", "dir", "out", scoped=True)
    assert names(hub)[0][1] == "dir:out/docker.io/library/alpine:3"


def test_a_scoped_name_with_a_port_cannot_be_a_repository() -> None:
    request = SyncRequest("docker", "r.example:5000/team/app:1.0", "docker", "m.example",
                          scoped=True)
    with pytest.raises(SpyglassError, match=r"registry port included.*leave out --scoped"):
        names(request)


def test_a_dir_folder_is_each_image_under_it(tmp_path: Path) -> None:
    for folder in ("a/app:1.0", "a/app:2.0", "b/db", "a/app:1.0/inner"):
        (tmp_path / "src" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / folder / "manifest.json").write_text("{}")
    (tmp_path / "src" / "not-an-image").mkdir()
    base = str(tmp_path / "src")
    plain = SyncRequest("dir", base, "docker", "m.example/x")
    assert [d for _s, d in names(plain)] == [
        "docker://m.example/x/app:1.0", "docker://m.example/x/app:2.0",
        "docker://m.example/x/db:latest"]  # what is under an image is not looked into
    scoped = SyncRequest("dir", base, "docker", "m.example/x", scoped=True)
    assert next(d for _s, d in names(scoped)) == "docker://m.example/x/a/app:1.0"
    one = SyncRequest("dir", str(tmp_path / "src/a/app:2.0"), "docker", "m.example/x",
                      scoped=True)
    assert names(one) == [(f"dir:{tmp_path}/src/a/app:2.0", "docker://m.example/x/app:2.0")]


def test_a_yaml_file_lists_tags_digests_and_tags_by_expression(tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    path = tmp_path / "sync.yaml"
    path.write_text(f"""
r.example:5000:
  images:
    team/db: []
    team/app: ["1.0", "{digest}"]
  images-by-tag-regex:
    team/app: ^nightly-
  credentials: {{username: u, password: p}}
  tls-verify: false
""")
    request = SyncRequest("yaml", str(path), "docker", "m.example")
    sources = list_sources(request, tags)
    assert [source.label for source in sources] == [
        "r.example:5000/team/db", "r.example:5000/team/app", "r.example:5000/team/app"]
    assert [str(image.destination) for source in sources for image in source.images] == [
        "docker://m.example/db:15", "docker://m.example/db:16", "docker://m.example/app:1.0",
        f"docker://m.example/app@{digest}", "docker://m.example/app:nightly-1"]
    options = sources[0].images[0].registry
    assert options is not None and options.tls_verify is False
    assert options.credentials is not None and options.credentials.username == "u"


@pytest.mark.parametrize(("text", "said"), [
    ("- a\n", "it holds a list where a mapping of registries was expected"),
    ("r.example:\n  image:\n    app: []\n", '"image" is not a key skopeo reads'),
    ("r.example:\n  images: [app]\n", "images is a list where a mapping"),
    ("r.example:\n  images:\n    app: latest\n", '"app" has a string where a list of tags'),
    ("r.example:\n  images-by-tag-regex:\n    app: '(['\n", "is no regular expression"),
    # Python's syntax, which skopeo (Go) refuses: it synced the tags it matched
    ("r.example:\n  images-by-tag-regex:\n    app: 'lat(?=est)'\n",
     'images-by-tag-regex: "lat(?=est)" for "app" is no regular expression Go reads, as '
     "skopeo reads it ((?= is not Go's syntax: Go reads (?P<name>…), and the flags i, m, s "
     "and U as (?i) or (?i:…); lookarounds, (?#…), (?>…), (?P=name) and other flags are "
     'Python\'s; skopeo skips such a repository, saying "Error parsing regex")'),
    ("r.example:\n  tls-verify: maybe\n", "tls-verify must be true or false"),
    ("r.example:\n  images-by-semver:\n    app: '>=1.0'\n",
     '"images-by-semver" is newer skopeo\'s key (tags by a version range), which this sync '
     "does not read: list the tags under images, or match them with images-by-tag-regex"),
    ("", "names no registry"),
    ("r.example:\n", 'the registry "r.example" has no value where a mapping was expected'),
])
def test_a_yaml_file_of_the_wrong_shape_is_a_sentence_naming_it(
    tmp_path: Path, text: str, said: str
) -> None:
    path, refusal = yaml_refusal(tmp_path, text)
    assert f'"{path}"' in refusal and said in refusal


def yaml_refusal(tmp_path: Path, text: str) -> tuple[Path, str]:
    """A yaml source file holding ``text``, and the sentence listing its images raises."""
    path = tmp_path / "sync.yaml"
    path.write_text(text)
    with pytest.raises(SpyglassError) as caught:
        list_sources(SyncRequest("yaml", str(path), "docker", "m.example"), tags)
    return path, str(caught.value)


@pytest.mark.parametrize(("text", "said"), [
    ("r.example: [1\n", " at line 2, column 1: expected ',' or ']', but got '<stream end>' "
     "(parsing a flow sequence begun at line 1, column 12)."),
    ("r.example:\n  images:\n    team/app: [\"1.0\"\n",
     " at line 4, column 1: expected ',' or ']', but got '<stream end>' (parsing a flow "
     "sequence begun at line 3, column 15)."),
    ("r.example:\n  x: \"\x01\"\n", ": the character U+0001 at position 18 is not allowed."),
    # an IPv6 registry unquoted: YAML reads a flow list, then a stray ':'
    ("[::1]:45601:\n  images:\n    team/app: [\"1.0\"]\n",
     " at line 1, column 2: expected the node content, but found ':'; YAML reads a key "
     'starting with "[" as a list: quote the registry, as "[::1]:45601".'),
])
def test_malformed_yaml_is_one_line_naming_the_file_line_and_column(
    tmp_path: Path, text: str, said: str
) -> None:
    path, refusal = yaml_refusal(tmp_path, text)
    assert refusal == f'The sync source file "{path}" is not valid YAML{said}'


@pytest.mark.parametrize(("text", "said"), [
    ("r.example:\n  images:\n    team/app: ['1.0']\nr.example:\n  images:\n    team/db: ['15']\n",
     'gives the registry "r.example" twice (lines 1 and 4); merge them into one entry (only '
     "the last one's images would be synced)."),
    ("r.example:\n  images:\n    team/app: ['1.0']\n    team/app: ['2.0']\n",
     'gives the repository "team/app" twice under the images of the registry "r.example" '
     "(lines 3 and 4); merge their tags into one list (only the last one would be synced)."),
    ("r.example:\n  images-by-tag-regex:\n    team/app: '^1'\n    'team/app': '^2'\n",
     'gives the repository "team/app" twice under the images-by-tag-regex of the registry '
     '"r.example" (lines 3 and 4); merge their expressions into one (a|b) (only the last one '
     "would be synced)."),
    ("r.example:\n  images: {team/app: ['1.0']}\n  tls-verify: false\n  images: {}\n",
     'gives the key "images" twice under "r.example" (lines 2 and 4); keep one.'),
])
def test_a_key_given_twice_is_refused_naming_it_and_both_lines(
    tmp_path: Path, text: str, said: str
) -> None:
    """The last one was kept, and the first one's images not synced, without a word (exit
    0); go-yaml v3, which newer skopeo reads the file with, refuses it."""
    path, refusal = yaml_refusal(tmp_path, text)
    assert refusal == f'The sync source file "{path}" {said}'


def test_what_a_merge_key_brings_in_may_be_given_again(tmp_path: Path) -> None:
    """YAML's ``<<`` is no key given twice: the mapping's own value wins, as go-yaml has it."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000: &base\n  images:\n    team/app: ['1.0']\n"
                    "r.example:5000/team:\n  <<: *base\n  images:\n    db: ['15']\n")
    assert names(SyncRequest("yaml", str(path), "docker", "m.example")) == [
        ("docker://r.example:5000/team/app:1.0", "docker://m.example/app:1.0"),
        ("docker://r.example:5000/team/db:15", "docker://m.example/db:15")]


@pytest.mark.parametrize(("kinds", "said"), [
    (("oci", "docker"), '"oci" is not a sync source transport: give --src docker, dir or yaml.'),
    (("docker", "oci"), '"oci" is not a sync destination transport'),
    (("dir", "dir"), "A sync from dir to dir is not done"),
])
def test_unknown_transports_are_refused(kinds: tuple[str, str], said: str) -> None:
    with pytest.raises(SpyglassError, match=said.replace(".", r"\.")):
        list_sources(SyncRequest(kinds[0], "x", kinds[1], "y"), tags)  # type: ignore[arg-type]


def test_missing_sources_are_sentences_naming_them(tmp_path: Path) -> None:
    with pytest.raises(SpyglassError, match=r'sync source file .*missing\.yaml" does not exist'):
        list_sources(SyncRequest("yaml", str(tmp_path / "missing.yaml"), "docker", "m"), tags)
    with pytest.raises(SpyglassError, match=r'sync source folder .*gone" does not exist'):
        list_sources(SyncRequest("dir", str(tmp_path / "gone"), "docker", "m"), tags)
    with pytest.raises(SpyglassError, match=r'No images to sync found in "r.example/none"'):
        list_sources(SyncRequest("docker", "r.example/none", "docker", "m"), tags)


def test_a_yaml_repository_that_cannot_be_listed_is_its_source_s_error(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images:\n    team/gone: []\n    team/db: ['15']\n")
    first, second = list_sources(SyncRequest("yaml", str(path), "docker", "m"), tags)
    assert first.error is not None and "r.example:5000/team/gone" in str(first.error)
    assert second.error is None and isinstance(second.images[0].source, DockerName)


def test_dir_destinations_are_dir_names(tmp_path: Path) -> None:
    request = SyncRequest("docker", "r.example:5000/team/db", "dir", str(tmp_path) + "/")
    destinations = [image.destination for source in list_sources(request, tags)
                    for image in source.images]
    assert destinations == [DirName(tmp_path / "db:15"), DirName(tmp_path / "db:16")]


def test_a_yaml_expression_matching_no_tag_is_passed_over_not_failed(tmp_path: Path) -> None:
    """As skopeo warns and goes on: a nightly expression before the first nightly."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images-by-tag-regex:\n    team/db: ^nightly\n")
    (source,) = list_sources(SyncRequest("yaml", str(path), "docker", "m"), tags)
    assert source.error is None and source.images == ()
    assert source.empty is not None and "has no tags that match" in source.empty


@pytest.mark.parametrize("images", ["images: {}", "images:", "images-by-tag-regex: {}"])
def test_a_registry_naming_no_image_is_passed_over_with_a_note(
    tmp_path: Path, images: str
) -> None:
    """As skopeo warns "No images specified for registry" and goes on."""
    path = tmp_path / "sync.yaml"
    path.write_text(f"r.example:5000:\n  {images}\nm.example:\n  images:\n    team/db: ['15']\n")
    empty, listed = list_sources(SyncRequest("yaml", str(path), "docker", "m"), tags)
    assert empty.images == () and empty.error is None
    assert empty.empty == (f'No images are named for the registry r.example:5000 in "{path}": '
                           "its images and images-by-tag-regex list none.")
    assert [str(image.source) for image in listed.images] == ["docker://m.example/team/db:15"]


@pytest.mark.parametrize("source", ["r.example/signed", "yaml []", "yaml regex", "yaml list"])
def test_attachment_tags_of_a_repository_listed_whole_are_held_apart(
    tmp_path: Path, source: str
) -> None:
    """cosign's sha256-<hex>.sig/.att/.sbom and the referrers fallback tag sha256-<hex>
    are no images of their own: their subject's copy carries them. Tags a yaml entry
    lists were images (a sync then wrote the referrers index under its tag, and the
    copy of that tag, one referrer of it, over it)."""
    path = tmp_path / "sync.yaml"
    listed_tags = ", ".join(f"'{tag}'" for tag in TAGS["r.example/signed"])
    path.write_text("r.example:\n  " + {
        "yaml []": "images:\n    signed: []\n",
        "yaml list": f"images:\n    signed: [{listed_tags}]\n",
    }.get(source, "images-by-tag-regex:\n    signed: ^[sv]\n"))
    request = (SyncRequest("docker", source, "docker", "m.example") if source.startswith("r.")
               else SyncRequest("yaml", str(path), "docker", "m.example"))
    (listed,) = list_sources(request, tags)
    assert [str(image.source) for image in listed.images] == [
        "docker://r.example/signed:v1", "docker://r.example/signed:sha256-short",
        "docker://r.example/signed:sha256-" + "d" * 64 + ".other"]
    assert [(str(image.destination), str(image.attached_to)) for image in listed.attached] == [
        ("docker://m.example/signed:sha256-" + "a" * 64 + ".sig", "sha256:" + "a" * 64),
        ("docker://m.example/signed:sha256-" + "a" * 64, "sha256:" + "a" * 64),
        ("docker://m.example/signed:sha256-" + "b" * 64 + ".att", "sha256:" + "b" * 64),
        ("docker://m.example/signed:sha256-" + "c" * 64 + ".sbom", "sha256:" + "c" * 64)]
    named = list_sources(SyncRequest("docker", "r.example/signed:sha256-" + "a" * 64,
                                     "docker", "m"), tags)
    assert [len(named[0].images), len(named[0].attached)] == [1, 0]  # (asked for by name)
    assert named[0].images[0].whole  # (one referrer of its index would be copied)


def test_a_registry_destination_may_say_docker_colon_slashes() -> None:
    request = SyncRequest("docker", "r.example:5000/team/db:15", "docker",
                          "docker://m.example/mirror")
    assert names(request) == [("docker://r.example:5000/team/db:15",
                               "docker://m.example/mirror/db:15")]


@pytest.mark.parametrize("kind", ["docker", "dir"])
def test_two_images_given_one_name_are_refused_naming_both(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:\n  images:\n    team/app: ['1.0']\n"
                    "other.example:\n  images:\n    app: ['2.0', '1.0']\n")
    destination = "m.example/mirror" if kind == "docker" else "out"
    named = ("docker://m.example/mirror/app:1.0" if kind == "docker" else "dir:out/app:1.0")
    with pytest.raises(SpyglassError) as refused:
        list_sources(SyncRequest("yaml", str(path), kind, destination), tags)
    # (into folders, whether or not they are one image: see the test after)
    replaced = ("the second would replace the first" if kind == "docker" else
                "the second would replace the first's folder whole, and the signatures the "
                "first's repository holds for it with it, even where both are the same image")
    assert str(refused.value) == (
        f'Two images would be synced to the same name "{named}": '
        f"docker://r.example/team/app:1.0 and docker://other.example/app:1.0 ({replaced}); "
        "give --scoped to name each after its whole source name, or sync them in separate "
        "runs.")
    # each after its whole name, they are apart
    scoped = names(SyncRequest("yaml", str(path), kind, destination, scoped=True))
    assert len({destination for _, destination in scoped}) == 3


def test_two_image_folders_of_one_name_are_refused(tmp_path: Path) -> None:
    for folder in ("a/app", "b/app"):
        (tmp_path / "src" / folder).mkdir(parents=True)
        (tmp_path / "src" / folder / "manifest.json").write_text("{}")
    with pytest.raises(SpyglassError, match=(
            r'^Two images would be synced to the same name "docker://m.example/app:latest": '
            rf"dir:{tmp_path}/src/a/app and dir:{tmp_path}/src/b/app \(the second would")):
        names(SyncRequest("dir", str(tmp_path / "src"), "docker", "m.example"))
    assert names(SyncRequest("dir", str(tmp_path / "src"), "docker", "m.example",
                             scoped=True)) == [
        (f"dir:{tmp_path}/src/a/app", "docker://m.example/a/app:latest"),
        (f"dir:{tmp_path}/src/b/app", "docker://m.example/b/app:latest")]


def test_an_image_listed_twice_is_no_conflict(tmp_path: Path) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images:\n    team/app: ['1.0', '1.0']\n")
    assert names(SyncRequest("yaml", str(path), "docker", "m.example")) == [
        ("docker://r.example:5000/team/app:1.0", "docker://m.example/app:1.0")] * 2


@pytest.mark.parametrize("yaml", [
    # one digest read from a mirror and its origin: the same content, whatever the host
    "r.example:\n  images:\n    team/app: ['sha256:" + "a" * 64 + "']\n"
    "mirror.example:\n  images:\n    team/app: ['sha256:" + "a" * 64 + "']\n",
    # one registry, its host written in two cases (DNS names ignore case)
    "r.example:\n  images:\n    app: ['9']\nR.Example:\n  images:\n    app: ['9']\n",
])
def test_one_image_read_from_two_names_is_no_conflict(tmp_path: Path, yaml: str) -> None:
    """Both were refused as 'the second would replace the first', where nothing is
    replaced: a digest names the same content wherever it is read from."""
    path = tmp_path / "sync.yaml"
    path.write_text(yaml)
    assert len(names(SyncRequest("yaml", str(path), "docker", "m.example"))) == 2


def test_yaml_scalars_are_read_as_written_as_skopeo_s_go_yaml_reads_them(
    tmp_path: Path
) -> None:
    """YAML 1.1 read ``010`` as 8 and ``yes`` as True (so tags ``8`` and ``True`` were
    synced), refused ``1.10`` and a date as no tag, and a password ``0123`` as no
    string; go-yaml keeps each as written where skopeo wants a string."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:\n  tls-verify: no\n"
                    "  credentials: {username: 007, password: 0123}\n"
                    "  images:\n    team/app: [010, 1.10, yes, 1_000, 0x1f, 2024-01-01, true]\n")
    (listed,) = list_sources(SyncRequest("yaml", str(path), "docker", "m.example"), tags)
    assert [str(image.source).removeprefix("docker://r.example/team/app:")
            for image in listed.images] == [
        "010", "1.10", "yes", "1_000", "0x1f", "2024-01-01", "true"]
    options = listed.images[0].registry
    assert options is not None and options.tls_verify is False
    assert options.credentials is not None
    assert (options.credentials.username, options.credentials.password) == ("007", "0123")


@pytest.mark.parametrize(("verify", "expected"), [
    ("true", True), ("TRUE", True), ("on", True), ("false", False), ("Off", False)])
def test_tls_verify_takes_the_words_go_yaml_takes_for_a_boolean(
    tmp_path: Path, verify: str, expected: bool
) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(f"r.example:\n  tls-verify: {verify}\n  images:\n    app: ['1']\n")
    (listed,) = list_sources(SyncRequest("yaml", str(path), "docker", "m.example"), tags)
    options = listed.images[0].registry
    assert options is not None and options.tls_verify is expected


def test_a_tag_list_holding_no_tag_is_refused_naming_what_it_holds(tmp_path: Path) -> None:
    path, refusal = yaml_refusal(tmp_path, "r.example:\n  images:\n    app: ['1', ~]\n")
    assert refusal.startswith(f'The sync source file "{path}" is not of the expected shape: '
                              'under "r.example", images: the list of "app" holds an empty '
                              "entry where a tag or digest was expected."), refusal


def test_a_tag_expression_is_go_s_syntax(tmp_path: Path) -> None:
    """A POSIX class matched nothing (and Python warned on stderr); ``\\pL`` was refused."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images-by-tag-regex:\n    team/app: '^[[:digit:]]\\.'\n"
                    "    team/db: '^\\pN+$'\n")
    listed = list_sources(SyncRequest("yaml", str(path), "docker", "m.example"), tags)
    assert [str(image.source).rsplit(":", 1)[1] for source in listed
            for image in source.images] == ["1.0", "2.0", "15", "16"]


@pytest.mark.parametrize("kind", ["docker", "dir"])
def test_scoped_is_advised_only_where_it_can_name_the_two_apart(
    tmp_path: Path, kind: str
) -> None:
    """Into a registry, --scoped puts a source registry's port in a repository's name,
    which cannot be: it was advised all the same."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images:\n    team/db: ['15']\n"
                    "m.example:\n  images:\n    db: ['15']\n")
    with pytest.raises(SpyglassError) as refused:
        list_sources(SyncRequest("yaml", str(path), kind, "out"), tags)
    said = str(refused.value)
    assert said.endswith(
        "sync them in separate runs into different destinations (--scoped cannot name them "
        "apart here: it would put a registry's port in a repository's name, where no colon "
        "may be)." if kind == "docker" else
        "give --scoped to name each after its whole source name, or sync them in separate "
        "runs."), said


@pytest.mark.parametrize(("digests", "refused"), [
    ({"a": "1", "b": "1"}, False),  # the same manifest under both names
    ({"a": "1", "b": "2"}, True),
    ({"a": "1", "b": None}, True),  # (one that cannot be told is no proof)
])
def test_two_names_of_one_manifest_are_no_conflict(
    tmp_path: Path, digests: dict[str, str | None], refused: bool
) -> None:
    """A mirror and its origin listed together: their tags name the same manifests."""
    from spyglass.core.digest import Digest
    from spyglass.core.sync import SyncImage

    path = tmp_path / "sync.yaml"
    path.write_text("a.example:\n  images:\n    app: ['1', '2']\n"
                    "b.example:\n  images:\n    app: ['1']\n")
    asked: list[str] = []

    def digest_of(image: SyncImage) -> Digest | SpyglassError | None:
        asked.append(str(image.source))
        assert isinstance(image.source, DockerName)
        found = digests[image.source.reference.domain[0]]
        return None if found is None else Digest.parse("sha256:" + found * 64)

    request = SyncRequest("yaml", str(path), "docker", "m.example")
    if refused:
        with pytest.raises(SpyglassError, match=r"^Two images would be synced"):
            list_sources(request, tags, digest_of)
    else:
        assert len([image for source in list_sources(request, tags, digest_of)
                    for image in source.images]) == 3
    # only the two names of one destination name are asked about
    assert sorted(asked) == ["docker://a.example/app:1", "docker://b.example/app:1"]


@pytest.mark.parametrize(("digests", "synced", "unread"), [
    # the one that could not be read is not copied, failed with why; the other is synced
    ({"a": "1", "b": "fail"}, ["a.example/app:1", "a.example/app:2"], ["b.example/app:1"]),
    ({"a": "fail", "b": "1"}, ["a.example/app:2", "b.example/app:1"], ["a.example/app:1"]),
    ({"a": "fail", "b": "fail"}, ["a.example/app:2"], ["a.example/app:1", "b.example/app:1"]),
    # the others are compared without it: two known and different are refused
    ({"a": "fail", "b": "1", "c": "2"}, None, []),
    ({"a": "fail", "b": "1", "c": "1"},
     ["a.example/app:2", "b.example/app:1", "c.example/app:1"], ["a.example/app:1"]),
    ({"a": "fail", "b": None}, ["a.example/app:2", "b.example/app:1"], ["a.example/app:1"]),
])
def test_an_image_of_a_shared_name_that_cannot_be_read_is_unread_not_a_conflict(
    tmp_path: Path, digests: dict[str, str | None], synced: list[str] | None,
    unread: list[str]
) -> None:
    """A primary and a fallback registry listing one tag, one of them down (or refusing
    the credentials, or without the tag): nothing tells the two apart, nor the same."""
    from spyglass.core.digest import Digest
    from spyglass.core.sync import SyncImage

    path = tmp_path / "sync.yaml"
    path.write_text("a.example:\n  images:\n    app: ['1', '2']\n"
                    "b.example:\n  images:\n    app: ['1']\n"
                    + ("c.example:\n  images:\n    app: ['1']\n" if "c" in digests else ""))

    def digest_of(image: SyncImage) -> Digest | SpyglassError | None:
        assert isinstance(image.source, DockerName)
        host = image.source.reference.domain
        found = digests[host[0]]
        if found == "fail":
            return SpyglassError(f"The registry {host} is down.")
        return None if found is None else Digest.parse("sha256:" + found * 64)

    request = SyncRequest("yaml", str(path), "docker", "m.example")
    if synced is None:
        with pytest.raises(SpyglassError, match=(
                r'^Two images would be synced to the same name "docker://m.example/app:1": '
                r"docker://b.example/app:1 and docker://c.example/app:1 ")):
            list_sources(request, tags, digest_of)
        return
    sources = list_sources(request, tags, digest_of)
    assert [str(image.source).removeprefix("docker://") for source in sources
            for image in source.images] == synced
    said = [(str(each.image.source).removeprefix("docker://"), str(each.error))
            for source in sources for each in source.unread]
    assert said == [(name, f"The registry {name.split('/')[0]} is down.") for name in unread]
    for source in sources:  # (each in its own entry's source, naming the other image)
        for each in source.unread:
            assert str(each.image.source).startswith(f"docker://{source.label}:")
            assert str(each.other) != str(each.image.source)
            assert str(each.other).endswith("/app:1")


def test_into_folders_two_repositories_tags_of_what_is_attached_clash_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each repository's ``sha256-<hex>.sig`` is a folder of its own in ``dir:``: two
    repositories' (two signatures of one image, their images under other tags) would be
    one folder, the second replacing the first; into a registry they are merged."""
    signature = "sha256-" + "a" * 64 + ".sig"
    monkeypatch.setitem(TAGS, "r.example/b/signed", ["v2", signature])
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:\n  images:\n    signed: [v1, " + signature + "]\n"
                    "    b/signed: [v2, " + signature + "]\n")
    with pytest.raises(SpyglassError) as refused:
        list_sources(SyncRequest("yaml", str(path), "dir", "out"), tags)
    assert str(refused.value).startswith(
        f'Two images would be synced to the same name "dir:out/signed:{signature}": '
        f"docker://r.example/signed:{signature} and docker://r.example/b/signed:{signature} "
        "(the second would replace the first's folder whole"), refused.value
    into_registry = list_sources(SyncRequest("yaml", str(path), "docker", "m.example"), tags)
    assert [str(image.destination) for source in into_registry
            for image in source.attached] == [f"docker://m.example/signed:{signature}"] * 2
    scoped = list_sources(SyncRequest("yaml", str(path), "dir", "out", scoped=True), tags)
    assert len({str(image.destination) for source in scoped
                for image in source.attached}) == 2


def test_a_source_with_a_tag_and_a_digest_is_refused_as_copy_refuses_it() -> None:
    """The tag was dropped without a word: the mirror got an untagged manifest where
    ``app:1.0`` was asked for (copy and skopeo sync refuse it)."""
    from spyglass.core.reference import parse_image_name

    text = "r.example:5000/team/app:1.0@sha256:" + "a" * 64
    with pytest.raises(SpyglassError) as caught:
        list_sources(SyncRequest("docker", text, "docker", "m.example"), tags)
    with pytest.raises(SpyglassError) as copy_said:
        parse_image_name(f"docker://{text}")
    said = str(caught.value)
    assert said == (f'Invalid image reference "{text}": a docker:// reference may carry a '
                    "tag or a digest but not both; drop the tag, for example "
                    "docker://alpine@sha256:…")
    assert said.partition(": ")[2] == str(copy_said.value).partition(": ")[2]


@pytest.mark.parametrize(("images", "said"), [
    ('images:\n    team/app: ["1.0@sha256:' + "a" * 64 + '"]',
     ': in the list of team/app, "1.0@sha256:' + "a" * 64 + '" holds a tag and a digest; '
     "expected a tag or a digest, not both."),
    ('images:\n    team/app: ["bad tag", "1.0"]',
     ': in the list of team/app, the tag "bad tag" may contain only letters, digits, "_", '
     '"." and "-" (not first), at most 128 characters; expected a tag or a digest.'),
    ('images:\n    team/app: ["sha256:abc"]',
     ': in the list of team/app, "sha256:abc" is not a valid digest: a sha256 digest is 64 '
     "lower-case hexadecimal characters."),
    ('images:\n    team/app: ["md5:abc"]',  # ("expected" once: it said it twice)
     ': in the list of team/app, "md5:abc" is not a valid digest: unsupported algorithm '
     '"md5"; expected sha256 or sha512.'),
    ('images:\n    team/app: [""]',  # (not a ":" to leave out, as a tag's sentence says)
     ': in the list of team/app, "" is no tag; expected a tag or a digest.'),
    ("images:\n    team/app:1.0: []\n    team/db: ['15']",
     ': "team/app:1.0" names an image, not a repository; expected REPOSITORY: [TAG, …], '
     "with its tags in the list after it."),
    ("images-by-tag-regex:\n    team/app:1.0: x",
     ': "team/app:1.0" names an image, not a repository; expected REPOSITORY: REGEX, the '
     "tags' expression after it."),
    ("images:\n    Team/app: ['1.0']",
     ': "Team/app" is not a repository name: repository name must be lowercase.'),
])
def test_a_yaml_entry_s_own_mistakes_are_the_file_s_naming_the_entry(
    tmp_path: Path, images: str, said: str
) -> None:
    """They were worded as a failure to list the repository (a tag read as a digest's
    "algorithm"), or named no file and no entry; with --keep-going the sync went on."""
    path, refusal = yaml_refusal(tmp_path, f"r.example:5000:\n  {images}\n")
    assert refusal == f'The entry "r.example:5000" in "{path}"{said}'


def test_a_registry_key_that_is_no_host_is_said_of_the_registry_not_the_repository(
    tmp_path: Path
) -> None:
    """It said '"a/app" is not a repository name: the registry "Bad_Host" is not …'."""
    path, refusal = yaml_refusal(tmp_path, "Bad_Host:\n  images:\n    a/app: [v1]\n")
    assert refusal == (f'The entry "Bad_Host" in "{path}": the registry "Bad_Host" is not a '
                       "host name, IPv4 address or [IPv6 address] with an optional :port.")


def test_a_registry_key_that_is_neither_host_nor_namespace_is_said_of_the_key(
    tmp_path: Path
) -> None:
    """It said '"lib/app" is not a repository name: the path component "my registry" may
    contain only …', blaming the repository for what is wrong with the key."""
    path, refusal = yaml_refusal(tmp_path, "my registry:\n  images:\n    lib/app: ['1.0']\n")
    assert refusal == (f'The entry "my registry" in "{path}": the registry "my registry" is '
                       "not a host name, IPv4 address or [IPv6 address] with an optional "
                       ":port.")


def test_a_registry_key_naming_no_host_is_read_from_docker_hub_with_a_note(
    tmp_path: Path
) -> None:
    """``myregistry:`` (no ".", ":", not localhost) is a Docker Hub namespace, as skopeo
    reads it: its images were read from Docker Hub without a word."""
    path = tmp_path / "sync.yaml"
    path.write_text("myregistry/ns:\n  images:\n    app: ['1.0']\n    db: ['15']\n"
                    "localhost:5000:\n  images:\n    app: ['2']\n"
                    "docker.io/team:\n  images:\n    app: ['3']\n")
    sources = list_sources(SyncRequest("yaml", str(path), "dir", "out", scoped=True), tags)
    assert [str(image.source) for source in sources for image in source.images] == [
        "docker://docker.io/myregistry/ns/app:1.0", "docker://docker.io/myregistry/ns/db:15",
        "docker://localhost:5000/app:2", "docker://docker.io/team/app:3"]
    assert [source.note for source in sources] == [
        f'The key "myregistry/ns" in "{path}" names no registry host (it has no ".", no ":" '
        "and is not localhost): its images are read from Docker Hub, as "
        "docker.io/myregistry/ns/…, as skopeo reads such a key. Write the registry's full "
        "name (registry.example.com, HOST:PORT) for another registry, or "
        "docker.io/myregistry/ns for Docker Hub.", None, None, None]


def test_a_registry_key_may_hold_a_namespace_as_skopeo_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``quay.io/coreos:`` was refused as "not a host name" (its host alone is checked;
    skopeo joins the key and each repository with a "/")."""
    monkeypatch.setitem(TAGS, "r.example:5000/team/app", ["1.0", "2.0"])
    path = tmp_path / "sync.yaml"
    path.write_text("quay.io/coreos:\n  images:\n    etcd: [v3]\n"
                    "r.example:5000/team:\n  images-by-tag-regex:\n    app: '^1'\n")
    assert names(SyncRequest("yaml", str(path), "dir", "out", scoped=True)) == [
        ("docker://quay.io/coreos/etcd:v3", "dir:out/quay.io/coreos/etcd:v3"),
        ("docker://r.example:5000/team/app:1.0", "dir:out/r.example:5000/team/app:1.0")]
    # the host is still checked, and the namespace with the repository
    path, refusal = yaml_refusal(tmp_path, "Bad_Host/ns:\n  images:\n    app: [v1]\n")
    assert refusal == (f'The entry "Bad_Host/ns" in "{path}": the registry "Bad_Host" is '
                       "not a host name, IPv4 address or [IPv6 address] with an optional "
                       ":port.")
    path, refusal = yaml_refusal(tmp_path, "quay.io/Core:\n  images:\n    app: [v1]\n")
    assert refusal.startswith(f'The entry "quay.io/Core" in "{path}": "app" is not a '
                              "repository name"), refusal


def test_the_command_line_s_tls_flags_fill_in_for_an_entry_that_sets_neither(
    tmp_path: Path
) -> None:
    """As README says (skopeo 1.9 ignores --src-tls-verify and --src-cert-dir for a yaml
    source): the flags count where an entry does not set tls-verify or cert-dir."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images:\n    team/db: ['15']\n"
                    "r.example:\n  tls-verify: true\n  cert-dir: /entry\n  images:\n"
                    "    signed: [v1]\n")
    flags = RegistryOptions(tls_verify=False, cert_dir=Path("/flag"))
    sources = list_sources(SyncRequest("yaml", str(path), "dir", "out", registry=flags), tags)
    options = [source.images[0].registry for source in sources]
    assert [(each.tls_verify, each.cert_dir) for each in options if each is not None] == [
        (False, Path("/flag")), (True, Path("/entry"))]


@pytest.mark.parametrize(("value", "verify"), [
    ("false", False), ("Off", False), ("no", False), ("TRUE", True), ("y", True),
    # an explicit tag: refused as "must be true or false", though skopeo reads it
    ("!!bool false", False), ("!!bool yes", True), ('!!bool "false"', False),
])
def test_tls_verify_is_a_plain_or_tagged_boolean_as_skopeo_reads_it(
    tmp_path: Path, value: str, verify: bool
) -> None:
    path = tmp_path / "sync.yaml"
    path.write_text(f"r.example:\n  tls-verify: {value}\n  images:\n    signed: [yes, off]\n")
    (source,) = list_sources(SyncRequest("yaml", str(path), "dir", "out"), tags)
    assert [image.registry.tls_verify for image in source.images
            if image.registry is not None] == [verify, verify]
    # (the same words as tags are the tags as written)
    assert [str(image.source) for image in source.images] == [
        "docker://r.example/signed:yes", "docker://r.example/signed:off"]


@pytest.mark.parametrize("value", ["~", "", "null", "!!null ''"])
def test_a_null_tls_verify_is_not_set_as_skopeo_reads_it(tmp_path: Path, value: str) -> None:
    """skopeo reads null as not given: the flags (or the default, verify) count."""
    path = tmp_path / "sync.yaml"
    path.write_text(f"r.example:\n  tls-verify: {value}\n  images:\n    signed: [v1]\n")
    for flags, verify in ((None, None), (RegistryOptions(tls_verify=False), False)):
        request = SyncRequest("yaml", str(path), "dir", "out", **(
            {"registry": flags} if flags is not None else {}))
        (source,) = list_sources(request, tags)
        assert [image.registry.tls_verify if image.registry is not None else None
                for image in source.images] == [verify]


@pytest.mark.parametrize(("value", "said"), [
    # quoted, a string: skopeo says "cannot unmarshal !!str `false` into bool"
    ('"false"', 'tls-verify must be true or false unquoted: "false" quoted (or tagged '
                "!!str) is a string, which skopeo refuses too."),
    ("'no'", 'tls-verify must be true or false unquoted: "no" quoted (or tagged !!str) is '
             "a string, which skopeo refuses too."),
    ("!!str off", 'tls-verify must be true or false unquoted: "off" quoted (or tagged '
                  "!!str) is a string, which skopeo refuses too."),
    ("|\n    false", "tls-verify must be true or false."),  # ("false\n")
    ("0", "tls-verify must be true or false."),
    ("!!bool 1", "tls-verify must be true or false."),
])
def test_tls_verify_as_a_string_is_refused_as_skopeo_refuses_it(
    tmp_path: Path, value: str, said: str
) -> None:
    _path, refusal = yaml_refusal(
        tmp_path, f"r.example:\n  tls-verify: {value}\n  images:\n    signed: [v1]\n")
    assert f'under "r.example", {said.rstrip(".")}. Expected REGISTRY' in refusal, refusal


def test_a_null_tag_expression_is_the_empty_one_as_skopeo_reads_it(tmp_path: Path) -> None:
    """``images-by-tag-regex: {team/app: ~}`` was refused ("has no regular expression");
    skopeo reads null into its string as "", which every tag matches."""
    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images-by-tag-regex:\n    team/app: ~\n"
                    "    team/db:\n")
    assert [source for source, _destination in names(
        SyncRequest("yaml", str(path), "docker", "m.example"))] == [
        f"docker://r.example:5000/team/{name}" for name in (
            "app:1.0", "app:2.0", "app:nightly-1", "db:15", "db:16")]
    # (what is not a string still is no expression)
    _path, refusal = yaml_refusal(tmp_path, "r.example:\n  images-by-tag-regex:\n"
                                  "    team/app: [a]\n")
    assert 'images-by-tag-regex: "team/app" has no regular expression' in refusal


def test_every_entry_is_checked_before_any_repository_is_listed(tmp_path: Path) -> None:
    """Each entry was checked as it was reached: a mistake in the second was said only
    after the first's listing (of a registry that was down: its retries waited out)."""
    listed: list[str] = []

    def recorded(repository: DockerReference, options: RegistryOptions | None) -> list[str]:
        listed.append(repository.name)
        return tags(repository, options)

    path = tmp_path / "sync.yaml"
    path.write_text("r.example:5000:\n  images-by-tag-regex:\n    team/app: '.*'\n"
                    "m.example:\n  images:\n    team/db: ['v1!']\n")
    with pytest.raises(SpyglassError, match=r'the tag "v1!" may contain only'):
        list_sources(SyncRequest("yaml", str(path), "docker", "m.example"), recorded)
    assert listed == []
