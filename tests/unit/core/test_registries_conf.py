"""registries.conf (spyglass.core.registries_conf): which files, in which order, how
prefixes match, the pull sources of a name, and what a broken file does. The home folder
and the system's files are the test's own (the real /etc is never read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.errors import RegistriesConfInvalid, RegistryBlocked
from spyglass.core.registries_conf import (
    Mirror,
    PullSource,
    RegistriesConf,
    Registry,
    Sources,
    config_sources,
    current,
    load,
    matching_length,
    use_file,
)

UNUSABLE = ("Until it is fixed, Spyglass contacts no registry, as podman and skopeo contact "
            "none: which ones the files block cannot be known")


class Machine:
    """A home folder and a system folder of the test's own."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.etc = root / "etc"
        self.home.mkdir()
        self.etc.mkdir()
        self.environ = {"HOME": str(self.home)}

    @property
    def system_file(self) -> Path:
        return self.etc / "registries.conf"

    @property
    def system_dir(self) -> Path:
        return self.etc / "registries.conf.d"

    @property
    def user_file(self) -> Path:
        return self.home / ".config" / "containers" / "registries.conf"

    @property
    def user_dir(self) -> Path:
        return self.home / ".config" / "containers" / "registries.conf.d"

    def sources(self) -> Sources:
        return config_sources(self.environ, system_file=self.system_file,
                              system_dir=self.system_dir)

    def load(self) -> RegistriesConf:
        return load(self.sources())

    def current(self) -> RegistriesConf:
        return current(self.environ, system_file=self.system_file, system_dir=self.system_dir)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def blocked(prefix: str) -> str:
    return f'[[registry]]\nprefix = "{prefix}"\nlocation = "{prefix}"\nblocked = true\n'


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


# ---------------------------------------------------------------------------- prefixes


@pytest.mark.parametrize("ref, prefix, matches", [
    ("example.com", "example.com", True),
    ("example.com/team/app", "example.com", True),
    ("example.com/team/app", "example.com/team", True),
    ("example.com/team/app", "example.com/tea", False),
    ("example.com.evil.net/app", "example.com", False),
    ("example.com:5000/app", "example.com", True),  # containers/image's own quirk
    ("example.com", "example.com:5000", False),
    ("example.com/team", "example.com/team/app", False),
    ("a.example.com", "*.example.com", True),
    ("a.b.example.com:5000/team/app", "*.example.com", True),
    ("example.com/app", "*.example.com", False),  # below it only, not itself
    ("notexample.com/app", "*.example.com", False),
    ("a.example.community/app", "*.example.com", False),
    ("other.net/a.example.com", "*.example.com", False),  # in a path, not the host
])
def test_prefixes_match_as_in_containers_image(ref: str, prefix: str, matches: bool) -> None:
    assert (matching_length(ref, prefix) != -1) is matches


def test_the_longest_matching_prefix_governs(tmp_path: Path) -> None:
    path = tmp_path / "registries.conf"
    conf = RegistriesConf((
        Registry("example.com", "example.com", path, blocked=True),
        Registry("example.com/public", "example.com/public", path),
        Registry("*.example.com", "", path, blocked=True),
        Registry("mirror.example.com", "mirror.example.com", path),
    ))
    assert conf.find("example.com/public/app") == conf.registries[1]
    assert conf.find("example.com/private/app") == conf.registries[0]
    assert conf.find("mirror.example.com/app") == conf.registries[3]  # longer than *.
    assert conf.find("cdn.example.com/app") == conf.registries[2]
    assert conf.find("example.org/app") is None
    conf.check("example.com", "public/app")
    with pytest.raises(RegistryBlocked) as refused:
        conf.check("example.com", "private/app")
    assert str(refused.value) == (
        f'Spyglass does not contact the registry example.com: the registries.conf "{path}" '
        'blocks it (blocked = true for the prefix "example.com").')
    with pytest.raises(RegistryBlocked):
        conf.check("example.com")  # the host itself, for a ping or the catalog


def test_a_blocked_namespace_is_said_with_the_repository(tmp_path: Path) -> None:
    path = tmp_path / "registries.conf"
    conf = RegistriesConf((Registry("example.com/secret", "example.com/secret", path,
                                    blocked=True),))
    conf.check("example.com")
    conf.check("example.com", "public/app")
    with pytest.raises(RegistryBlocked) as refused:
        conf.check("example.com", "secret/app")
    assert str(refused.value) == (
        "Spyglass does not contact the registry example.com for example.com/secret/app: the "
        f'registries.conf "{path}" blocks it (blocked = true for the prefix '
        '"example.com/secret").')


