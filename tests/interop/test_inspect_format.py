"""``spyglass inspect --format`` prints what ``skopeo inspect --format`` prints.

Templates scripts use, run by both tools on the same images (the bundled
sample's list, read for this machine's platform, and an image with many labels
and a creation time with a fraction and an offset); skopeo 1.9 knows neither the
``json`` function nor ``LayersData`` in its templates, so those are checked in
``tests/unit/core/test_template.py``. skopeo runs a template inside ``{{range .}}``
over a list of the one description, so ``$`` is that list.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]

TEMPLATES = [
    "{{.Digest}}",
    "{{.Name}} {{.Tag}} {{.DockerVersion}}",
    "{{.Architecture}}/{{.Os}}",
    "{{.Created}}",
    "{{.Labels}}",
    '{{index .Labels "org.opencontainers.image.version"}}',
    "{{.Labels.missing}}",
    "{{range .Layers}}{{.}}\n{{end}}",
    "{{len .Layers}} layers, {{len .Labels}} labels",
    "{{range .RepoTags}}{{.}},{{else}}none{{end}}",
    "{{if .Labels}}labelled{{else}}bare{{end}}",
    "{{.Env}}",
    "{{- .Os -}}   \n   {{.Architecture}}",
    "plain text only",
    '{{index .Labels "not-there"}}|',
    "{{if .RepoTags}}tagged{{else if .Labels}}labelled{{else}}bare{{end}}",
    '{{printf "%-8s|%5d|%q" .Os (len .Layers) .Architecture}}',
    '{{if eq .Os "linux"}}linux{{end}} {{ne .Architecture "s390x"}} {{not .RepoTags}}',
    '{{if and .Labels (eq .Os "linux")}}both{{end}} {{or .Name .Os}}',
    "{{index .Labels `org.opencontainers.image.version`}}",
    "{{.Os}}\\n{{.Architecture}}",
    "{{print .Os 1 2 .Architecture}}",
    '{{.Created.Format "2006-01-02"}}',
    '{{.Created.Format "Mon Jan _2 15:04:05.000 MST 2006 Z07:00 -0700 ,999999999"}}',
    '{{.Created.Format "January 2, 2006 at 3:04pm (002)"}}',
    "{{.Created.Unix}} {{.Created.Year}} {{.Created.Month}} {{.Created.Day}} "
    "{{.Created.Hour}} {{.Created.Weekday}} {{.Created.YearDay}} {{.Created.Nanosecond}}",
    "{{.Created.UTC}} {{.Created.UTC.Format \"15:04 MST\"}}",
    # variables, with, break/continue, (…).Field and Go's other functions
    "{{with .Labels}}{{len .}}{{else}}none{{end}} {{with .Name}}{{.}}{{else}}unnamed{{end}}",
    "{{range $i, $l := .Layers}}{{$i}}:{{slice $l 7 19}} {{end}}",
    "{{$os := .Os}}{{range .Layers}}{{$os}},{{end}}",
    "{{$n := 0}}{{range $i, $_ := .Layers}}{{$n = $i}}{{end}}{{$n}}",
    "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}",
    '{{range .Layers}}{{if eq (slice . 7 8) "0"}}{{continue}}{{end}}{{.}}{{break}}{{end}}',
    "{{len $}} {{(index $ 0).Os}} {{range $}}{{.Architecture}}{{end}}",
    '{{lt (len .Layers) 10}} {{ge (len .Labels) 1}} {{gt .Os "a"}} {{le .Architecture "amd"}}',
    "{{html \"<b>&'x'</b>\"}} {{js \"it's <ok> = \\\\\"}} {{urlquery .Os \"a b/é\"}}",
    "{{println .Os .Architecture}}{{print 1 2}}",
    "{{slice .Layers 1}} {{(index .Layers 0)}}",
    "{{with $x := .Os}}{{$x}}/{{.}}{{end}} {{if $a := .Architecture}}{{$a}}{{end}}",
    '{{$t := .Created}}{{$t.Format "2006"}} {{(.Created).Year}} {{$t.UTC.Hour}}',
    "{{$x := 1}}{{range $x = .Layers}}{{end}}{{$x}}",
    "{{if .Os}}{{$x := .Os}}{{$x}}{{else}}{{$x}}{{end}}",
    # printf as Go's fmt: a list's and a map's elements each with the verb, %q as
    # strconv.Quote, precision on %v, %T, and the integer verbs
    '{{printf "%q|%q|%q|%x" .Env .RepoTags .Labels .Layers}}',
    '{{printf "%q|%+q|%#q" (index .Labels "ctl") (index .Labels "ctl") .Os}}',
    '{{printf "%d|%5v|%-12.3s|%10.4v|" .Layers .Env .Layers .Os}}',
    '{{printf "%T %T %T %T %T %T %T" . .Env .Labels .Digest .Os .Created .Created.UTC}}',
    '{{printf "%#v|%#v|%#v|%#v" .Os .Env .Labels .RepoTags}}',
    '{{printf "%c %U %#U %b %#x %#o %q %5d %s %v" 65 233 65 5 255 8 65 "ab" 5 nil}}',
    '{{printf "%+v" .Labels}} {{printf "%X" .Labels}} {{printf "%.2x" .Os}}',
    # a digest's methods, and the digest as a string everywhere else
    "{{.Digest.Algorithm}} {{.Digest.Encoded}} {{.Digest.Hex}} {{.Digest.String}} "
    "{{.Digest.Validate}}",
    '{{eq .Digest (index $ 0).Digest}} {{lt .Digest "z"}} {{slice .Digest 0 6}} '
    "{{len .Digest}} {{printf \"%s|%q|%v\" .Digest .Digest .Digest}}",
    "{{.Created.Local}} {{.Created.Local.Hour}} {{printf \"%#v\" .Created.UTC}}",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")})


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("format") / "layout"
    builder = LayoutBuilder(root)
    labels = {"org.opencontainers.image.version": "2.1 <beta> & co", "zeta": "z",
              "alpha": "a", "Mixed.Case": "M", "ctl": "a\x01b\x7f\u00e9\u2028\"\\\n"}
    builder.tag(builder.add_image(ImageSpec(
        layers=[LayerSpec({"/a": b"a\n"}), LayerSpec({"/b": b"b\n"})],
        labels=labels, created="2024-06-30T23:59:58.1234500+02:00")), "latest")
    return f"oci:{root}:latest"


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("which", ["sample", "labelled"])
def test_inspect_format_agrees_with_skopeo(
    template: str, which: str, labelled: str, sample_layout: Path
) -> None:
    skopeo = require_tool("skopeo")
    name = labelled if which == "labelled" else f"oci:{sample_layout}:spyglass-demo:1.0"
    theirs = _run(skopeo, "inspect", "--format", template, name)
    assert theirs.returncode == 0, theirs.stderr
    ours = _run(sys.executable, "-m", "spyglass", "inspect", "--format", template, name)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_a_field_skopeo_has_not_is_refused_by_both(sample_layout: Path) -> None:
    skopeo = require_tool("skopeo")
    name = f"oci:{sample_layout}:spyglass-demo:1.0"
    assert _run(skopeo, "inspect", "--format", "{{.Nope}}", name).returncode != 0
    ours = _run(sys.executable, "-m", "spyglass", "inspect", "--format", "{{.Nope}}", name)
    assert ours.returncode == 1 and ours.stdout == ""
    assert ours.stderr.startswith('spyglass: The format "{{.Nope}}" asks for .Nope, which '
                                  "is no field: the fields there are Name, Tag, Digest,")


CONFIG_TEMPLATES = [
    "{{.Architecture}} {{.OS}} {{.Variant}}|{{.OSVersion}}|{{.Author}}",
    "{{.Created}} {{.Created.Format \"2006-01-02\"}}",
    "{{.Config.Env}} {{.Config.Cmd}} {{.Config.Entrypoint}} {{.Config.WorkingDir}}",
    "{{.Config.Labels}} {{.Config.ExposedPorts}} {{.Config.Volumes}} {{.Config.User}}",
    "{{.RootFS.Type}} {{len .RootFS.DiffIDs}} {{index .RootFS.DiffIDs 0}}",
    "{{range .History}}{{.Created}}|{{.CreatedBy}}|{{.EmptyLayer}}|{{.Comment}}\\n{{end}}",
    '{{index .Config.Labels "org.opencontainers.image.version"}}',
    "{{range $i, $h := .History}}{{$i}}{{if $h.EmptyLayer}}e{{end}} {{end}}",
    "{{with .Config}}{{.Env}}{{end}} {{with .Author}}{{.}}{{else}}nobody{{end}} {{len $}}",
    # the v1.Image struct's types, order and Go syntax; a diff ID is a digest
    "{{range .RootFS.DiffIDs}}{{.Algorithm}}:{{.Encoded}}={{.Hex}} {{end}}",
    '{{printf "%T|%T|%T|%T|%T|%T" . .Config .RootFS .History .RootFS.DiffIDs .Created}}',
    '{{printf "%+v" .}}',
    '{{printf "%#v" .RootFS}} {{printf "%#v" .Config}} {{printf "%#v" .History}}',
]


@pytest.mark.parametrize("template", CONFIG_TEMPLATES)
@pytest.mark.parametrize("which", ["sample", "labelled"])
def test_inspect_config_format_agrees_with_skopeo(
    template: str, which: str, labelled: str, sample_layout: Path
) -> None:
    skopeo = require_tool("skopeo")
    name = labelled if which == "labelled" else f"oci:{sample_layout}:spyglass-demo:1.0"
    theirs = _run(skopeo, "inspect", "--config", "--format", template, name)
    assert theirs.returncode == 0, theirs.stderr
    ours = _run(sys.executable, "-m", "spyglass", "inspect", "--config", "--format",
                template, name)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
