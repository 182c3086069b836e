"""registries.conf, for its blocked registries (spyglass.core.registries_conf): which
files, in which order, how prefixes match, and what a broken file does. The home folder
and the system's files are the test's own (the real /etc is never read)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from spyglass.core.errors import RegistryBlocked
from spyglass.core.registries_conf import (
    RegistriesConf,
    Registry,
    Sources,
    config_sources,
    current,
    load,
    matching_length,
)


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
        'blocks it (blocked = true for the prefix "example.com"). To reach it, remove that '
        "entry or set blocked = false there.")
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
        '"example.com/secret"). To reach it, remove that entry or set blocked = false '
        "there.")


def test_settings_spyglass_does_not_use_get_one_debug_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "registries.conf"
    conf = RegistriesConf((Registry("example.com", "mirror.example.net/example", path,
                                    insecure=True, mirrors=("cache.local",)),))
    caplog.set_level(logging.DEBUG, logger="spyglass.core.registries_conf")
    for _ in range(3):
        conf.check("example.com", "team/app")
    lines = [r for r in caplog.records if r.name == "spyglass.core.registries_conf"]
    assert len(lines) == 1 and lines[0].levelno == logging.DEBUG
    assert lines[0].getMessage() == (
        f'The registries.conf "{path}" gives the prefix "example.com" mirrors (cache.local) '
        'and the location "mirror.example.net/example" and insecure = true, which Spyglass '
        "does not use: it contacts example.com as the image name says.")


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
                                        (machine.system_dir, machine.user_dir), named=True)


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
    ("[[registry]\n", "not TOML: "),
    ('registry = "x"\n', '"registry" is not an array of tables'),
    ('[[registry]]\nlocation = "x.example.com"\nblocked = "yes"\n',
     '"blocked" is not true or false'),
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
])
def test_a_malformed_file_is_passed_over_with_a_warning_and_the_others_apply(
        machine: Machine, text: str, said: str) -> None:
    write(machine.system_file, text)
    write(machine.system_dir / "block.conf", blocked("other.example.com"))
    conf = machine.load()
    assert len(conf.problems) == 1
    problem = conf.problems[0]
    assert problem.startswith(f'The registries.conf "{machine.system_file}" is malformed (')
    assert said in problem, problem
    assert problem.endswith("; Spyglass goes on without it, so no registry it blocks is "
                            "blocked.")
    assert [r.prefix for r in conf.registries] == ["other.example.com"]


def test_a_drop_in_in_the_version_1_format_is_passed_over(machine: Machine) -> None:
    write(machine.system_dir / "old.conf", '[registries.block]\nregistries = ["x.example.com"]\n')
    conf = machine.load()
    assert conf.registries == ()
    assert conf.problems == (
        f'The registries.conf "{machine.system_dir / "old.conf"}" is malformed (it is in the '
        "version 1 format, which a drop-in file may not be); Spyglass goes on without it, so "
        "no registry it blocks is blocked.",)


def test_unreadable_and_missing_files(machine: Machine) -> None:
    # no file at all: nothing blocked, nothing to say
    assert machine.load() == RegistriesConf()
    machine.system_file.write_bytes(b'[[registry]]\nlocation = "\xff"\n')
    assert machine.load().problems == (
        f'Cannot read the registries.conf "{machine.system_file}" (\'utf-8\' codec can\'t '
        "decode byte 0xff in position 25: invalid start byte); Spyglass goes on without it, "
        "so no registry it blocks is blocked.",)
    # a file the environment names must be there
    machine.environ["CONTAINERS_REGISTRIES_CONF"] = str(machine.etc / "nope.conf")
    assert machine.load().problems == (
        f'The registries.conf "{machine.etc / "nope.conf"}" that $CONTAINERS_REGISTRIES_CONF '
        "names does not exist; Spyglass goes on without it, so no registry is blocked by "
        "it.",)


def test_the_files_are_read_again_when_they_change_and_warned_of_once(
        machine: Machine, caplog: pytest.LogCaptureFixture) -> None:
    write(machine.system_file, "[[registry]\n")
    caplog.set_level(logging.WARNING, logger="spyglass.core.registries_conf")
    first = machine.current()
    assert machine.current() is first
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    write(machine.system_dir / "block.conf", blocked("x.example.com"))  # a new drop-in
    with pytest.raises(RegistryBlocked):
        machine.current().check("x.example.com")
    # an edited one (of another size: a file's time may not change within a few ms)
    write(machine.system_dir / "block.conf", blocked("yy.example.com"))
    machine.current().check("x.example.com")
    with pytest.raises(RegistryBlocked):
        machine.current().check("yy.example.com")
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