def test_a_blocked_registry_with_mirrors_says_they_are_read_and_no_unblocking(
        tmp_path: Path) -> None:
    """The "never contact the source" set-up: the refusal (of a write, or a read no
    mirror could serve) says the mirrors are read, and never advises unblocking."""
    path = tmp_path / "registries.conf"
    conf = RegistriesConf((Registry("example.com/team", "example.com/team", path,
                                    blocked=True, mirrors=(Mirror("cache.local/team"),)),))
    with pytest.raises(RegistryBlocked) as refused:
        conf.check("example.com", "team/app")
    assert str(refused.value) == (
        "Spyglass does not contact the registry example.com for example.com/team/app: the "
        f'registries.conf "{path}" blocks it (blocked = true for the prefix '
        '"example.com/team"). Images are read from its mirrors (cache.local/team) instead, '
        "for the names they serve; nothing is written to them, nor listed from them.")
    assert "blocked = false" not in str(refused.value)
    # the mirror itself is no part of the blocked entry
    conf.check("cache.local", "team/app")


def test_host_parts_compare_case_insensitively(machine: Machine) -> None:
    """F1: a prefix or location with capitals in its host blocks that host (names are
    looked up with the host in lower case); the path keeps its case."""
    write(machine.system_file, '[[registry]]\nlocation = "Primary.Example.Test:5001"\n'
          "blocked = true\n"
          '[[registry]]\nprefix = "*.Wild.Test"\nblocked = true\n'
          '[[registry]]\nprefix = "Other.Test/Team"\nlocation = "Mirror.Test/Team"\n'
          '[[registry]]\nprefix = "Other.Test/team"\nlocation = "Mirror.Test/team"\n')
    conf = machine.load()
    assert conf.problems == ()
    assert {r.prefix for r in conf.registries} == {
        "primary.example.test:5001", "*.wild.test", "other.test/Team", "other.test/team"}
    with pytest.raises(RegistryBlocked, match=r'prefix "primary\.example\.test:5001"'):
        conf.check("primary.example.test:5001", "team/app")
    with pytest.raises(RegistryBlocked, match=r'prefix "\*.wild.test"'):
        conf.check("a.wild.test:5001", "team/app")
    assert conf.pull_sources("Other.Test", "team/app", digested=False) == [
        PullSource("mirror.test", "team/app")]
    # (a path in capitals is matched, and its rewriting refused, as containers/image's)
    with pytest.raises(RegistriesConfInvalid, match=r'to "mirror\.test/Team/app", which is not'):
        conf.pull_sources("Other.Test", "Team/app", digested=False)


def test_pull_sources_as_containers_image_gives_them(tmp_path: Path) -> None:
    """PullSourcesFromReference: the mirrors serving the name (pull-from-mirror,
    mirror-by-digest-only), then the location; each name rewritten by the prefix."""
    path = tmp_path / "registries.conf"
    conf = RegistriesConf((
        Registry("example.com/team", "example.net/upstream", path, insecure=True, mirrors=(
            Mirror("all.local/a", insecure=True),
            Mirror("digests.local", pull_from_mirror="digest-only"),
            Mirror("tags.local/t", pull_from_mirror="tag-only"))),
        Registry("example.org", "example.org", path, mirror_by_digest_only=True,
                 mirrors=(Mirror("m.local"),)),
        Registry("*.wild.example", "", path, mirrors=(Mirror("w.local"),)),
    ))
    assert conf.pull_sources("example.com", "team/app", digested=False) == [
        PullSource("all.local", "a/app", insecure=True, mirror=True),
        PullSource("tags.local", "t/app", mirror=True),
        PullSource("example.net", "upstream/app", insecure=True)]
    assert conf.pull_sources("example.com", "team/app", digested=True) == [
        PullSource("all.local", "a/app", insecure=True, mirror=True),
        PullSource("digests.local", "app", mirror=True),
        PullSource("example.net", "upstream/app", insecure=True)]
    assert conf.pull_sources("example.org", "x/y", digested=False) == [
        PullSource("example.org", "x/y")]
    assert conf.pull_sources("example.org", "x/y", digested=True) == [
        PullSource("m.local", "x/y", mirror=True), PullSource("example.org", "x/y")]
    # a wildcard without a location: the name as it is; a mirror's location replaces
    # what the prefix matched (the host name, not its port: as containers/image does)
    assert conf.pull_sources("a.wild.example:5000", "app", digested=False) == [
        PullSource("w.local:5000", "app", mirror=True),
        PullSource("a.wild.example:5000", "app")]
    assert conf.pull_sources("other.example", "app", digested=False) == [
        PullSource("other.example", "app")]
    assert conf.insecure("example.com", "team/app")
    assert not conf.insecure("example.com", "other/app")


