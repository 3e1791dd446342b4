"""The shared kernel: what all four ipbridge services need and nothing more.

db, outbox/inbox, event envelope and catalogue, auth, errors, logging, health/metrics,
identifiers. Services import from here; they never import each other.
"""
