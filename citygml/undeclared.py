"""Elements in a namespace prefix the file never declares: skipped, counted, reported.

Some PLATEAU files use a prefix they do not declare: libplateau's test file
``53392642_bldg_6697_op2.gml`` writes ``energy:isHeated`` in its buildings without
``xmlns:energy``. The prefix then names no namespace, so nothing can say what the
element means. Namespaces in XML 1.0 makes that a *namespace* error, not a
well-formedness one: libxml2 logs it (``NS_ERR_UNDEFINED_NAMESPACE``) and goes on, the
element reaches the reader with its tag as written (``energy:isHeated``, no
``{namespace}``), and lxml raises one :class:`lxml.etree.XMLSyntaxError` when the
document closes, after every event has been delivered.

So the reader (:class:`citygml.reader.FileReader`) reads such a file whole, skips each
element in an undeclared prefix with its content where it looks elements up (a feature,
a feature's property, a thematic surface, a part, a member of an attribute group),
counts it here, and afterwards asks :func:`first_fatal_error` whether the parser met
anything else: a file that is also malformed is still rejected, with the error that
stopped the parser. i-UR prefixes are not handled here: an undeclared ``uro`` beside a
declared ``urf`` (or the reverse) is bound before parsing
(:func:`citygml.source.bind_iur_prefixes`).

libxml2 logs at most 100 errors per document (``XML_MAX_ERRORS``), then only a fatal
one, so the counts and first lines come from the reader's own skips; the log only adds
the prefixes met where the reader does not look (an attribute, an element inside a
geometry or outside any feature).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from citygml.errors import Problem

_UNDEFINED = etree.ErrorTypes.NS_ERR_UNDEFINED_NAMESPACE
# libxml2: "Namespace prefix e on isHeated is not defined" (an element),
# "Namespace prefix e for z on m is not defined" (an attribute z of element m)
_MESSAGE = re.compile(r"Namespace prefix (\S+) (?:on (\S+)|for (\S+) on (\S+)) is not defined")
_IUR_HINT = (
    " (Machi binds an undeclared uro/urf prefix only when the file declares the "
    "other i-UR namespace, whose version it then takes)"
)


def is_undeclared(tag: str) -> bool:
    """Whether an element's tag is a prefixed name the parser could not resolve
    (``energy:isHeated``, not ``{namespace}isHeated``)."""
    return tag[:1] != "{" and ":" in tag


def first_fatal_error(error_log: Iterable) -> etree._LogEntry | None:
    """The first error in a parse's log that is not an undeclared prefix, else None."""
    for entry in error_log:
        if entry.level >= etree.ErrorLevels.ERROR and entry.type != _UNDEFINED:
            return entry
    return None


def describe(entry) -> tuple[str, str] | None:
    """``(prefix, "on isHeated")`` or ``(prefix, "for z on m")`` from an undeclared-prefix
    log entry, else None."""
    if entry.type != _UNDEFINED:
        return None
    match = _MESSAGE.search(entry.message)
    if match is None:
        return None
    prefix, element, attribute, owner = match.groups()
    return prefix, (f"on {element}" if element else f"for attribute {attribute} on {owner}")


@dataclass
class UndeclaredElements:
    """The elements one file's reading skipped, by prefixed name: ``[count, first line]``,
    in the order the reader first met each name (document order)."""

    skipped: dict[str, list] = field(default_factory=dict)

    def skip(self, element) -> None:
        """Note an element in an undeclared prefix that the reader leaves out, with its content."""
        seen = self.skipped.get(element.tag)
        if seen is None:
            self.skipped[element.tag] = [1, element.sourceline]
        else:
            seen[0] += 1

    def problems(self, source: str, error_log: Iterable) -> list[Problem]:
        """One warning per skipped element name (count, first line), then one per prefix
        the parser logged that no skipped element uses."""
        found = []
        reported = set()
        for name, (count, line) in self.skipped.items():  # in the order first met
            prefix = name.split(":", 1)[0]
            reported.add(prefix)
            hint = _IUR_HINT if prefix in ("uro", "urf") else ""
            found.append(
                Problem(
                    source,
                    (
                        f"element {name} uses namespace prefix {prefix}, which the file does not "
                        f"declare: skipped with its content ({count} element(s), the first here){hint}"
                    ),
                    line=line,
                )
            )
        for entry in error_log:
            described = describe(entry)
            if described is None or described[0] in reported:
                continue
            prefix, where = described
            reported.add(prefix)
            found.append(
                Problem(
                    source,
                    (
                        f"namespace prefix {prefix} ({where}) is not declared: ignored, here and "
                        "wherever else the file uses it"
                    ),
                    line=entry.line,
                )
            )
        return found