# ---------------------------------------------------------------------------- files


def test_the_files_are_chosen_as_containers_image_chooses_them(machine: Machine) -> None:
    # nothing of the user's: the system file, then both folders of drop-ins
    assert machine.sources() == Sources(machine.system_file,
                                        (machine.system_dir, machine.user_dir))
    # the user's own file: it alone, and the user's drop-ins only
    write(machine.user_file, "")
    assert machine.sources() == Sources(machine.user_file, (machine.user_dir,))
    # $CONTAINERS_REGISTRIES_CONF: that file, and both folders of drop-ins
    machine.environ["CONTAINERS_REGISTRIES_CONF"] = str(machine.etc / "other.conf")
    assert machine.sources() == Sources(machine.etc / "other.conf",
                                        (machine.system_dir, machine.user_dir), named=True,
                                        named_by="that $CONTAINERS_REGISTRIES_CONF")
    # --registries-conf: that file in place of any other, as skopeo reads it
    use_file(machine.etc / "given.conf")
    try:
        assert machine.sources() == Sources(machine.etc / "given.conf",
                                            (machine.system_dir, machine.user_dir),
                                            named=True, named_by="that --registries-conf")
    finally:
        use_file(None)


def test_drop_ins_are_read_in_name_order_and_replace_entries_by_prefix(
        machine: Machine) -> None:
    write(machine.system_file, blocked("a.example.com") + blocked("b.example.com")
          + 'unqualified-search-registries = ["docker.io"]\n'
          + '[aliases]\n"alpine" = "docker.io/library/alpine"\n')
    write(machine.system_dir / "20-unblock.conf",
          '[[registry]]\nlocation = "a.example.com"\n')
    write(machine.system_dir / "10-block.conf", blocked("c.example.com"))
    write(machine.system_dir / "30-not-a-conf.txt", blocked("d.example.com"))
    write(machine.system_dir / "sub" / "40.conf", blocked("e.example.com"))
    write(machine.user_dir / "00-user.conf", blocked("a.example.com") + blocked("f.example.com"))
    conf = machine.load()
    assert conf.problems == ()
    assert conf.files == (machine.system_file, machine.system_dir / "10-block.conf",
                          machine.system_dir / "20-unblock.conf",
                          machine.user_dir / "00-user.conf")
    found = {r.prefix: (r.blocked, r.file.name) for r in conf.registries}
    assert found == {
        "a.example.com": (True, "00-user.conf"),  # the user's folder comes last
        "b.example.com": (True, "registries.conf"),
        "c.example.com": (True, "10-block.conf"),
        "f.example.com": (True, "00-user.conf"),
    }


def test_the_users_file_leaves_out_the_systems_drop_ins(machine: Machine) -> None:
    write(machine.system_file, blocked("a.example.com"))
    write(machine.system_dir / "block.conf", blocked("b.example.com"))
    write(machine.user_file, blocked("c.example.com"))
    write(machine.user_dir / "block.conf", blocked("d.example.com"))
    assert [r.prefix for r in machine.load().registries] == ["c.example.com", "d.example.com"]


def test_version_1_block_lists_count_as_blocked(machine: Machine) -> None:
    write(machine.system_file, '[registries.search]\nregistries = ["docker.io"]\n'
          '[registries.insecure]\nregistries = ["insecure.example.com"]\n'
          '[registries.block]\nregistries = ["blocked.example.com", "b.example.com:5000/"]\n')
    conf = machine.load()
    assert conf.problems == ()
    assert {(r.prefix, r.blocked, r.insecure) for r in conf.registries} == {
        ("blocked.example.com", True, False), ("b.example.com:5000", True, False),
        ("insecure.example.com", False, True)}
    with pytest.raises(RegistryBlocked, match=r'prefix "b\.example\.com:5000"'):
        conf.check("b.example.com:5000", "app")


