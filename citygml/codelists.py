"""PLATEAU code lists: resolve a code (``bldg:usage`` 401) to its label (業務施設).

PLATEAU writes the code list as a relative ``codeSpace`` on the element, e.g.
``../../codelists/Building_usage.xml``, pointing at a ``gml:Dictionary`` whose
``gml:Definition`` entries carry the code in ``gml:name`` and the label in
``gml:description``. When the dataset has no ``codelists/`` folder the raw code is kept.
"""
from __future__ import annotations

import logging

from lxml import etree

from citygml.errors import UnsafeInputError
from citygml.namespaces import GML, q
from citygml.source import Source, peek_prolog

log = logging.getLogger(__name__)

_DEFINITION = q(GML, "Definition")
_NAME = q(GML, "name")
_DESCRIPTION = q(GML, "description")


def safe_parser() -> etree.XMLParser:
    """An lxml parser for untrusted XML: no DTD, no entities, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


class CodeListResolver:
    """Caches the code lists of one dataset; ``label(source, code_space, code)``."""

    def __init__(self) -> None:
        self._lists: dict[str, dict[str, str] | None] = {}
        self._by_reference: dict[tuple[int, str, str], dict[str, str] | None] = {}

    def label(self, source: Source, code_space: str, code: str) -> str | None:
        # Every code value of a file names its list the same way: look the text up first.
        reference = (id(source.dataset), source.member, code_space)
        table = self._by_reference.get(reference, False)
        if table is False:
            table = self._table(source, code_space)
            self._by_reference[reference] = table
        return table.get(code) if table else None

    def _table(self, source: Source, code_space: str) -> dict[str, str] | None:
        try:
            member = source.resolve(code_space)
        except UnsafeInputError:
            return None
        key = f"{id(source.dataset)}:{member}"
        if key not in self._lists:
            self._lists[key] = self._load(source, member)
        return self._lists[key]

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
