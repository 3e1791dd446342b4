"""Registry's metadata (its own database) with the kernel's outbox and inbox tables."""

from shared.db import Base as KernelBase
from shared.db import new_metadata
from shared.outbox import kernel_tables


class Base(KernelBase):
    __abstract__ = True
    metadata = new_metadata()


KERNEL = kernel_tables(Base.metadata)
