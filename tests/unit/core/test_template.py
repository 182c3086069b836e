"""The Go-template subset of ``inspect --format`` (what skopeo 1.9 also prints is
compared with skopeo in ``tests/interop/test_inspect_format.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from spyglass.cli.gotime import GoTime
from spyglass.cli.template import render
from spyglass.cli.template_values import MISSING, GoMap, TemplateError

DATA: dict[str, Any] = {
    "Name": "",
    "Digest": "sha256:abc",
    "RepoTags": ["1.0", "latest"],
    "Created": GoTime("2024-06-30T23:59:58.1234500+02:00"),
    "Labels": GoMap({"zeta": "z", "a.b": "<x> & y", "alpha": "a"}),
    "Layers": ["sha256:1", "sha256:2"],
    "LayersData": [
        {"MIMEType": "m", "Digest": "sha256:1", "Size": 10, "Annotations": GoMap(nil=True)},
        {"MIMEType": "m", "Digest": "sha256:2", "Size": 20, "Annotations": GoMap({"k": "v"})},
    ],
    "Env": [],
    "Count": 0,
    "Flag": True,
}


@pytest.mark.parametrize(("template", "printed"), [
    ("{{.Digest}}", "sha256:abc"),
    ("digest={{ .Digest }}!", "digest=sha256:abc!"),
    ("{{.Name}}|", "|"),
    ("{{.RepoTags}}", "[1.0 latest]"),
    ("{{.Labels}}", "map[a.b:<x> & y alpha:a zeta:z]"),
    ("{{.Labels.alpha}} {{.Labels.nothing}}", "a <no value>"),
    ('{{index .Labels "a.b"}}', "<x> & y"),
    ("{{index .RepoTags 1}}", "latest"),
    ("{{json .Labels}}", '{"a.b":"\\u003cx\\u003e \\u0026 y","alpha":"a","zeta":"z"}'),
    ("{{json .RepoTags}}", '["1.0","latest"]'),
    ("{{json .Created}}", '"2024-06-30T23:59:58.12345+02:00"'),  # (RFC 3339, nanoseconds)
    ("{{.Labels | json}}", '{"a.b":"\\u003cx\\u003e \\u0026 y","alpha":"a","zeta":"z"}'),
    ("{{json (index .LayersData 0)}}", None),
    ("{{range .RepoTags}}[{{.}}]{{end}}", "[1.0][latest]"),
    ("{{range .Env}}x{{else}}no env{{end}}", "no env"),
    ("{{range .Labels}}{{.}},{{end}}", "<x> & y,a,z,"),
    ("{{range .LayersData}}{{.Size}}:{{.Annotations}} {{end}}", "10:map[] 20:map[k:v] "),
    ("{{range .LayersData}}{{.}}{{end}}", "{m sha256:1 10 map[]}{m sha256:2 20 map[k:v]}"),
    ("{{json .LayersData}}", '[{"MIMEType":"m","Digest":"sha256:1","Size":10,'
     '"Annotations":null},{"MIMEType":"m","Digest":"sha256:2","Size":20,'
     '"Annotations":{"k":"v"}}]'),
    ("{{if .Flag}}yes{{else}}no{{end}} {{if .Count}}yes{{else}}no{{end}}", "yes no"),
    ("{{if .Labels.nothing}}yes{{else}}no{{end}}", "no"),
    ("{{len .Layers}} {{len .Labels}} {{len .Digest}}", "2 3 10"),
    ("{{upper .Digest}} {{.Digest | upper}} {{lower \"AbC\"}}", "SHA256:ABC SHA256:ABC abc"),
    ('{{join .RepoTags ", "}}', "1.0, latest"),
    ("{{.Created}}", "2024-06-30 23:59:58.12345 +0200 +0200"),
    ("a  {{- .Digest -}}  b", "asha256:abcb"),
    ("{{/* a comment */}}x", "x"),
    ("no actions at all", "no actions at all"),
    ('{{index .Labels "nothing"}}|', "|"),  # Go's index: a missing key is ""
    ("{{if .Count}}c{{else if .Flag}}f{{else}}n{{end}}", "f"),
    ("{{if .Flag}}f{{else if .Count}}c{{end}}", "f"),
    ("{{if .Count}}c{{else if .Env}}e{{else if .Layers}}l{{else}}n{{end}}", "l"),
    ('{{printf "%-6s|%4d|%q|%v%%" .Digest 42 .Name .Flag}}', 'sha256:abc|  42|""|true%'),
    ('{{printf "%s %s" .Digest}}', "sha256:abc %!s(MISSING)"),
    ('{{eq .Digest "sha256:abc"}} {{ne .Digest "x"}} {{not .Env}} {{eq .Count 0 1}}',
     "true true true true"),
    ("{{and .Flag .Count}} {{or .Count .Digest}}", "0 sha256:abc"),
    ("{{print .Count .Flag \"x\" 1}}", "0 truex1"),
    ("{{index .Labels `a.b`}}", "<x> & y"),
    ('{{"tab\\there\\x41\\u00e9"}}', "tab\there" + "A\u00e9"),
    ("{{.Digest}}\\n{{.Count}}\\t!", "sha256:abc\n0\t!"),
])
def test_rendering(template: str, printed: str | None) -> None:
    if printed is None:
        assert render(template, DATA) == (
            '{"MIMEType":"m","Digest":"sha256:1","Size":10,"Annotations":null}')
        return
    assert render(template, DATA) == printed


@pytest.mark.parametrize(("text", "shown"), [
    ("2024-01-15T09:30:00Z", "2024-01-15 09:30:00 +0000 UTC"),
    ("2024-01-15T09:30:00.500Z", "2024-01-15 09:30:00.5 +0000 UTC"),
    ("2024-01-15T09:30:00+00:00", "2024-01-15 09:30:00 +0000 UTC"),
    ("2024-01-15T09:30:00-05:30", "2024-01-15 09:30:00 -0530 -0530"),
    ("not a time", "not a time"),
])
def test_times_print_as_go_prints_them(text: str, shown: str) -> None:
    assert render("{{.}}", GoTime(text)) == shown


@pytest.mark.parametrize(("template", "sentence"), [
    ("{{.Nope}}", 'The format "{{.Nope}}" asks for .Nope, which is no field: the fields '
                  "there are Name, Digest,"),
    ("{{.Digest.Short}}", 'asks for .Digest.Short, but .Digest is a string, which has no '
                          "fields."),
    ("{{range .LayersData}}{{.Nope}}{{end}}", "asks for .Nope, which is no field: the "
                                              "fields there are MIMEType, Digest, Size,"),
    ("{{.Digest", 'an action opened with "{{" is never closed with "}}".'),
    ("{{range .Layers}}x", '"{{range .Layers}}" is never closed with "{{end}}".'),
    ("x{{end}}", '"{{end}}" has no "{{range}}" or "{{if}}" before it.'),
    ("{{sprig .Digest}}", 'calls "sprig", which is no function Spyglass knows'),
    ("{{if .Flag}}x{{else}}{{nope .Digest}}{{end}}", 'calls "nope"'),  # read, not run
    ("{{.Created.Year \"2006\"}}", 'gives arguments to the field ".Created.Year"'),
    ("{{.Digest | .Name}}", "gives a value where a function is to be called."),
    ("{{json}}", "json takes 1 argument, not 0."),
    ("{{len .Layers .Env}}", "len takes 1 argument, not 2."),
    ("{{join .RepoTags}}", "join takes 2 arguments, not 1."),
    ("{{upper .Labels}}", "upper: it takes a string, not a map."),
    ('{{"\\q"}}', '"\\q" in "\\q" is no escape Go knows.'),
    ('{{define "x"}}{{end}}', "is beyond what Spyglass reads of Go templates"),
    ("{{$x}}", 'uses $x, which is not declared before it.'),
    ("{{if .Flag}}{{$x := 1}}{{end}}{{$x}}", "uses $x, which is not declared before it."),
    ("{{range $i, $e := .Layers}}{{end}}{{$e}}", "uses $e, which is not declared"),
    ("{{$x = 1}}", "sets $x, which is not declared before it."),
    ("{{$x.y := 1}}", 'declares "$x.y", which is no variable name.'),
    ("{{$a, $b := .Layers}}", "declares two variables, which only a range does."),
    ("{{$a := 1}}{{$a, 1}}", """',' in "{{$a, 1}}" is not understood."""),
    ("{{break}}", '"{{break}}" is outside any "{{range}}".'),
    ("{{range .Layers}}{{else}}{{continue}}{{end}}", '"{{continue}}" is outside any'),
    ("{{with .Flag}}x{{else if .Count}}y{{end}}", "follows a with: only an if takes"),
    ("{{$x := 1}}{{$x 2}}", 'gives arguments to "$x", which is no function'),
    ("{{$x := 1}}{{.Digest | $x}}", "gives a value where a function is to be called."),
    ("{{lt 1 2.5}}", "lt: incompatible types for comparison."),
    ("{{lt .Flag .Flag}}", "lt: a boolean cannot be ordered."),
    ("{{slice .Digest 1 2 3}}", "slice: a string takes at most two indexes."),
    ("{{slice .Layers 2 1}}", "slice: the indexes 2, 1 are out of range (it has 2)."),
    ("{{slice .Count 1}}", "slice: a number cannot be sliced."),
    ("{{.Digest 3}}", 'gives arguments to the field ".Digest"'),
    ("{{json (index .Layers 0}}", "opens a parenthesis it never closes."),
    ("{{json .Layers)}}", "closes a parenthesis it never opened."),
    ("{{range .Digest}}{{end}}", "ranges over a string; range takes a list or a map."),
    ("{{index .RepoTags 5}}", "index: 5 is out of range (the list has 2)."),
    ("{{.Digest | }}", "has an empty command."),
    ("{{.Digest @}}", """'@' in "{{.Digest @}}" is not understood."""),
    # a nil pointer's field or method (Go: "nil pointer evaluating"); a missing key's is
    # no value
    ("{{.Created.IsZero}}", "asks for .Created.IsZero, but .Created is nil (the image "
     "has none)."),
])
def test_a_template_that_cannot_be_run_gets_a_sentence(template: str, sentence: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, {**DATA, "Created": None})
    message = str(caught.value)
    assert sentence in message, message
    assert message.startswith(f'The format "{template}"'), message
    assert "\n" not in message


@pytest.mark.parametrize(("layout", "written"), [
    ("2006-01-02T15:04:05Z07:00", "2024-06-30T23:59:58+02:00"),
    ("2006-01-02 15:04:05.000000000 -0700 MST", "2024-06-30 23:59:58.123450000 +0200 +0200"),
    ("Mon Jan _2 03:04:05PM .999 ,99", "Sun Jun 30 11:59:58PM .123 ,12"),
    ("Monday January 2 06 002 1/2 3:4:5 pm", "Sunday June 30 24 182 6/30 11:59:58 pm"),
    ("not a layout at all", "not a layout at all"),
])
def test_created_format_takes_gos_layouts(layout: str, written: str) -> None:
    created = GoTime("2024-06-30T23:59:58.1234500+02:00")
    assert render(f'{{{{.Format "{layout}"}}}}', created) == written


def test_a_times_methods() -> None:
    created = GoTime("2024-06-30T23:59:58.1234500+02:00")
    assert render("{{.Unix}} {{.Year}} {{.Month}} {{.Day}} {{.Hour}} {{.Minute}} {{.Second}} "
                  "{{.Nanosecond}} {{.YearDay}} {{.Weekday}}", created) == \
        "1719784798 2024 June 30 23 59 58 123450000 182 Sunday"
    assert render("{{.UTC}}", created) == "2024-06-30 21:59:58.12345 +0000 UTC"
    with pytest.raises(TemplateError, match="a time has no such method"):
        render("{{.Tomorrow}}", created)
    with pytest.raises(TemplateError, match=r"\.Digest\.Format is for a time"):
        render('{{.Digest.Format "2006"}}', DATA)


@pytest.mark.parametrize(("template", "printed"), [
    ("{{with .Labels}}{{.alpha}}{{else}}none{{end}}", "a"),
    ("{{with .Env}}{{.}}{{else}}none{{end}}", "none"),
    ("{{with $d := .Digest}}{{$d}}={{.}}{{end}}", "sha256:abc=sha256:abc"),
    ("{{$x := .Digest}}{{$x}}", "sha256:abc"),  # a declaration prints nothing
    ("{{$x := 1}}{{if .Flag}}{{$x = 2}}{{$y := 3}}{{end}}{{$x}}", "2"),
    ("{{$x := 1}}{{range .Layers}}{{$x := 5}}{{end}}{{$x}}", "1"),  # a new one, inside
    ("{{range $i, $e := .RepoTags}}{{$i}}={{$e}} {{end}}", "0=1.0 1=latest "),
    ("{{range $e := .RepoTags}}{{$e}}{{.}} {{end}}", "1.01.0 latestlatest "),
    ("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}", "a.b:<x> & y;alpha:a;zeta:z;"),
    ("{{range .RepoTags}}{{if eq . \"1.0\"}}{{continue}}{{end}}{{.}}{{end}}", "latest"),
    ("{{range .RepoTags}}{{.}}{{break}}{{end}}|", "1.0|"),
    ("{{range .Layers}}{{range .RepoTags}}{{end}}{{end}}", None),
    ("{{range .LayersData}}{{$.Digest}}/{{.Size}} {{end}}", "sha256:abc/10 sha256:abc/20 "),
    ("{{(index .LayersData 1).Annotations.k}}", "v"),
    ("{{(index .LayersData 1).Size | printf \"%03d\"}}", "020"),
    ("{{$t := .Created}}{{$t.Year}} {{$t.Format \"2006-01\"}} {{(.Created).Month}}",
     "2024 2024-06 June"),
    ("{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}} {{lt \"é\" \"z\"}}",
     "true true true false false"),
    ("{{println .Count .Flag \"x\" \"y\"}}", "0 true x y\n"),
    ("{{slice .Digest 7}} {{slice .RepoTags 1}} {{slice .RepoTags 0 1 2}} {{slice .Digest}}",
     "abc [latest] [1.0] sha256:abc"),
    ("{{html \"<a href='x'>&\\\"</a>\\x00\"}}",
     "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;\ufffd"),
    ("{{html 1 2 \"a\"}}", "1 2a"),
    ("{{js \"it's <b>\\\\ \\\"x\\\" = \\t \\u2028 é\"}}",
     "it\\'s \\u003Cb\\u003E\\\\ \\\"x\\\" \\u003D \\u0009 \\u2028 é"),
    ("{{urlquery \"a b/c?d=é~_.-\"}}", "a+b%2Fc%3Fd%3D%C3%A9~_.-"),
])
def test_variables_with_and_more_functions(template: str, printed: str | None) -> None:
    if printed is None:
        with pytest.raises(TemplateError, match=r"asks for \.RepoTags, but the value there"):
            render(template, DATA)
        return
    assert render(template, DATA) == printed


def test_the_root_variable_is_the_data_unless_given() -> None:
    assert render("{{$.Digest}}", DATA) == "sha256:abc"
    assert render("{{len $}} {{(index $ 0).Digest}}", DATA, root=[DATA]) == "1 sha256:abc"


def test_a_string_ends_on_its_line() -> None:
    """As Go: a newline (also one typed as \\n, which is read before the template) ends
    a quoted string unclosed."""
    for template in ('{{"a\nb"}}', '{{"a\\nb"}}'):
        with pytest.raises(TemplateError, match="is not closed on its line"):
            render(template, DATA)



@pytest.mark.parametrize(("template", "sentence"), [
    # as Go: a variable of the other branch is found missing when that branch runs
    ("{{if .Count}}{{$x := 1}}{{else}}{{$x}}{{end}}", "$x is not declared where it is used."),
    ("{{range .Env}}{{$x := 1}}{{else}}{{len $x}}{{end}}", "$x is not declared where it"),
    ("{{if .Count}}{{$x := 1}}{{else}}{{$x = 2}}{{end}}", "$x is not declared where it"),
    ("{{if .Count}}{{$x := 1}}{{else if .Flag}}{{$x}}{{end}}", "$x is not declared where"),
    ("{{range $k, $v := (index .LayersData 0)}}{{end}}", "ranges over a struct; range takes"),
])
def test_what_only_running_finds_wrong_gets_a_sentence(template: str, sentence: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, DATA)
    assert str(caught.value) == f'The format "{template}" cannot be run: {sentence}' or \
        sentence in str(caught.value), str(caught.value)


def test_a_branch_not_taken_may_name_what_the_other_declared() -> None:
    assert render("{{if .Flag}}{{$x := 1}}{{$x}}{{else}}{{$x}}{{end}}", DATA) == "1"


def test_a_range_may_set_variables_declared_before_it() -> None:
    assert render("{{$x := 0}}{{range $x = .RepoTags}}{{end}}{{$x}}", DATA) == "latest"
    assert render("{{$i := 9}}{{$e := 0}}{{range $i, $e = .RepoTags}}{{end}}{{$i}}={{$e}}",
                  DATA) == "1=latest"


@pytest.mark.parametrize(("template", "sentence"), [
    # as Go's "can't index item of type inspect.Output": a struct's fields go by name
    ('{{index . "Digest"}}', "index: a struct cannot be indexed; its field is written "
                             ".Digest."),
    ("{{index . 0}}", "index: a struct cannot be indexed (only a list, a string or a map "
                      "can;"),
    ('{{index (index .LayersData 0) "Size"}}', "index: a struct cannot be indexed;"),
    # a map by a key of another type than its keys' (Go: "value has type int; should be
    # string")
    ("{{index .Labels 0}}", "index: 0 is a number, and a map's keys are strings."),
    ("{{index .Labels true}}", "index: true is a boolean, and a map's keys are strings."),
    ("{{index .Labels nil}}", "index: nil is no key; a map's keys are strings."),
    # a list by an index out of its range, or by no whole number
    ("{{index .RepoTags -1}}", "index: -1 is out of range (the list has 2)."),
    ("{{index .RepoTags true}}", "index: a list's index is a whole number, not true."),
    ('{{index .RepoTags "0"}}', """index: a list's index is a whole number, not "0"."""),
    ("{{index .RepoTags 1.0}}", "index: a list's index is a whole number, not 1.0."),
    ('{{index .Count 0}}', "index: a number cannot be indexed with 0."),
    # nil is a value, no command (Go: "nil is not a command")
    ("{{nil}}", '"{{nil}}" has nil where a command is; nil is a value to give a function'),
    ("{{.Digest | nil}}", "has nil where a command is;"),
    ("{{if nil}}x{{end}}", "has nil where a command is;"),
    ("{{$x := nil}}", "has nil where a command is;"),
])
def test_index_and_nil_refuse_what_go_refuses(template: str, sentence: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, DATA)
    message = str(caught.value)
    assert sentence in message, message
    assert message.startswith(f'The format "{template}" cannot be'), message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(("data", "template", "printed"), [
    (DATA, '{{index .Labels "alpha"}} {{index .Labels "nothing"}}|', "a |"),
    (DATA, '{{index .RepoTags 1}} {{index .Digest 0}}', "latest 115"),
    # an interface map's zero value is nil: printed <no value>, as Go prints it
    ({"M": GoMap({"a": 1}, zero=MISSING)}, '{{index .M "a"}} {{index .M "b"}}', "1 <no value>"),
    # a map[string]struct{} (ExposedPorts) gives an empty struct
    ({"M": GoMap({"80/tcp": {}}, zero={})}, '{{index .M "80/tcp"}} {{index .M "1"}}',
     "{} {}"),
    # and a map nested in a list is indexed through it
    (DATA, '{{index .LayersData 1 | len}} {{index (index .LayersData 1).Annotations "k"}}',
     "4 v"),
    # nil as an argument
    (DATA, "{{print nil}}", "<nil>"),
    (DATA, '{{print "a" nil 1}} {{println nil nil}}', "a<nil> 1 <nil> <nil>\n"),
    (DATA, '{{printf "%v|%s" nil .Digest}}', "<nil>|sha256:abc"),
    (DATA, "{{if not nil}}empty{{end}} {{and .Flag nil}} {{or nil .Count}}",
     "empty <nil> 0"),
])
def test_index_and_nil_as_go_has_them(data: Any, template: str, printed: str) -> None:
    assert render(template, data) == printed


