"""A pack change is an event: at start, each loaded rewards pack version is recorded once in
``policy_pack_versions`` and announced as ``policy.changed`` (added, or replaced when an older
version of the same pack id was announced before).

Several replicas may start at once: the INSERT … ON CONFLICT DO NOTHING lets exactly one of them
record (and announce) a version. A file whose content changed while its version did not is
refused: claims name the version they were decided under (``id@vN``), so the same name must
always mean the same rules.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rewards.db import KERNEL
from services.rewards.policies import packs
from services.rewards.policies.models import PolicyPackVersion
from shared.db import utcnow
from shared.outbox import emit
from shared.policy import PolicyPackError
from shared.projections import dialect_insert

log = structlog.get_logger("rewards.policies")


def _rule_summary(pack: packs.RewardPack, rule: packs.RewardRule) -> dict[str, Any]:
    return {"code": rule.code, "name_zh": rule.name_zh, "name_en": rule.name_en,
            "trigger": rule.trigger.event,
            "amount": rule.amount.model_dump(mode="json", exclude_none=True),
            "caps": rule.caps.model_dump(mode="json", exclude_none=True),
            "fund": rule.fund, "department": rule.department, "verified": rule.verified,
            "clause": {"pack": pack.ref, **rule.source.model_dump(exclude_none=True)}}


def changed_payload(loaded: packs.LoadedPack, change: str, previous: int | None
                    ) -> dict[str, Any]:
    pack = loaded.pack
    return {
        "pack_id": pack.id, "version": pack.version, "previous_version": previous,
        "jurisdiction": pack.jurisdiction, "title": pack.title,
        "effective_from": pack.effective_from.isoformat(),
        "effective_to": pack.effective_to.isoformat() if pack.effective_to else None,
        "verified": pack.verified, "sha256": loaded.sha256, "file": loaded.file,
        "change": change, "sources": pack.cite(),
        "rules": [_rule_summary(pack, rule) for rule in pack.data.rules],
        "changed_at": utcnow().isoformat(),
    }


async def record_packs(session: AsyncSession, loaded: list[packs.LoadedPack]) -> list[str]:
    """Record and announce every version not seen before; refuse a changed file under a known
    version. Returns the refs announced."""
    announced: list[str] = []
    for lp in loaded:
        pack = lp.pack
        existing = await session.get(PolicyPackVersion, (pack.id, pack.version))
        if existing is not None:
            if existing.sha256 != lp.sha256:
                raise PolicyPackError(
                    f"{lp.file}: {pack.ref} was first loaded from a file with sha256 "
                    f"{existing.sha256[:12]}…, now {lp.sha256[:12]}…; claims decided under "
                    f"{pack.ref} must keep meaning the same rules: bump `version` (and set "
                    "effective_to on the old file if it stops applying) instead of editing "
                    "a released pack")
            continue
        previous = await session.scalar(
            sa.select(sa.func.max(PolicyPackVersion.version))
            .where(PolicyPackVersion.pack_id == pack.id, PolicyPackVersion.version < pack.version))
        statement = dialect_insert(session)(PolicyPackVersion).values(
            pack_id=pack.id, version=pack.version, sha256=lp.sha256, file=lp.file,
            loaded_at=utcnow()).on_conflict_do_nothing(index_elements=["pack_id", "version"])
        if (await session.execute(statement)).rowcount != 1:
            # another replica recorded it a moment ago; it announces it
            row = await session.get(PolicyPackVersion, (pack.id, pack.version),
                                    populate_existing=True)
            if row is not None and row.sha256 != lp.sha256:
                raise PolicyPackError(f"{lp.file}: {pack.ref} was recorded by another replica "
                                      "from a different file; bump `version`")
            continue
        await emit(session, KERNEL.outbox, "policy.changed", key=pack.id, subject=pack.ref,
                   data=changed_payload(lp, "replaced" if previous else "added", previous))
        announced.append(pack.ref)
        log.info("rewards.policy.changed", pack=pack.ref, previous_version=previous,
                 sha256=lp.sha256)
    return announced


async def announce_packs(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    """The service's ``on_ready`` job: a refused pack stops the start, named."""
    async with factory() as session, session.begin():
        return await record_packs(session, packs.packs())
