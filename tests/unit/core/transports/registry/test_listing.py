"""Paged lists (``Link``), the catalog, and which tags point at a digest."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import AccessDenied, NotFound, RegistryError
from tests.unit.core.transports.registry.fakes import (
    API,
    BASE,
    HOST,
    Handler,
    Routes,
    registry_error,
    tags_page,
)

TAGS = "/v2/team/app/tags/list"


def pages_by_last(pages: dict[str | None, tuple[list[str], str | None]]):
    """Answer ``tags/list`` from the ``last`` query parameter."""

    def answer(request: httpx.Request) -> httpx.Response:
        tags, link = pages[request.url.params.get("last")]
        return tags_page("team/app", tags, link)(request)

    return answer


def test_three_pages_in_order(make_client) -> None:
    handler = pages_by_last({
        None: (["a", "b"], '</v2/team/app/tags/list?last=b&n=2>; rel="next"'),
        "b": (["c", "d"], f'<{BASE}/v2/team/app/tags/list?last=d&n=2>; rel="next"'),
        "d": (["e"], None),
    })
    client, seen = make_client(Routes({("GET", TAGS): handler}))
    pages = list(client.tag_pages("team/app", page_size=2))
    assert pages == [["a", "b"], ["c", "d"], ["e"]]
    # whether each linked to a next one: the last is known as the last (however short)
    assert [page.linked for page in pages] == [True, True, False]
    queries = [dict(r.url.params) for r in seen.to(TAGS)]
    assert queries == [{"n": "2"}, {"last": "b", "n": "2"}, {"last": "d", "n": "2"}]
    assert client.tags_of("team/app") == ["a", "b", "c", "d", "e"]
    assert dict(seen.to(TAGS)[3].url.params) == {"n": "1000"}


@pytest.mark.parametrize(
    "refusal",
    [
        registry_error(400, "TOO_MANY_TAGS_REQUESTED",
                       "requested limit 1000 is too high, max is 100"),  # Quay, 2024
        registry_error(400, "PAGINATION_NUMBER_INVALID", "invalid number of results"),
        httpx.Response(400),
    ],
    ids=["quay", "distribution-3.1", "bare"],
)
def test_a_refused_page_size_is_asked_again_without_one(
    make_client, refusal: httpx.Response
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "n" in request.url.params:
            return refusal
        return pages_by_last({
            None: (["a", "b"], '</v2/team/app/tags/list?last=b>; rel="next"'),
            "b": (["c"], None),
        })(request)

    client, seen = make_client(Routes({("GET", TAGS): handler}))
    assert client.tags_of("team/app") == ["a", "b", "c"]
    assert [dict(r.url.params) for r in seen.to(TAGS)] == [{"n": "1000"}, {}, {"last": "b"}]
    assert client.first_tag_page("team/app") == (["a", "b"], False)


def test_a_400_on_a_later_page_is_an_error(make_client) -> None:
    answers = [tags_page("team/app", ["a"], '</v2/team/app/tags/list?last=a>; rel="next"'),
               lambda request: httpx.Response(400)]
    client, _ = make_client(Routes({("GET", TAGS): answers}))
    with pytest.raises(RegistryError):
        client.tags_of("team/app")


def test_relative_link_without_a_leading_slash(make_client) -> None:
    handler = pages_by_last({
        None: (["a"], '<list?last=a>; rel="next"'),
        "a": (["b"], None),
    })
    client, seen = make_client(Routes({("GET", TAGS): handler}))
    assert client.tags_of("team/app") == ["a", "b"]
    assert str(seen.to(TAGS)[1].url) == f"{BASE}/v2/team/app/tags/list?last=a"


@pytest.mark.parametrize(
    "link",
    [
        '</v2/team/app/tags/list?last=a&n=1>; rel="next"; type="application/json"',
        '</v2/team/app/tags/list?last=a&n=1>; type="application/json"; rel=next',
        '</v2/team/app/tags/list?first=x>; rel="prev", </v2/team/app/tags/list?last=a&n=1>;'
        ' rel="next"',
        '</v2/team/app/tags/list?last=a&n=1> ; rel = "next"',
    ],
)
def test_link_with_extra_parameters(make_client, link: str) -> None:
    handler = pages_by_last({None: (["a"], link), "a": (["b"], None)})
    client, seen = make_client(Routes({("GET", TAGS): handler}))
    assert client.tags_of("team/app") == ["a", "b"]
    assert dict(seen.to(TAGS)[1].url.params) == {"last": "a", "n": "1"}


def test_a_link_without_next_ends_the_list(make_client) -> None:
    handler = pages_by_last({None: (["a"], '</v2/team/app/tags/list?first=z>; rel="prev"')})
    client, seen = make_client(Routes({("GET", TAGS): handler}))
    assert client.tags_of("team/app") == ["a"]
    assert len(seen.to(TAGS)) == 1


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/v2/team/app/tags/list?last=a",
        "//evil.example/v2/team/app/tags/list?last=a",
        f"http://{HOST}/v2/team/app/tags/list?last=a",  # a downgrade to plain http
        f"https://{HOST}:8443/v2/team/app/tags/list?last=a",
    ],
)
def test_a_link_to_another_host_is_asked_of_the_registry(make_client, target: str) -> None:
    """Its path and query only, of the registry as it was reached (as containers/image
    follows it): nothing goes to another host, port or scheme (no downgrade to http)."""
    handler = pages_by_last({None: (["a"], f'<{target}>; rel="next"'), "a": (["b"], None)})
    client, seen = make_client(Routes({("GET", TAGS): handler}))
    assert list(client.tag_pages("team/app")) == [["a"], ["b"]]
    assert {(r.url.scheme, r.url.netloc.decode()) for r in seen.requests} == {("https", HOST)}


def test_empty_and_null_tag_lists(make_client) -> None:
    client, _ = make_client(Routes({
        ("GET", TAGS): lambda r: httpx.Response(200, json={"name": "team/app", "tags": None}),
        ("GET", "/v2/x/tags/list"): lambda r: httpx.Response(200, json={"name": "x"}),
    }))
    assert client.tags_of("team/app") == []
    assert client.tags_of("x") == []


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (lambda r: httpx.Response(200, text="<html/>"), "not a JSON list"),
        (lambda r: httpx.Response(200, json=["a"]), "not a JSON list"),
        (lambda r: httpx.Response(200, json={"tags": "a,b"}), '"tags" that is not a list'),
        (lambda r: httpx.Response(200, json={"tags": ["a", 1]}), '"tags" that is not a list'),
        # Python's json raised RecursionError and ValueError for these: "internal error"
        (lambda r: httpx.Response(200, text="[" * 5000), "not a JSON list"),
        (lambda r: httpx.Response(200, text='{"tags":["a"],"x":' + "1" * 5000 + "}"),
         "not a JSON list"),
    ],
)
def test_nonsense_tag_lists(make_client, answer, phrase: str) -> None:
    client, _ = make_client(Routes({("GET", TAGS): answer}))
    with pytest.raises(RegistryError) as info:
        client.tags_of("team/app")
    assert phrase in str(info.value) and HOST in str(info.value)


def test_catalog_pages(make_client) -> None:
    def catalog(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("last") is None:
            return httpx.Response(200, json={"repositories": ["a", "b/c"]},
                                  headers={"Link": '</v2/_catalog?last=b%2Fc&n=2>; rel="next"'})
        assert request.url.params["last"] == "b/c"
        return httpx.Response(200, json={"repositories": ["d"]})

    client, seen = make_client(Routes({("GET", "/v2/_catalog"): catalog}))
    assert list(client.catalog_pages(page_size=2)) == [["a", "b/c"], ["d"]]
    assert dict(seen.to("/v2/_catalog")[0].url.params) == {"n": "2"}


def test_a_page_cut_off_after_its_headers_is_asked_again(make_client) -> None:
    """As a manifest is: the same page, once more (it failed at once)."""
    def cut(request: httpx.Request) -> httpx.Response:
        def body():
            yield b'{"name": "team/app", "ta'
            raise httpx.ReadError("connection reset by peer")
        return httpx.Response(200, content=body(), headers={"Content-Type": "application/json"})

    client, seen = make_client(Routes({("GET", TAGS): [cut, tags_page("team/app", ["v1"])]}))
    assert client.tags_of("team/app") == ["v1"]
    assert [dict(r.url.params) for r in seen.to(TAGS)] == [{"n": "1000"}] * 2


def test_a_registry_without_a_catalog_is_said_to_have_none(make_client) -> None:
    """GHCR, Docker Hub and registry.k8s.io offer no catalog: a 404 says so, and a 403
    to an anonymous request does not speak of images."""
    client, _ = make_client(Routes({("GET", "/v2/_catalog"): lambda r: httpx.Response(404)}))
    with pytest.raises(NotFound, match="it offers no catalog of its repositories"):
        list(client.catalog_pages())
    client, _ = make_client(Routes({("GET", "/v2/_catalog"): lambda r: registry_error(
        403, "DENIED", "no catalog")}))
    with pytest.raises(AccessDenied) as denied:
        list(client.catalog_pages())
    assert "If its catalog is for signed-in users, log in" in (denied.value.on_command_line or "")
    assert "image" not in (denied.value.on_command_line or "")


# ---------------------------------------------------------------- manifest_users

X = Digest.of(b'{"x": 1}')
Y = Digest.of(b'{"y": 2}')
RAW_Y = b'{"schemaVersion": 2, "mediaType": "%s", "manifests": []}' % media.OCI_INDEX.encode()


def test_the_tags_pointing_at_a_manifest(make_client) -> None:
    heads: list[str] = []
    lock = threading.Lock()
    pointing = {"a": X, "b": Y, "c": X, "e": Y}

    def head(request: httpx.Request) -> httpx.Response:
        tag = request.url.path.rsplit("/", 1)[1]
        with lock:
            heads.append(tag)
        if tag == "d":  # no Docker-Content-Digest: the client hashes the manifest
            return httpx.Response(200, headers={"Content-Length": str(len(RAW_Y))})
        return httpx.Response(200, headers={"Docker-Content-Digest": str(pointing[tag])})

    table: dict[tuple[str, str], Handler] = {
        ("HEAD", f"/v2/team/app/manifests/{t}"): head for t in "abcde"
    }
    table[("GET", "/v2/team/app/manifests/d")] = lambda r: httpx.Response(
        200, content=RAW_Y, headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}
    )
    table[("GET", TAGS)] = tags_page("team/app", list("abcde"))
    client, seen = make_client(Routes(table))

    assert client.manifest_users("team/app", X, lists=False).tags == ["a", "c"]
    assert sorted(heads) == list("abcde")
    assert client.manifest_users("team/app", Digest.of(RAW_Y), lists=False).tags == ["d"]
    assert client.manifest_users("team/app", Y, tags=["e", "b", "a"],
                                 lists=False).tags == ["e", "b"]
    assert client.manifest_users("team/app", Digest.of(b"nothing"), lists=False).tags == []
    assert all(
        "application/vnd.oci.image.index.v1+json" in r.headers["accept"]
        for r in seen.to(method="HEAD")
    )


def test_the_lists_holding_a_manifest_each_read_once(make_client) -> None:
    child = Digest.of(b"child")
    holding = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [
        {"mediaType": media.OCI_MANIFEST, "digest": str(child), "size": 5}]}).encode()
    other = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX,
                        "manifests": 7}).encode()  # not even a list of entries
    gets: list[str] = []
    lock = threading.Lock()

    def head_of(raw: bytes) -> Handler:
        return lambda request: httpx.Response(200, headers={
            "Docker-Content-Digest": str(Digest.of(raw)), "Content-Type": media.OCI_INDEX})

    def get_of(raw: bytes) -> Handler:
        def get(request: httpx.Request) -> httpx.Response:
            with lock:
                gets.append(request.url.path)
            return httpx.Response(200, content=raw, headers={"Content-Type": media.OCI_INDEX})
        return get

    table: dict[tuple[str, str], Handler] = {
        ("HEAD", "/v2/team/app/manifests/arm"): lambda r: httpx.Response(
            200, headers={"Docker-Content-Digest": str(child)}),
        ("HEAD", "/v2/team/app/manifests/gone"): lambda r: httpx.Response(404),
        # (a HEAD's 404 is made sure of: older Nexus answers HEAD so for what GET serves)
        ("GET", "/v2/team/app/manifests/gone"): lambda r: httpx.Response(404),
        ("HEAD", "/v2/team/app/manifests/odd"): head_of(other),
        ("GET", f"/v2/team/app/manifests/{Digest.of(other)}"): get_of(other),
        ("GET", f"/v2/team/app/manifests/{Digest.of(holding)}"): get_of(holding),
        ("GET", TAGS): tags_page("team/app", ["arm", "gone", "odd", "v1", "v1-again"]),
    }
    for tag in ("v1", "v1-again"):
        table[("HEAD", f"/v2/team/app/manifests/{tag}")] = head_of(holding)
    client, _seen = make_client(Routes(table), retry_times=0)
    users = client.manifest_users("team/app", child)
    assert users.tags == ["arm"]
    assert users.lists == ["v1", "v1-again"]
    assert users.unchecked == ["gone"]  # gone meanwhile: said, and the delete goes on
    assert gets.count(f"/v2/team/app/manifests/{Digest.of(holding)}") == 1


def _endless(fresh: bool):
    """Every page links to a new one (``k`` counts up); ``fresh``: with new tags each time,
    else the same two."""

    def answer(request: httpx.Request) -> httpx.Response:
        k = int(request.url.params.get("k", "0"))
        tags = [f"t{k}a", f"t{k}b"] if fresh else ["a", "b"]
        return tags_page("team/app", tags, f'</v2/team/app/tags/list?n=2&k={k + 1}>; '
                         'rel="next"')(request)

    return answer


def test_next_pages_that_repeat_the_names_stop_the_listing(make_client) -> None:
    """A registry that answered every page with the same tags and a link to a new URL
    was read until killed (904 pages in 40 s)."""
    client, seen = make_client(Routes({("GET", TAGS): _endless(fresh=False)}))
    with pytest.raises(RegistryError, match=f"the registry {HOST} sent a next page that "
                       "repeats names already listed, and a link to yet another; "
                       "stopping"):
        client.tags_of("team/app")
    assert len(seen.to(TAGS)) == 2


def test_a_listing_that_links_on_without_end_stops_at_a_bound(
        make_client, monkeypatch: pytest.MonkeyPatch) -> None:
    import spyglass.core.transports.registry.client as client_module
    from spyglass.core.errors import TooLarge

    monkeypatch.setattr(client_module, "MAX_PAGES", 5, raising=False)
    client, seen = make_client(Routes({("GET", TAGS): _endless(fresh=True)}))
    with pytest.raises(TooLarge, match="has sent 5 pages, each linking to another; stopping"):
        client.tags_of("team/app")
    assert len(seen.to(TAGS)) == 5

    monkeypatch.setattr(client_module, "MAX_PAGES", 1000)
    monkeypatch.setattr(client_module, "MAX_LISTED_NAMES", 7, raising=False)
    with pytest.raises(TooLarge, match="has listed more than 7 names, and links to more"):
        client.tags_of("team/app")


def test_a_last_page_that_repeats_a_name_or_an_empty_page_that_links_on_is_listed(
        make_client) -> None:
    """Only a page that repeats names and links on again stops a listing: a last page
    repeating the name at its boundary (as some ``last=`` paging does) lost the whole
    listing, and an empty page linking to more cut it short."""
    def boundary(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("last") == "b":
            return tags_page("team/app", ["b"])(request)
        return tags_page("team/app", ["a", "b"],
                         '</v2/team/app/tags/list?n=2&last=b>; rel="next"')(request)

    client, _ = make_client(Routes({("GET", TAGS): boundary}))
    assert client.tags_of("team/app") == ["a", "b", "b"]

    def empty_first(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("k") == "1":
            return tags_page("team/app", ["c"])(request)
        return tags_page("team/app", [], '</v2/team/app/tags/list?k=1>; rel="next"')(request)

    client, _ = make_client(Routes({("GET", TAGS): empty_first}))
    assert client.tags_of("team/app") == ["c"]


def test_a_cookie_the_registry_sets_is_not_sent_back(make_client) -> None:
    """No cookie jar, as containers/image's Go client has none."""
    sets = {"Set-Cookie": "lb-session=abc123; Path=/"}

    def page(tags: list[str], link: str | None) -> Handler:
        def answer(request: httpx.Request) -> httpx.Response:
            linked = {"Link": link} if link else {}
            return httpx.Response(200, json={"name": "team/app", "tags": tags},
                                  headers={**sets, **linked})
        return answer

    client, seen = make_client(Routes({
        ("GET", "/v2/"): lambda request: httpx.Response(200, headers={**sets, **API}),
        ("GET", TAGS): [page(["a"], '</v2/team/app/tags/list?last=a&n=1>; rel="next"'),
                        page(["b"], None)],
    }))
    assert client.tags_of("team/app") == ["a", "b"]
    assert [request.url.path for request in seen.requests] == ["/v2/", TAGS, TAGS]
    assert [request.headers.get("cookie") for request in seen.requests] == [None] * 3


def test_a_cookie_set_on_the_pools_client_is_not_sent_either(make_client, mock_pool) -> None:
    """The pool's clients share one empty jar: one set there would go everywhere."""
    from spyglass.core.transports.registry.hosts import TLSSettings

    client, seen = make_client(Routes({("GET", TAGS): tags_page("team/app", ["a"])}))
    mock_pool.client(TLSSettings()).cookies.set("lb-session", "abc123")
    assert client.tags_of("team/app") == ["a"]
    assert [request.headers.get("cookie") for request in seen.requests] == [None, None]


@pytest.mark.parametrize("link", ['</v2/team/app/tags/list?last=a>; REL="Next"',
                                  "</v2/team/app/tags/list?last=a>"])
def test_a_first_page_linking_on_in_another_form_is_not_the_whole_list(
        make_client, link: str) -> None:
    """Taken for the whole list, a tag on a later page (a signature's ``sha256-….sig``)
    was said to be missing."""
    handler = pages_by_last({None: (["a"], link), "a": (["b"], None)})
    client, _ = make_client(Routes({("GET", TAGS): handler}))
    assert client.first_tag_page("team/app") == (["a"], False)