def test_a_wildcard_prefix_needs_no_location(machine: Machine) -> None:
    write(machine.system_file, '[[registry]]\nprefix = "*.internal.example.com"\n'
          "blocked = true\n")
    conf = machine.load()
    assert conf.problems == ()
    with pytest.raises(RegistryBlocked, match=r'prefix "\*.internal.example.com"'):
        conf.check("git.internal.example.com:8443", "team/app")
    conf.check("internal.example.com", "team/app")


@pytest.mark.parametrize("text, said", [
    ("[[registry]\n", "at line 1, column 11: not TOML ("),
    ('registry = "x"\n', '"registry" is not an array of tables'),
    ('[[registry]]\nlocation = "x.example.com"\nblocked = "yes"\n',
     '"blocked" of the [[registry]] with location "x.example.com" is not true or false'),
    ('[[registry]]\nlocation = "x.example.com"\n[[registry]]\nprefix = "y.example.com/t"\n'
     'location = "y.example.com"\ninsecure = 1\n',
     '"insecure" of the [[registry]] with prefix "y.example.com/t" is not true or false'),
    ('[[registry]]\nlocation = "x.example.com"\n[[registry.mirror]]\n'
     'location = "m.example.com"\ninsecure = "no"\n',
     '"insecure" of the [[registry.mirror]] with location "m.example.com" of '
     '"x.example.com" is not true or false'),
    ('[[registry]]\nlocation = 5\n', '"location" of [[registry]] number 1 is not a string'),
    # the settings of version 2 Spyglass does not use, checked as containers/image does
    ('short-name-mode = "bogus"\n',
     'the short-name-mode "bogus" is none of disabled, permissive, enforcing'),
    ("short-name-mode = true\n", '"short-name-mode" is not a string'),
    ('unqualified-search-registries = "x.example.com"\n',
     '"unqualified-search-registries" is not a list of strings'),
    ('unqualified-search-registries = ["x.example.com", "my registry"]\n',
     'the unqualified-search-registries entry "my registry" is not a registry'),
    ('unqualified-search-registries = ["https://x.example.com"]\n',
     'the unqualified-search-registries entry "https://x.example.com" has a URL scheme'),
    ('credential-helpers = "pass"\n', '"credential-helpers" is not a list of strings'),
    ("credential-helpers = [1]\n", '"credential-helpers" is not a list of strings'),
    ('aliases = "x"\n', '"aliases" is not a table ([aliases])'),
    ('[aliases]\n"app" = 1\n', 'the alias "app" in [aliases] is not a string'),
    ('[aliases]\n"app" = "x.example.com/lib/app"\nshort-name-mode = "enforcing"\n',
     'the alias "short-name-mode" in [aliases]: its value "enforcing" has no registry'),
    ('[aliases]\n"app" = "x.example.com/lib/app:1"\n',
     'the alias "app" in [aliases]: its value "x.example.com/lib/app:1" has a tag'),
    ('[aliases]\n"app" = "x.example.com/lib/app@sha256:' + "a" * 64 + '"\n',
     "has a digest"),
    ('[aliases]\n"app" = "x.example.com/Lib/app"\n',
     'its value "x.example.com/Lib/app" is not an image name (repository name must be '
     "lowercase)"),
    ('[aliases]\n"localhost/app" = "localhost/lib/app"\n',
     'the alias "localhost/app" in [aliases] names a registry'),
    ('[aliases]\n"app:1" = "localhost/lib/app"\n',
     'the alias "app:1" in [aliases]: its name "app:1" has a tag'),
    ('[[registry]]\nlocation = "https://x.example.com"\n',
     'the location "https://x.example.com" has a URL scheme'),
    ("[[registry]]\nblocked = true\n", "a [[registry]] has neither a location nor a prefix"),
    ('[[registry]]\nprefix = "x.example.com"\nblocked = true\n',
     'the prefix "x.example.com" has no location'),
    ('[[registry]]\nprefix = "*.example.com/team"\nblocked = true\n',
     'the wildcard prefix "*.example.com/team" is not of the form *.example.com'),
    ('[[registry]]\nlocation = "x.example.com"\n[[registry.mirror]]\ninsecure = true\n',
     'a mirror of "x.example.com" has no location'),
    ('[[registry]]\nlocation = "x.example.com"\nprefix = "x.example.com/a"\n'
     '[[registry]]\nlocation = "x.example.com"\nprefix = "x.example.com/b"\nblocked = true\n',
     'the registry "x.example.com" is given twice with different blocked settings'),
    ('unqualified-search-registries = ["docker.io"]\n[registries.block]\n'
     'registries = ["x.example.com"]\n', "it mixes the version 1 and version 2 formats"),
    ('[[registry]]\nlocation = "x.example.com"\nmirror-by-digest-only = true\n'
     '[[registry.mirror]]\nlocation = "m.example.com"\npull-from-mirror = "all"\n',
     'the registry "x.example.com" has mirror-by-digest-only, and its mirror '
     '"m.example.com" pull-from-mirror; expected one of them'),
    ('[[registry]]\nlocation = "x.example.com"\n'
     '[[registry.mirror]]\nlocation = "m.example.com"\npull-from-mirror = "some"\n',
     'the pull-from-mirror "some" of the mirror "m.example.com" is none of all, '
     "digest-only, tag-only"),
])
def test_a_malformed_file_refuses_every_registry(
        machine: Machine, text: str, said: str) -> None:
    """F5: as skopeo, no registry is contacted while a file cannot be used (what it
    blocks is not known); the sentence names the file (and where, for TOML)."""
    write(machine.system_file, text)
    write(machine.system_dir / "block.conf", blocked("other.example.com"))
    conf = machine.load()
    assert len(conf.problems) == 1
    problem = conf.problems[0]
    assert problem.startswith(f'The registries.conf "{machine.system_file}" is malformed: ')
    assert said in problem, problem
    assert problem.endswith(f". {UNUSABLE}.")
    for host in ("other.example.com", "anything.example.com"):
        with pytest.raises(RegistriesConfInvalid) as refused:
            conf.check(host, "team/app")
        assert str(refused.value) == problem
    with pytest.raises(RegistriesConfInvalid):
        conf.pull_sources("anything.example.com", "team/app", digested=False)


