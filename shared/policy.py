"""Policy packs: versioned data files of policy figures, validated at load.

Amounts, caps, rates, periods and thresholds live in YAML files per jurisdiction and effective
date, never in code. Each file has a common header (``id``, ``version``, ``jurisdiction``,
``title``, ``effective_from``, optional ``effective_to``, ``sources`` with document and clause,
``verified``) and a ``data`` section whose shape the owning service declares as a pydantic model.
A pack that does not validate stops the service at start with the file and field named.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

T = TypeVar("T", bound=BaseModel)


class PolicySource(BaseModel):
    """Where a figure comes from: the document and the clause, cited in decision bases."""

    model_config = ConfigDict(extra="forbid")

    document: str = Field(description="Document title and number, e.g. 工信部联企业〔2011〕300号")
    clause: str = Field(description="Article / item, e.g. 第四条")
    file: str | None = Field(None, description="Policy text under ../shared/policies/, if held")
    confidence: str = Field("S", description="C confirmed, S secondary, U unverified (RULES.md)")
    text: str | None = Field(None, description="The words of the clause relied on, quoted")


class PolicyPack(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: int = Field(ge=1)
    jurisdiction: str = Field(description="national, or a GB/T 2260 code / place name")
    title: str
    effective_from: date
    effective_to: date | None = None
    verified: bool = Field(description="Required: false where a figure is not confirmed "
                                       "(RULES [U]); a pack never counts as verified by default")
    sources: list[PolicySource] = Field(min_length=1)
    data: T

    @model_validator(mode="after")
    def _dates(self) -> "PolicyPack[T]":
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @property
    def ref(self) -> str:
        """``id@vN``: how a decision's basis names the pack that decided it."""
        return f"{self.id}@v{self.version}"

    def cite(self) -> list[dict[str, Any]]:
        return [{"pack": f"{self.id}@v{self.version}", **s.model_dump(exclude_none=True)}
                for s in self.sources]


class PolicyPackError(ValueError):
    """A pack file is unreadable or invalid; the message names the file and the fields."""


def load_pack(path: Path, data_model: type[T]) -> PolicyPack[T]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyPackError(f"{path.name}: cannot read: {exc}") from exc
    try:
        return PolicyPack[data_model].model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise PolicyPackError(f"{path.name}: {problems}") from exc


class PackSet(Generic[T]):
    """All versions of one kind of pack; picks the one in force on a date."""

    def __init__(self, packs: list[PolicyPack[T]]) -> None:
        if not packs:
            raise PolicyPackError("no policy pack found")
        self.packs = sorted(packs, key=lambda p: (p.jurisdiction, p.effective_from, p.version))
        for a, b in zip(self.packs, self.packs[1:]):
            if a.jurisdiction == b.jurisdiction and (a.effective_to is None
                                                     or a.effective_to >= b.effective_from):
                raise PolicyPackError(
                    f"{a.id}@v{a.version} and {b.id}@v{b.version} are both in force on "
                    f"{b.effective_from.isoformat()} for {a.jurisdiction}; set effective_to")

    @classmethod
    def load(cls, directory: Path, pattern: str, data_model: type[T]) -> "PackSet[T]":
        files = sorted(directory.glob(pattern))
        if not files:
            raise PolicyPackError(f"no {pattern} policy pack in {directory}")
        return cls([load_pack(p, data_model) for p in files])

    def in_force(self, on: date, jurisdiction: str = "national") -> PolicyPack[T]:
        candidates = [p for p in self.packs if p.jurisdiction == jurisdiction and p.in_force(on)]
        if not candidates:
            raise LookupError(f"no {jurisdiction} policy pack in force on {on.isoformat()}")
        return candidates[0]

    def for_date(self, on: date, *, field: str, subject: str, subject_zh: str,
                 jurisdiction: str = "national") -> PolicyPack[T]:
        """The pack in force on ``on``, or 422 naming the request's date ``field`` that chose
        it (a date before any pack, or in a gap between two)."""
        try:
            return self.in_force(on, jurisdiction)
        except LookupError as exc:
            from shared.errors import InvalidInput

            first = self.packs[0].effective_from
            raise InvalidInput(field, f"{field}.no_policy_pack",
                               f"no {subject} policy pack is in force on {on.isoformat()} "
                               f"(packs start {first.isoformat()})",
                               message_zh=f"该日期没有适用的{subject_zh}政策包") from exc
