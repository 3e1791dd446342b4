"""Helpers for the hand-written eval set. Each area module defines PATENTS (list of dicts
with a stable local key); demands.py refers to patents by these keys. build.py assigns
public ids (P0001..., D001...) and writes the JSONL files one directory up."""
TYPES = {"U": "university", "R": "research_institute", "E": "enterprise"}


def P(key, t, title, abstract, claims, ipc, field, scen):
    return {"key": key, "title": title, "abstract": abstract, "claims": claims,
            "ipc_codes": list(ipc), "technical_field": field,
            "application_scenarios": scen, "patentee_type": TYPES[t]}
