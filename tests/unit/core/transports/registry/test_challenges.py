"""``WWW-Authenticate`` parsing and the token scope each request needs: pure functions."""

from __future__ import annotations

import pytest

from spyglass.core.transports.registry.auth import Challenge, parse_challenges, scope_for

HUB = (
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    'scope="repository:library/alpine:pull"'
)


def test_bearer_realm_service_scope() -> None:
    assert parse_challenges([HUB]) == [
        Challenge("bearer", {
            "realm": "https://auth.docker.io/token",
            "service": "registry.docker.io",
            "scope": "repository:library/alpine:pull",
        })
    ]


def test_comma_inside_quotes_belongs_to_the_value() -> None:
    header = 'Bearer realm="https://a.test/t",scope="repository:a/b:pull,push",error="insufficient_scope"'
    [challenge] = parse_challenges([header])
    assert challenge.params == {
        "realm": "https://a.test/t",
        "scope": "repository:a/b:pull,push",
        "error": "insufficient_scope",
    }


def test_escaped_quote_and_backslash_are_unescaped() -> None:
    [challenge] = parse_challenges([r'Bearer realm="say \"hi\"",service="a\\b"'])
    assert challenge.params == {"realm": 'say "hi"', "service": "a\\b"}


def test_scheme_and_names_are_case_insensitive_and_spacing_is_free() -> None:
    [challenge] = parse_challenges(['BEARER  Realm = "x" ,  Service=token68-ish'])
    assert challenge == Challenge("bearer", {"realm": "x", "service": "token68-ish"})


def test_basic() -> None:
    assert parse_challenges(['Basic realm="Registry Realm"']) == [
        Challenge("basic", {"realm": "Registry Realm"})
    ]
    assert parse_challenges(["Basic"]) == [Challenge("basic", {})]


def test_several_challenges_in_one_header_keep_their_order() -> None:
    header = f'Basic realm="r", {HUB}'
    challenges = parse_challenges([header])
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[0].params == {"realm": "r"}
    assert challenges[1].params["scope"] == "repository:library/alpine:pull"


def test_a_scheme_without_parameters_before_another_challenge() -> None:
    # a proxy in front of a registry may merge "Negotiate" and "Basic ..." into one line
    assert parse_challenges(['Negotiate, Basic realm="corp"']) == [
        Challenge("negotiate", {}),
        Challenge("basic", {"realm": "corp"}),
    ]


def test_several_headers() -> None:
    challenges = parse_challenges(['Basic realm="r"', HUB, "Negotiate"])
    assert [c.scheme for c in challenges] == ["basic", "bearer", "negotiate"]
    assert challenges[1].params["service"] == "registry.docker.io"


@pytest.mark.parametrize("junk", ["", "   ", "===", ",,,", '="x"'])
def test_junk_gives_no_challenge(junk: str) -> None:
    assert parse_challenges([junk]) == []


def test_a_broken_parameter_is_dropped_not_guessed() -> None:
    # an unterminated quote: the scheme is known, the realm is not made up
    assert parse_challenges(['Bearer realm="unterminated']) == [Challenge("bearer", {})]
    assert parse_challenges(['Bearer realm="x" junk']) == [Challenge("bearer", {})]


def test_no_headers() -> None:
    assert parse_challenges([]) == []


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v2/_catalog", "registry:catalog:*"),
        ("GET", "/v2/_catalog/", "registry:catalog:*"),
        ("GET", "/v2/alpine/manifests/latest", "repository:alpine:pull"),
        ("HEAD", "/v2/library/alpine/manifests/sha256:" + "a" * 64,
         "repository:library/alpine:pull"),
        ("GET", "/v2/a/b/c/d/blobs/sha256:" + "b" * 64, "repository:a/b/c/d:pull"),
        ("GET", "/v2/team/app/tags/list", "repository:team/app:pull"),
        ("GET", "/v2/team/app/referrers/sha256:" + "c" * 64, "repository:team/app:pull"),
        ("PUT", "/v2/team/app/manifests/v1", "repository:team/app:pull,push"),
        ("POST", "/v2/team/app/blobs/uploads/", "repository:team/app:pull,push"),
        ("PATCH", "/v2/team/app/blobs/uploads/0b1c-uuid", "repository:team/app:pull,push"),
        ("PUT", "/v2/team/app/blobs/uploads/0b1c-uuid", "repository:team/app:pull,push"),
        ("DELETE", "/v2/team/app/manifests/sha256:" + "d" * 64, "repository:team/app:delete"),
        ("DELETE", "/v2/team/app/blobs/sha256:" + "d" * 64, "repository:team/app:delete"),
        # a repository may have a component named like an endpoint
        ("GET", "/v2/team/tags/app/manifests/v1", "repository:team/tags/app:pull"),
        ("GET", "/v2/org/blobs/store/blobs/sha256:" + "e" * 64, "repository:org/blobs/store:pull"),
        ("GET", "/v2/manifests/tags/list", "repository:manifests:pull"),
        # nothing to scope
        ("GET", "/v2/", None),
        ("GET", "/v2", None),
        ("GET", "/v2/alpine/other/thing", None),
        ("GET", "/healthz", None),
    ],
)
def test_scope_for(method: str, path: str, scope: str | None) -> None:
    assert scope_for(method, path) == scope
