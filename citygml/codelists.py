"""PLATEAU code lists: resolve a code (``urf:function`` 11) to its label (準工業地域).

PLATEAU writes the code list as a relative ``codeSpace`` on the element, e.g.
``../../codelists/Common_districtsAndZonesType.xml``, pointing at a ``gml:Dictionary``
whose ``gml:Definition`` entries carry the code in ``gml:name`` and the label in
``gml:description``.

Where a label comes from, in order:

1. the dataset's own list (the file the ``codeSpace`` points at): it always wins;
2. the ``Common_*`` lists of the i-UR specification shipped with Machi
   (``citygml/data/common_codelists.json``, source and version named in the file), so a
   single ``.gml`` taken out of its download still gets labels for them;
3. none: the code is kept as it is, and the list is reported once per file, with the
   number of values and the attributes that kept their code.
"""

from __future__ import annotations

import functools
import json
import logging
import posixpath
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from lxml import etree

from citygml.errors import Problem, UnsafeInputError
from citygml.namespaces import GML, q
from citygml.source import Source, peek_prolog

log = logging.getLogger(__name__)

_DEFINITION = q(GML, "Definition")
_NAME = q(GML, "name")
_DESCRIPTION = q(GML, "description")

#: Where a list's labels came from.
DATASET, SHIPPED, MISSING = "dataset", "shipped", "missing"


def safe_parser() -> etree.XMLParser:
    """An lxml parser for untrusted XML: no DTD, no entities, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
    )


@functools.lru_cache(maxsize=1)
def shipped_codelists() -> dict[str, Any]:
    """The shipped ``Common_*`` lists: ``{"source", "version", "lists": {name: {code: label}}}``."""
    text = resources.files("citygml").joinpath("data/common_codelists.json").read_text("utf-8")
    return json.loads(text)


def list_name(code_space: str) -> str:
    """``../../codelists/Common_validType.xml`` -> ``Common_validType``."""
    base = posixpath.basename(code_space.replace("\\", "/"))
    return base[:-4] if base.lower().endswith(".xml") else base


@dataclass
class CodeListUse:
    """How the code values of one file that name one list were resolved."""

    name: str
    code_space: str
    origin: str  # DATASET, SHIPPED or MISSING
    attributes: set[str] = field(default_factory=set)
    values: int = 0
    unknown: set[str] = field(default_factory=set)  # codes the list does not define

    def problem(self, source: str, version: str) -> Problem | None:
        """The one report of this list in a file, or None when every code has its label
        from the dataset. ``severity`` is ``"info"`` for labels from the shipped list."""
        names = ", ".join(sorted(self.attributes))
        if self.origin == MISSING:
            return Problem(
                source,
                f"code list {self.name}.xml ({self.code_space}) is neither in "
                f"the dataset nor shipped with Machi: {self.values} value(s) of "
                f"{names} kept as codes",
            )
        unknown = ""
        if self.unknown:
            shown = ", ".join(sorted(self.unknown)[:5])
            unknown = f"; {len(self.unknown)} code(s) of {names} not in the list, kept as codes: {shown}"
        if self.origin == SHIPPED:
            return Problem(
                source,
                f"code list {self.name}.xml is not in the dataset: labels of "
                f"{names} from the list shipped with Machi ({version}){unknown}",
                severity="info" if not self.unknown else "warning",
            )
        if unknown:
            return Problem(source, f"code list {self.name}.xml{unknown}")
        return None


class CodeListResolver:
    """Caches the code lists of a dataset and records, per file, how each list resolved.

    Parameters
    ----------
    shipped : bool
        Fall back on the ``Common_*`` lists shipped with Machi when the dataset lacks one.
    """

    def __init__(self, shipped: bool = True) -> None:
        self.shipped = shipped_codelists()["lists"] if shipped else {}
        self._lists: dict[str, dict[str, str] | None] = {}
        self._by_reference: dict[tuple[int, str, str], tuple[dict[str, str] | None, CodeListUse]] = {}
        self._uses: dict[tuple[int, str], dict[str, CodeListUse]] = {}

    def label(self, source: Source, code_space: str, code: str, attribute: str | None = None) -> str | None:
        """The label of ``code`` in the list ``code_space`` names, or None (code kept)."""
        # Every code value of a file names its list the same way: look the text up first.
        reference = (id(source.dataset), source.member, code_space)
        found = self._by_reference.get(reference)
        if found is None:
            table, origin = self._table(source, code_space)
            use = CodeListUse(list_name(code_space), code_space, origin)
            self._uses.setdefault(reference[:2], {})[code_space] = use
            found = self._by_reference[reference] = (table, use)
        table, use = found
        use.values += 1
        if attribute is not None:
            use.attributes.add(attribute)
        if table is None:
            return None
        label = table.get(code)
        if label is None:
            use.unknown.add(code)
        return label

    def problems(self, source: Source) -> list[Problem]:
        """One report per list that did not resolve from the dataset alone, for the file
        ``source`` (its records are then dropped: a file is read once per report)."""
        version = shipped_codelists()["version"]
        key = (id(source.dataset), source.member)
        uses = self._uses.pop(key, {})
        for code_space in uses:
            self._by_reference.pop((*key, code_space), None)
        found = (use.problem(source.name, version) for _, use in sorted(uses.items()))
        return [p for p in found if p is not None]

    def _table(self, source: Source, code_space: str) -> tuple[dict[str, str] | None, str]:
        try:
            member = source.resolve(code_space)
        except UnsafeInputError:
            member = None
        if member is not None:
            key = f"{id(source.dataset)}:{member}"
            if key not in self._lists:
                self._lists[key] = self._load(source, member)
            if self._lists[key] is not None:
                return self._lists[key], DATASET
        shipped = self.shipped.get(list_name(code_space))
        if shipped is not None:
            return shipped, SHIPPED
        return None, MISSING

    @staticmethod
    def _load(source: Source, member: str) -> dict[str, str] | None:
        dataset = source.dataset
        if not dataset.exists(member):
            return None
        try:
            with dataset.open(member) as raw:
                stream = peek_prolog(raw, dataset.display(member))
                tree = etree.parse(stream, safe_parser())
        except (etree.XMLSyntaxError, UnsafeInputError) as exc:
            log.warning("%s: unreadable code list: %s", dataset.display(member), exc)
            return None
        table = {}
        for definition in tree.iter(_DEFINITION):
            name = definition.findtext(_NAME)
            description = definition.findtext(_DESCRIPTION)
            if name is not None and description is not None:
                table[name.strip()] = description.strip()
        return table