def test_the_version_2_settings_containers_image_accepts_are_accepted(
        machine: Machine) -> None:
    write(machine.system_file, 'unqualified-search-registries = ["x.example.com", '
          '"localhost:5000/", "quay"]\nshort-name-mode = "enforcing"\n'
          'credential-helpers = ["containers-auth.json", "pass"]\n'
          'additional-layer-store-auth-helper = "helper"\n'
          '[aliases]\n"fedora" = "registry.fedoraproject.org/fedora"\n'
          '"team/app" = "localhost:5000/team/app"\n"hub" = "docker.io/hub"\n'
          '"gone" = ""\n')
    write(machine.system_dir / "mode.conf", 'short-name-mode = ""\n')
    assert machine.load().problems == ()


def test_a_rewrite_that_makes_no_valid_name_refuses_that_name_alone(tmp_path: Path) -> None:
    """containers/image's rewriteReference parses the name it makes: a wildcard prefix
    stops before the port, so a location with a port gets a second one."""
    path = tmp_path / "registries.conf"
    conf = RegistriesConf((
        Registry("*.localhost", "127.0.0.1:5000", path),
        Registry("x.example.com", "x.example.com", path,
                 mirrors=(Mirror("m.example.com:5000"),)),
        Registry("y.example.com", "hub", path),
    ))
    with pytest.raises(RegistriesConfInvalid) as refused:
        conf.pull_sources("foo.localhost:6000", "lib/app", digested=False)
    assert str(refused.value) == (
        f'The registries.conf "{path}" rewrites foo.localhost:6000/lib/app (prefix '
        '"*.localhost", location "127.0.0.1:5000") to "127.0.0.1:5000:6000/lib/app", which is '
        'not a valid image name (the registry "127.0.0.1:5000:6000" is not a host name, IPv4 '
        "address or [IPv6 address] with an optional :port); fix the prefix or the location.")
    assert conf.pull_sources("foo.localhost", "lib/app", digested=False) == [
        PullSource("127.0.0.1:5000", "lib/app")]
    with pytest.raises(RegistriesConfInvalid, match=r'\(prefix "x.example.com", its mirror '
                       r'"m.example.com:5000"\) to "m.example.com:5000:1/a"'):
        conf.pull_sources("x.example.com:1", "a", digested=False)
    with pytest.raises(RegistriesConfInvalid, match=r'to "hub/app", which is not a valid image '
                       r'name \(it would be read as the Docker Hub repository '
                       r'"docker.io/hub/app"\)'):
        conf.pull_sources("y.example.com", "app", digested=False)
    conf.check("foo.localhost:6000", "lib/app")  # (nothing else is refused)


