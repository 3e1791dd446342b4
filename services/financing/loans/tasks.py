"""Periodic jobs of financing's loans."""

from services.financing.loans.reads import mark_green_channel_breaches
from shared.app import PeriodicTask

#: Stamp green-channel loans still undecided past their deadline (idempotent; every replica
#: may run it: the conditional UPDATE stamps each loan once).
PERIODIC_TASKS: list[PeriodicTask] = [
    PeriodicTask("loan-green-channel-deadline-check", 3600, mark_green_channel_breaches),
]
