"""The ``Link`` header as RFC 8288 writes it (tests/integration/test_registry_quirks.py
follows each form through a real registry)."""

from __future__ import annotations

import pytest

from spyglass.core.transports.registry.links import Link, NextPage, next_page, parse_links


def test_links_with_their_relations() -> None:
    header = ('</a?x=1>; rel="first prev"; title="a; b, c", <b>;REL=Next;rel=last , '
              '<c>; anchor="#x"; rel*=UTF-8\'\'next')
    assert parse_links(header) == [
        Link("/a?x=1", ("first", "prev")),
        Link("b", ("next",)),  # the first rel counts, the second is ignored
        Link("c", None),  # rel* is another parameter
    ]


def test_an_escaped_quote_and_a_value_without_brackets_are_stepped_over() -> None:
    header = 'bare; rel="next", <x>; title="say \\"hi\\", <y>"; rel="next"'
    assert parse_links(header) == [Link("x", ("next",))]


@pytest.mark.parametrize(("header", "expected"), [
    ('</n>; rel="next"', NextPage("/n", named=True)),
    ("</n>; Rel=NEXT", NextPage("/n", named=True)),
    ('</p>; rel="prev", </n>; rel="next"', NextPage("/n", named=True)),
    ('</n>; rel="next last"', NextPage("/n", named=True)),
    ("</n>", NextPage("/n", named=False)),  # as containers/image and crane follow it
    ("</n>; type=\"application/json\"", NextPage("/n", named=False)),
    ('</p>; rel="prev"', None),
    ("</a>, </b>", None),  # two links, neither said to be next: no guess
    ('</n>; rel=""', None),
    ("", None),
    (None, None),
])
def test_the_next_page(header: str | None, expected: NextPage | None) -> None:
    assert next_page(header) == expected
