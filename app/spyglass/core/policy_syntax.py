"""A ``containers-policy.json`` read as strictly as containers/image (skopeo 1.9) reads it.

containers/image parses a policy with its "paranoid" JSON reader, and refuses the whole
file for what a lenient reader would let through, so a policy that skopeo refuses is
refused here too (a policy that cannot be read accepts nothing):

* the bytes (:func:`read_policy_json`): UTF-8 without a byte-order mark (Go's decoder
  refuses the mark, and a UTF-16 file with it; Python's would take both); no ``NaN`` or
  ``Infinity``; a key twice in one object, at any level (Python keeps the last one, so
  ``{"type": "reject", "type": "insecureAcceptAnything"}`` accepted everything);
* each requirement (:func:`requirement_type`): only the keys its type has, each of the
  kind it takes, and the keys, key type and identity rules each type needs, as
  containers/image checks them.

Go turns bytes that are not UTF-8 into U+FFFD and reads on; these are refused instead:
a policy in another encoding is not the policy its writer meant.
"""

from __future__ import annotations

import binascii
import codecs
import json
import re
from pathlib import Path
from typing import Any, Final

from spyglass.core.errors import InvalidReference, SpyglassError
from spyglass.core.reference import parse_docker_reference

__all__ = ["IDENTITY_TYPES", "json_kind", "read_policy_json", "requirement_type"]

_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "insecureAcceptAnything": ("type",),
    "reject": ("type",),
    "signedBy": ("type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"),
    "signedBaseLayer": ("type", "baseLayerIdentity"),
    "sigstoreSigned": ("type", "keyPath", "keyData", "signedIdentity"),
}
"""The keys of each requirement type, as skopeo 1.9's containers/image reads them."""

IDENTITY_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "matchExact": ("type",),
    "matchRepoDigestOrExact": ("type",),
    "matchRepository": ("type",),
    "exactReference": ("type", "dockerReference"),
    "exactRepository": ("type", "dockerRepository"),
    "remapIdentity": ("type", "prefix", "signedPrefix"),
}
"""The rules of ``signedIdentity`` (and ``baseLayerIdentity``), and their keys: each is
required."""

_KEY_TYPES: Final = ("GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs")
"""Those containers/image reads (it refuses all but GPGKeys only when a signature is
checked against one: a policy naming them for a scope no copy reaches works)."""

