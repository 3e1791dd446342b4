"""Financing's metadata (its own database): kernel tables and its projections of others' facts."""

from shared.db import Base as KernelBase
from shared.db import new_metadata
from shared.outbox import kernel_tables
from shared.projections import enterprise_projection_table


class Base(KernelBase):
    __abstract__ = True
    metadata = new_metadata()


KERNEL = kernel_tables(Base.metadata)
ENTERPRISES = enterprise_projection_table(Base.metadata)