def test_a_toml_error_says_its_line_and_column(machine: Machine) -> None:
    write(machine.system_file, '[[registry]]\nlocation = "127.0.0.1:5001"\nblocked = true\n'
          '[aliases]\n"myapp" = "127.0.0.1:5001/team/app\n')
    assert machine.load().problems == (
        f'The registries.conf "{machine.system_file}" is malformed: at line 5, column 35: '
        "not TOML (illegal character '\\n'). " + UNUSABLE + ".",)


def test_a_drop_in_in_the_version_1_format_is_passed_over(machine: Machine) -> None:
    write(machine.system_dir / "old.conf", '[registries.block]\nregistries = ["x.example.com"]\n')
    conf = machine.load()
    assert conf.registries == ()
    assert conf.problems == (
        f'The registries.conf "{machine.system_dir / "old.conf"}" is malformed: it is in the '
        f"version 1 format, which a drop-in file may not be. {UNUSABLE}.",)


def test_unreadable_and_missing_files(machine: Machine) -> None:
    # no file at all: nothing blocked, nothing to say
    assert machine.load() == RegistriesConf()
    machine.system_file.write_bytes(b'[[registry]]\nlocation = "\xff"\n')
    assert machine.load().problems == (
        f'Cannot read the registries.conf "{machine.system_file}": \'utf-8\' codec can\'t '
        f"decode byte 0xff in position 25: invalid start byte. {UNUSABLE}.",)
    # a file the environment names must be there
    machine.environ["CONTAINERS_REGISTRIES_CONF"] = str(machine.etc / "nope.conf")
    assert machine.load().problems == (
        f'The registries.conf "{machine.etc / "nope.conf"}" that $CONTAINERS_REGISTRIES_CONF '
        f"names does not exist. {UNUSABLE}.",)


def test_the_files_are_read_again_when_they_change(machine: Machine) -> None:
    write(machine.system_file, "[[registry]\n")
    first = machine.current()
    assert machine.current() is first
    with pytest.raises(RegistriesConfInvalid):
        first.check("x.example.com")
    write(machine.system_file, "")  # fixed: registries are contacted again
    machine.current().check("x.example.com")
    write(machine.system_dir / "block.conf", blocked("x.example.com"))  # a new drop-in
    with pytest.raises(RegistryBlocked):
        machine.current().check("x.example.com")
    # an edited one (of another size: a file's time may not change within a few ms)
    write(machine.system_dir / "block.conf", blocked("yy.example.com"))
    machine.current().check("x.example.com")
    with pytest.raises(RegistryBlocked):
        machine.current().check("yy.example.com")


OUT_OF_FILES = """\
import errno, json, os, resource, sys
from pathlib import Path
from spyglass.core import registries_conf
etc, home = Path(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
def conf():
    return registries_conf.current({"HOME": home}, system_file=etc / "registries.conf",
                                   system_dir=etc / "registries.conf.d")
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError as exc:
    assert exc.errno == errno.EMFILE
short = conf()
for fd in held:
    os.close(fd)
print(json.dumps([short.problems, conf().problems, len(conf().registries)]))
"""


def test_running_out_of_open_files_is_said_as_such_not_blamed_on_the_files(
        machine: Machine) -> None:
    """With no descriptor left (``ulimit -n`` too low for --parallel) the folder cannot be
    listed nor the file read: what is said is that, not that they are to be fixed; and
    they are read again once descriptors are free (nothing cached)."""
    import json
    import subprocess
    import sys

    write(machine.system_file, blocked("a.example"))
    write(machine.system_dir / "b.conf", blocked("b.example"))
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", OUT_OF_FILES, str(machine.etc), str(machine.home)],
        env={"PYTHONPATH": str(repo / "app"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    short, later, entries = json.loads(done.stdout)
    advice = ("Spyglass ran out of open files (it may have 64 open at once, `ulimit -n`); "
              "lower --parallel or raise that limit.")
    assert short[0] == (f'Cannot list the registries.conf.d folder "{machine.system_dir}": '
                        f"{advice}")
    assert f'Cannot read the registries.conf "{machine.system_file}": {advice}' in short
    assert later == [] and entries == 2


def test_a_file_left_open_at_its_end_is_said_plainly(machine: Machine) -> None:
    """tomllib says "Invalid value (at end of document)": it read as a second pair of
    brackets inside the sentence's, with a capital in its middle."""
    write(machine.system_file, "unqualified-search-registries = [")
    assert machine.load().problems == (
        f'The registries.conf "{machine.system_file}" is malformed: at its end: not TOML '
        f"(invalid value). {UNUSABLE}.",)
