"""What the engine ranks (``Doc``), what it ranks for (``Query``) and what it returns (``Match``).

Re-exported by ``engine.index``; plain frozen dataclasses so the service builds them from its
tables and events without the engine knowing about either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.matching.engine.packs import MatchingPack
from services.matching.engine.tokenize import tokenize


@dataclass(frozen=True, slots=True)
class Doc:
    """One open-licence patent in the index."""

    doc_id: str
    application_no: str
    title: str
    tokens: tuple[str, ...]  # from document_tokens(...)
    ipc_codes: tuple[str, ...] = ()
    region_code: str | None = None  # GB/T 2260 of the patentee
    industry_codes: tuple[str, ...] = ()  # GB/T 4754, e.g. C3841
    lump_sum_cny: Decimal | None = None  # lump sum, or the entry fee of entry fee + royalty
    royalty_rate: Decimal | None = None  # 0..1 of net sales
    payment_method: str = "unknown"  # lump_sum | royalty | entry_fee_royalty | free | unknown
    # university | research_institute | enterprise | individual | other
    patentee_type: str = "other"
    grant_date: date | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """A demand (or an enterprise profile, for reverse matching)."""

    tokens: tuple[str, ...]  # from query_tokens(...)
    ipc_codes: tuple[str, ...] = ()  # hints, any spelling normalise_hint accepts
    region_code: str | None = None
    industry_code: str | None = None
    budget_min_cny: Decimal | None = None
    budget_max_cny: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked patent; ``score`` = Σ components[c]["contribution"]."""

    doc_id: str
    application_no: str
    score: float
    components: dict[str, dict] = field(default_factory=dict)


def _repeat(parts: Iterable[tuple[str | None, int]]) -> tuple[str, ...]:
    out: list[str] = []
    for text, times in parts:
        if times and text:
            out.extend(tokenize(text) * times)
    return tuple(out)


def _pack(pack: MatchingPack | None) -> MatchingPack:
    if pack is None:
        from services.matching.engine.packs import current

        return current()
    return pack


def document_tokens(*, title: str, abstract: str | None = None, claims: str | None = None,
                    technical_field: str | None = None, application_scenarios: str | None = None,
                    keywords: Iterable[str] = (), pack: MatchingPack | None = None
                    ) -> tuple[str, ...]:
    """A patent's tokens, fields weighted by repetition (title ×3, technical field and keywords
    ×2, the rest ×1 in the 2024 pack): BM25 counts a title word three times."""
    f = _pack(pack).data.fields
    return _repeat([(title, f.title), (technical_field, f.technical_field),
                    (" ".join(keywords), f.keywords), (abstract, f.abstract),
                    (claims, f.claims), (application_scenarios, f.application_scenarios)])


def query_tokens(*, title: str, description: str | None = None,
                 technical_field: str | None = None, pack: MatchingPack | None = None
                 ) -> tuple[str, ...]:
    """A demand's tokens (title ×2, technical field and description ×1 in the 2024 pack)."""
    f = _pack(pack).data.query_fields
    return _repeat([(title, f.title), (technical_field, f.technical_field),
                    (description, f.description)])