CONFIG: dict[str, Any] = {
    "created": "2024-01-02T03:04:05.000Z", "architecture": "amd64", "os": "linux",
    "config": {"User": "", "Env": ["A=1"], "Cmd": ["sh"], "Labels": {"k": "<v>"},
               "StopSignal": "SIGTERM", "ArgsEscaped": True},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
    "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "x", "author": ""},
                {"created_by": "y", "comment": "", "empty_layer": True}],
}


@pytest.mark.parametrize(("config", "template", "printed"), [
    # Go's json.Marshal of image-spec's v1 structs: their JSON tags, omitempty fields
    # left out when empty, a nil slice null, a time in RFC 3339 with nanoseconds
    (CONFIG, "{{json .History}}",
     '[{"created":"2024-01-02T03:04:05Z","created_by":"x"},'
     '{"created_by":"y","empty_layer":true}]'),
    (CONFIG, "{{json .RootFS}}", '{"type":"layers","diff_ids":["sha256:aa"]}'),
    (CONFIG, "{{json .Config}}", '{"Env":["A=1"],"Cmd":["sh"],"Labels":{"k":"\\u003cv\\u003e"},'
     '"StopSignal":"SIGTERM","ArgsEscaped":true}'),
    (CONFIG, "{{json .}}",
     '{"created":"2024-01-02T03:04:05Z","architecture":"amd64","os":"linux","config":'
     '{"Env":["A=1"],"Cmd":["sh"],"Labels":{"k":"\\u003cv\\u003e"},"StopSignal":"SIGTERM",'
     '"ArgsEscaped":true},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":'
     '[{"created":"2024-01-02T03:04:05Z","created_by":"x"},{"created_by":"y",'
     '"empty_layer":true}]}'),
    ({"os": "linux"}, "{{json .}}",
     '{"architecture":"","os":"linux","config":{},"rootfs":{"type":"","diff_ids":null}}'),
    ({"os": "linux"}, "{{json .Config.Entrypoint}} {{.Config.Entrypoint}} {{json .History}}",
     "null [] null"),
    ({"history": []}, "{{json .History}} {{json .Created}}", "[] null"),
    # a diff ID is a digest
    (CONFIG, "{{range .RootFS.DiffIDs}}{{.Algorithm}} {{.Encoded}} {{.Hex}} {{.Validate}}"
     "{{end}}", "sha256 aa aa <nil>"),
])
def test_config_values_are_go_structs(config: dict[str, Any], template: str,
                                      printed: str) -> None:
    from spyglass.cli.inspect_cmd import _config_as_go_values

    assert render(template, _config_as_go_values(config)) == printed


