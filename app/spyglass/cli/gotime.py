"""A Go ``time.Time`` for templates: printed as Go prints one, with the methods that
scripts call on ``.Created`` in ``skopeo inspect --format`` — ``Format LAYOUT``
(Go's reference-time layouts: ``2006-01-02T15:04:05Z07:00``), ``Unix``,
``Year``, ``Month``, ``Day``, ``Hour``, ``Minute``, ``Second``, ``Nanosecond``,
``YearDay``, ``Weekday``, ``IsZero``, ``UTC``, ``Local`` and ``String``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")

_MONTHS: Final = tuple(calendar.month_name)[1:]
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class GoTime:
    """A ``time.Time``, from its RFC 3339 text: printed as Go's ``Time.String`` does
    (``2024-01-15 09:30:00 +0000 UTC``), and as that text in JSON."""

    text: str
    zone: str = ""
    """The zone's name Go prints (``CET``), for a time in the local zone; "" for one
    read from text, whose zone Go names by its offset (``UTC`` for ``Z``)."""
    pointer: bool = False
    """A ``*time.Time`` (a struct's field, nil when absent), not a ``time.Time`` (what
    its methods give): ``%T`` names it so."""

    METHODS: ClassVar = ("Format", "Unix", "UnixNano", "Year", "Month", "Day", "Hour",
                         "Minute", "Second", "Nanosecond", "YearDay", "Weekday", "IsZero",
                         "UTC", "Local", "String")

    def _parts(self) -> tuple[dt.datetime, int, int] | None:
        """The time (to the second), its nanoseconds and its offset in seconds."""
        match = _RFC3339.fullmatch(self.text)
        if match is None:
            return None
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        offset = 0 if zone in ("Z", "z") else (
            (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60))
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second), tzinfo=dt.timezone(dt.timedelta(seconds=offset)))
        nanos = int((fraction or "0")[:9].ljust(9, "0"))
        return moment, nanos, offset

    def __str__(self) -> str:
        if self._parts() is None:
            return self.text
        return self.format("2006-01-02 15:04:05.999999999 -0700 MST")

    def format(self, layout: str) -> str:
        """``layout`` written for this time, as Go's ``Time.Format``."""
        parts = self._parts()
        if parts is None:
            return self.text
        moment, nanos, offset = parts
        out: list[str] = []
        at = 0
        while at < len(layout):
            for token, write in _TOKENS:
                if layout.startswith(token, at):
                    out.append(self.zone if token == "MST" and self.zone
                               else write(moment, nanos, offset, token))
                    at += len(token)
                    break
            else:
                fraction = _FRACTION.match(layout, at)
                if fraction is not None:
                    digits = len(fraction.group(0)) - 1
                    text = f"{nanos:09d}"[:digits]
                    if fraction.group(0)[1] == "9":
                        text = text.rstrip("0")
                    out.append(fraction.group(0)[0] + text if text else "")
                    at = fraction.end()
                else:
                    out.append(layout[at])
                    at += 1
        return "".join(out)

    def go_syntax(self) -> str:
        """As Go's ``Time.GoString`` (what ``%#v`` prints):
        ``time.Date(2024, time.January, 15, 9, 30, 0, 0, time.UTC)``."""
        parts = self._parts()
        if parts is None:
            return self.text
        moment, nanos, offset = parts
        where = ("time.Local" if self.zone else "time.UTC" if offset == 0
                 else 'time.Location("")')
        return (f"time.Date({moment.year}, time.{_MONTHS[moment.month - 1]}, {moment.day}, "
                f"{moment.hour}, {moment.minute}, {moment.second}, {nanos}, {where})")

    def method(self, name: str, arguments: list[Any]) -> Any:
        """The value of the method ``name``; KeyError for one it has not."""
        parts = self._parts()
        if name == "Format":
            if len(arguments) != 1 or not isinstance(arguments[0], str):
                raise TypeError("Format takes one layout string")
            return self.format(arguments[0])
        if arguments:
            raise TypeError(f"{name} takes no arguments")
        if name == "String":
            return str(self)
        if parts is None:
            raise KeyError(name)
        moment, nanos, _ = parts
        simple: dict[str, Callable[[], Any]] = {
            "Unix": lambda: int(moment.timestamp()),
            "UnixNano": lambda: int(moment.timestamp()) * 1_000_000_000 + nanos,
            "Year": lambda: moment.year,
            "Month": lambda: _MONTHS[moment.month - 1],
            "Day": lambda: moment.day,
            "Hour": lambda: moment.hour,
            "Minute": lambda: moment.minute,
            "Second": lambda: moment.second,
            "Nanosecond": lambda: nanos,
            "YearDay": lambda: moment.timetuple().tm_yday,
            "Weekday": lambda: _DAYS[moment.weekday()],
            "IsZero": lambda: moment.year == 1 and moment.month == 1 and moment.day == 1
            and not (moment.hour or moment.minute or moment.second or nanos),
            "UTC": lambda: GoTime(_utc_text(moment, nanos)),
            "Local": lambda: _local(moment, nanos),
        }
        return simple[name]()