_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN: Final = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_NAME_COMPONENT: Final = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REMAP_PREFIX: Final = re.compile(
    rf"{_DOMAIN}|(?:{_DOMAIN}/)?{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
"""A host or a repository namespace, the prefixes ``remapIdentity`` takes."""


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Constant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Duplicate(key)
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise _Constant(name)


def read_policy_json(path: Path) -> Any:
    """The JSON value of the policy ``path``, read as containers/image reads it (see the
    module); a :class:`SpyglassError` naming ``path`` for what it refuses."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpyglassError(f'Cannot read the policy "{path}": {exc.strerror or exc}.') from exc
    start = f'The policy "{path}"'
    for bom, encoding in ((codecs.BOM_UTF8, "UTF-8"), (codecs.BOM_UTF16_LE, "UTF-16"),
                          (codecs.BOM_UTF16_BE, "UTF-16")):
        if raw.startswith(bom):
            raise SpyglassError(
                f"{start} starts with a {encoding} byte-order mark; expected UTF-8 JSON "
                "without one (containers/image refuses it: save the file as UTF-8 without "
                "BOM).")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise SpyglassError(
            f"{start} is not UTF-8 text (byte 0x{raw[bad.start]:02x} at offset {bad.start}); "
            "expected UTF-8 JSON.") from None
    try:
        return json.loads(text, object_pairs_hook=_once_each, parse_constant=_no_constant)
    except _Duplicate as twice:
        raise SpyglassError(
            f'{start} has the key "{twice.key}" twice in one object; expected each key once '
            "(containers/image refuses a duplicate key, where other JSON readers keep one "
            "of the two).") from None
    except _Constant as constant:
        raise SpyglassError(
            f"{start} is not JSON: it holds {constant.name}, which is no JSON value; "
            "expected a number, a string, true, false or null.") from None
    except RecursionError:
        raise SpyglassError(f"{start} is not JSON: it is nested too deeply.") from None
    except ValueError as exc:
        raise SpyglassError(f"{start} is not JSON: {exc}.") from exc


def requirement_type(path: Path, requirement: object, where: str) -> str:
    """The type of one requirement of the policy ``path`` (``where``: its scope, in
    words), checked as containers/image checks it: a :class:`SpyglassError` naming the
    file for a key its type does not have, one missing, or a value it refuses."""
    start = f'The policy "{path}"'
    kind = requirement.get("type") if isinstance(requirement, dict) else None
    if not isinstance(requirement, dict) or kind not in _FIELDS:
        said = f'of type "{kind}"' if isinstance(kind, str) else "without a type"
        raise SpyglassError(f"{start} has a requirement {said} for {where}; expected one "
                            f"of {', '.join(_FIELDS)}.")
    assert isinstance(kind, str)
    what = f"its {kind} requirement for {where}"
    _known_keys(start, requirement, _FIELDS[kind], what)
    for key, value in requirement.items():
        if key in ("keyType", "keyPath", "keyData") and value is not None and \
                not isinstance(value, str):
            raise SpyglassError(f'{start} has "{key}" as {json_kind(value)} in {what}; expected '
                                "a string.")
    if kind == "signedBy":
        _check_signed_by(start, requirement, what)
    elif kind == "sigstoreSigned":
        given = [key for key in ("keyPath", "keyData") if key in requirement]
        if len(given) != 1:
            raise SpyglassError(
                f"{start} has {_listed(given)} in {what}; expected exactly one of keyPath "
                "and keyData.")
        _check_key_data(start, requirement, what)
    if kind == "signedBaseLayer":
        if "baseLayerIdentity" not in requirement:
            raise SpyglassError(f'{start} has no "baseLayerIdentity" in {what}; expected '
                                "one, an identity rule.")
        _check_identity(start, requirement["baseLayerIdentity"], f"the baseLayerIdentity "
                        f"of {what}")
    elif "signedIdentity" in requirement:
        _check_identity(start, requirement["signedIdentity"], f"the signedIdentity of {what}")
    return kind


def _check_signed_by(start: str, requirement: dict[str, Any], what: str) -> None:
    key_type = requirement.get("keyType") or ""
    if key_type not in _KEY_TYPES:
        said = f'the keyType "{key_type}"' if key_type else "no keyType"
        raise SpyglassError(f"{start} has {said} in {what}; expected "
                            f"{', '.join(_KEY_TYPES[:-1])} or {_KEY_TYPES[-1]}.")
    paths = requirement.get("keyPaths")
    if paths is not None and (not isinstance(paths, list) or not all(
            item is None or isinstance(item, str) for item in paths)):
        raise SpyglassError(f'{start} has "keyPaths" as {json_kind(paths)} in {what}; expected '
                            "a list of file names.")
    _check_key_data(start, requirement, what)
    # as containers/image counts them: a key present is given whatever its value, so two
    # present are refused even when one is empty or null; the one given must then be a
    # keyPath not empty, or a keyPaths or keyData not null
    given: list[str] = [key for key in ("keyPath", "keyPaths", "keyData") if key in requirement]
    if len(given) != 1:
        said = _listed(given)
    elif requirement[given[0]] is None:
        said = f"a null {given[0]}"
    elif requirement[given[0]] == "" and given[0] == "keyPath":
        said = "an empty keyPath"
    else:
        return
    raise SpyglassError(f"{start} has {said} in {what}; expected exactly one of keyPath, "
                        "keyPaths and keyData (a keyPath not empty, none null).")


def _check_key_data(start: str, requirement: dict[str, Any], what: str) -> None:
    data = requirement.get("keyData")
    if isinstance(data, str):
        try:
            # (Go's base64.StdEncoding skips line breaks: a key wrapped as base64 wraps it)
            binascii.a2b_base64(data.translate({13: None, 10: None}).encode("ascii"),
                                strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise SpyglassError(f'{start} has a "keyData" in {what} that is not base64; '
                                "expected the key's bytes in base64.") from None


def _check_identity(start: str, rule: object, what: str) -> None:
    kind = rule.get("type") if isinstance(rule, dict) else None
    if not isinstance(rule, dict) or kind not in IDENTITY_TYPES:
        said = (f'the type "{kind}"' if isinstance(kind, str) and kind else
                json_kind(rule) if not isinstance(rule, dict) else "no type")
        raise SpyglassError(f"{start} has {said} for {what}; expected an object whose type "
                            f"is one of {', '.join(IDENTITY_TYPES)}.")
    assert isinstance(kind, str)
    fields = IDENTITY_TYPES[kind]
    _known_keys(start, rule, fields, what)
    for key in fields:
        if key not in rule:
            raise SpyglassError(f'{start} has no "{key}" in {what} ({kind}); expected one.')
        if rule[key] is not None and not isinstance(rule[key], str):
            raise SpyglassError(f'{start} has "{key}" as {json_kind(rule[key])} in {what}; '
                                "expected a string.")
    if kind in ("exactReference", "exactRepository"):
        key = fields[1]
        text = rule[key] or ""
        try:
            reference = parse_docker_reference(text, default_tag=False)
        except InvalidReference as exc:
            raise SpyglassError(f'{start} has the {key} "{text}" in {what}, which is not an '
                                f"image reference ({exc}).") from None
        if kind == "exactReference" and reference.tag is None and reference.digest is None:
            raise SpyglassError(f'{start} has the dockerReference "{text}" in {what}; '
                                "expected a reference with a tag or a digest.")
    if kind == "remapIdentity":
        for key in fields[1:]:
            text = rule[key] or ""
            if not _REMAP_PREFIX.fullmatch(text):
                raise SpyglassError(f'{start} has the {key} "{text}" in {what}; expected a '
                                    "host (with an optional :port) or a repository "
                                    "namespace, with no tag, digest or trailing /.")


def _known_keys(start: str, given: dict[str, Any], fields: tuple[str, ...], what: str) -> None:
    for key in given:
        if key not in fields:
            expected = ", ".join(f'"{field}"' for field in fields)
            raise SpyglassError(
                f'{start} has the key "{key}" in {what}; expected only {expected} '
                "(containers/image refuses any other).")


def _listed(keys: list[str]) -> str:
    return " and ".join(keys) if keys else "no key"


def json_kind(value: object) -> str:
    """What a JSON value is, in words: ``a string``, ``an object``, ``null``."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)
