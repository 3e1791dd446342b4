"""The rewards packs this service has announced (one ``policy.changed`` per new version)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.rewards.db import Base
from shared.db import UTCDateTime


class PolicyPackVersion(Base):
    __tablename__ = "policy_pack_versions"

    pack_id: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    file: Mapped[str] = mapped_column(sa.String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