def _utc_text(moment: dt.datetime, nanos: int) -> str:
    utc = moment.astimezone(dt.UTC)
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _local(moment: dt.datetime, nanos: int) -> GoTime:
    """The time in this system's zone (``TZ``, else ``/etc/localtime``), as Go's
    ``Time.Local``: UTC where neither is set."""
    local = moment.astimezone()
    offset = local.utcoffset() or dt.timedelta()
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    text = (local.strftime("%Y-%m-%dT%H:%M:%S") + fraction
            + _zone(int(offset.total_seconds()), True, True))
    return GoTime(text, local.tzname() or "")


def _zone(offset: int, colon: bool, zulu: bool) -> str:
    if zulu and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    minutes = rest // 60
    return f"{sign}{hours:02d}:{minutes:02d}" if colon else f"{sign}{hours:02d}{minutes:02d}"


Writer = Callable[[dt.datetime, int, int, str], str]

_TOKENS: Final[tuple[tuple[str, Writer], ...]] = (  # longest first, as Go matches them
    ("January", lambda m, n, o, t: _MONTHS[m.month - 1]),
    ("Monday", lambda m, n, o, t: _DAYS[m.weekday()]),
    ("Z07:00", lambda m, n, o, t: _zone(o, True, True)),
    ("-07:00", lambda m, n, o, t: _zone(o, True, False)),
    ("Z0700", lambda m, n, o, t: _zone(o, False, True)),
    ("-0700", lambda m, n, o, t: _zone(o, False, False)),
    ("2006", lambda m, n, o, t: f"{m.year:04d}"),
    ("Jan", lambda m, n, o, t: _MONTHS[m.month - 1][:3]),
    ("Mon", lambda m, n, o, t: _DAYS[m.weekday()][:3]),
    ("MST", lambda m, n, o, t: "UTC" if o == 0 else _zone(o, False, False)),
    ("002", lambda m, n, o, t: f"{m.timetuple().tm_yday:03d}"),
    ("-07", lambda m, n, o, t: _zone(o, False, False)[:3]),
    ("Z07", lambda m, n, o, t: "Z" if o == 0 else _zone(o, False, False)[:3]),
    ("_2", lambda m, n, o, t: f"{m.day:>2d}"),
    ("01", lambda m, n, o, t: f"{m.month:02d}"),
    ("02", lambda m, n, o, t: f"{m.day:02d}"),
    ("03", lambda m, n, o, t: f"{(m.hour % 12) or 12:02d}"),
    ("04", lambda m, n, o, t: f"{m.minute:02d}"),
    ("05", lambda m, n, o, t: f"{m.second:02d}"),
    ("06", lambda m, n, o, t: f"{m.year % 100:02d}"),
    ("15", lambda m, n, o, t: f"{m.hour:02d}"),
    ("PM", lambda m, n, o, t: "PM" if m.hour >= 12 else "AM"),
    ("pm", lambda m, n, o, t: "pm" if m.hour >= 12 else "am"),
    ("1", lambda m, n, o, t: str(m.month)),
    ("2", lambda m, n, o, t: str(m.day)),
    ("3", lambda m, n, o, t: str((m.hour % 12) or 12)),
    ("4", lambda m, n, o, t: str(m.minute)),
    ("5", lambda m, n, o, t: str(m.second)),
)
_FRACTION: Final = re.compile(r"[.,](?:0+|9+)(?!\d)")