def test_a_digest_answers_its_methods_and_is_a_string_elsewhere() -> None:
    from spyglass.cli.template_values import GoDigest

    data = {"Digest": GoDigest("sha512:abc"), "Other": "sha512:abc"}
    assert render("{{.Digest.Algorithm}}|{{.Digest.Encoded}}|{{.Digest.String}}|"
                  "{{eq .Digest .Other}}|{{json .Digest}}|{{slice .Digest 7}}|"
                  '{{printf "%T %q" .Digest .Digest}}', data) == (
        'sha512|abc|sha512:abc|true|"sha512:abc"|abc|digest.Digest "sha512:abc"')
    with pytest.raises(TemplateError, match=r"asks for \.Digest\.Nope, but a digest has no "
                                            r"such method \(it has Algorithm, Encoded, Hex, "
                                            r"String and Validate\)\."):
        render("{{.Digest.Nope}}", data)


@pytest.mark.parametrize(("template", "printed"), [
    # Go's strconv.Quote, not JSON: \x01 and \x7f as \x.., U+2028 as \u2028
    ('{{printf "%q" .S}}', '"a\\x01b\\x7fé\\u2028\\"\\\\\\n"'),
    ('{{printf "%+q" .S}}', '"a\\x01b\\x7f\\u00e9\\u2028\\"\\\\\\n"'),
    ('{{printf "%q" .L}} {{printf "%q" .M}}', '["x" "y"] map["k":"v"]'),
    ('{{printf "%5v|%-3s|" .L .L}}', "[    x     y]|[x   y  ]|"),
    ('{{printf "%.2v|%d" .S .L}}', "a\x01|[%!d(string=x) %!d(string=y)]"),
    ('{{printf "%T %T %T %T" .L .M .S .N}}', "[]string map[string]string string int"),
    ('{{printf "%c%c %U %b %o %#x" 72 105 .N 5 8 .N}}', "Hi U+0041 101 10 0x41"),
])
def test_printf_is_gos(template: str, printed: str) -> None:
    data = {"S": "a\x01b\x7fé\u2028\"\\\n", "L": ["x", "y"], "M": GoMap({"k": "v"}), "N": 65}
    assert render(template, data) == printed


@pytest.mark.parametrize("template", ['{{printf "%[1]s" .S}}', '{{printf "%*d" 3 .N}}',
                                      '{{printf "%.*f" 2 .N}}'])
def test_printf_refuses_what_it_would_print_wrong(template: str) -> None:
    """Argument indexes and * widths printed Go's %! marks where Go prints the value: a
    script got wrong text and status 0. Refused with a sentence now."""
    from spyglass.cli.template_values import TemplateError

    with pytest.raises(TemplateError, match=r"argument indexes \(%\[1\]d\) and \* widths "
                                            "are not supported"):
        render(template, {"S": "x", "N": 5})


def test_a_time_in_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """As Go's Time.Local: the zone TZ names, with its name (checked against skopeo)."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert render('{{.Created.Local}}|{{printf "%#v" .Created.Local}}', DATA) == (
            "2024-06-30 17:59:58.12345 -0400 EDT|"
            "time.Date(2024, time.June, 30, 17, 59, 58, 123450000, time.Local)")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
