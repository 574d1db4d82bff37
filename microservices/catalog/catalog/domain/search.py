"""What a product is found by, and how a search box becomes search terms.

Search runs on a MongoDB text index over ``name`` and ``search_text``, a field holding the name,
description, category, SKU and every attribute value. Terms are taken from the user's input
(words of letters and digits only) and each is quoted: MongoDB then requires every term (logical
AND), as shoppers expect, and no input can reach the text-query syntax (negation, phrases).
The local MongoDB-compatible server (nx-27017) matches all terms within one field, which is why
everything searchable is copied into the one ``search_text`` field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .keys import attribute_words

MAX_TERMS = 8
MAX_TERM_LENGTH = 40
_WORD = re.compile(r"[^\W_]+")


def search_terms(query: str) -> list[str]:
    """Lower-cased distinct words of ``query``, at most :data:`MAX_TERMS`."""
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        word = word[:MAX_TERM_LENGTH]
        if word not in terms:
            terms.append(word)
        if len(terms) == MAX_TERMS:
            break
    return terms


def text_search(terms: Iterable[str]) -> str:
    """The ``$search`` string: each term a quoted phrase, so all must match."""
    return " ".join(f'"{term}"' for term in terms)


def searchable_text(
    *,
    name: str,
    description: str,
    sku: str,
    category: str,
    attributes: Mapping[str, Any],
) -> str:
    parts = [name, description, sku, category.replace("-", " "), *attribute_words(attributes)]
    return " ".join(part for part in parts if part)
