#!/usr/bin/env python3
"""Validate the patent <-> technology-demand evaluation set (stdlib only).

Usage:  python3 tests/matching/eval/check_dataset.py [--dir DIR]

Checks
  * every line of patents.jsonl / demands.jsonl is one JSON object with the expected keys
  * ids are unique and well-formed (P0001, D001)
  * patent text lengths (abstract 80-250 chars, claim 60-200 chars, claim 1 only)
  * patent IPC codes match the normalised form "A01B 1/00" (1-3 codes)
  * demand ipc_hints are a full symbol, a subclass ("H01M") or a class ("H01")
  * industry_code looks like a GB/T 4754-2017 class ("C3841") or is null
  * budget_max_cny is a decimal string with two places ("500000.00") or null
  * every relevant id exists, grades are 1 or 2, every demand has a grade-2 patent
  * minimum counts (patents, demands, labelled pairs, grade-2 pairs, IPC sections)
Exits with status 1 and lists the problems if anything fails; prints the counts either way.
"""
import argparse
import collections
import json
import os
import re
import sys

MIN_PATENTS = 320
MIN_DEMANDS = 140
MIN_PAIRS = 220
MIN_GRADE2 = 160

IPC_FULL = re.compile(r"^[A-H][0-9]{2}[A-Z] [1-9][0-9]{0,3}/[0-9]{2,6}$")
IPC_SUBCLASS = re.compile(r"^[A-H][0-9]{2}[A-Z]$")
IPC_CLASS = re.compile(r"^[A-H][0-9]{2}$")
PATENT_ID = re.compile(r"^P[0-9]{4}$")
DEMAND_ID = re.compile(r"^D[0-9]{3,}$")
INDUSTRY = re.compile(r"^[A-T][0-9]{4}$")
BUDGET = re.compile(r"^[0-9]+\.[0-9]{2}$")
PATENTEE_TYPES = {"university", "research_institute", "enterprise"}

PATENT_KEYS = {"id", "title", "abstract", "claims", "ipc_codes", "technical_field",
               "application_scenarios", "patentee_type"}
DEMAND_KEYS = {"id", "title", "description", "technical_field", "ipc_hints",
               "industry_code", "budget_max_cny", "relevant"}


def load_jsonl(path, errors):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                errors.append("%s:%d: empty line" % (os.path.basename(path), n))
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                errors.append("%s:%d: invalid JSON (%s)" % (os.path.basename(path), n, e))
                continue
            if not isinstance(obj, dict):
                errors.append("%s:%d: not a JSON object" % (os.path.basename(path), n))
                continue
            rows.append(obj)
    return rows


def is_text(v):
    return isinstance(v, str) and v.strip() != ""


def check_patents(patents, errors):
    ids = set()
    for p in patents:
        pid = p.get("id")
        where = "patent %s" % pid
        if set(p) != PATENT_KEYS:
            errors.append("%s: keys %s != expected" % (where, sorted(p)))
        if not isinstance(pid, str) or not PATENT_ID.match(pid):
            errors.append("%s: malformed id" % where)
        elif pid in ids:
            errors.append("%s: duplicate id" % where)
        ids.add(pid)
        for k in ("title", "abstract", "claims", "technical_field", "application_scenarios"):
            if not is_text(p.get(k)):
                errors.append("%s: %s missing or empty" % (where, k))
        abstract, claims = p.get("abstract") or "", p.get("claims") or ""
        if not 80 <= len(abstract) <= 250:
            errors.append("%s: abstract length %d not in 80-250" % (where, len(abstract)))
        if not 60 <= len(claims) <= 200:
            errors.append("%s: claims length %d not in 60-200" % (where, len(claims)))
        if not claims.startswith("1.") or "其特征在于" not in claims:
            errors.append("%s: claims should be claim 1 ('1. ...其特征在于...')" % where)
        codes = p.get("ipc_codes")
        if not isinstance(codes, list) or not 1 <= len(codes) <= 3:
            errors.append("%s: ipc_codes must be a list of 1-3 codes" % where)
        else:
            if len(set(codes)) != len(codes):
                errors.append("%s: duplicate ipc code" % where)
            for c in codes:
                if not isinstance(c, str) or not IPC_FULL.match(c):
                    errors.append("%s: bad IPC code %r" % (where, c))
        if p.get("patentee_type") not in PATENTEE_TYPES:
            errors.append("%s: bad patentee_type %r" % (where, p.get("patentee_type")))
    return ids


def check_demands(demands, patent_ids, errors):
    ids = set()
    for d in demands:
        did = d.get("id")
        where = "demand %s" % did
        if set(d) != DEMAND_KEYS:
            errors.append("%s: keys %s != expected" % (where, sorted(d)))
        if not isinstance(did, str) or not DEMAND_ID.match(did):
            errors.append("%s: malformed id" % where)
        elif did in ids:
            errors.append("%s: duplicate id" % where)
        ids.add(did)
        if not is_text(d.get("title")):
            errors.append("%s: title missing" % where)
        desc = d.get("description") or ""
        if not 60 <= len(desc) <= 300:
            errors.append("%s: description length %d not in 60-300" % (where, len(desc)))
        tf = d.get("technical_field")
        if tf is not None and not is_text(tf):
            errors.append("%s: technical_field must be text or null" % where)
        hints = d.get("ipc_hints")
        if not isinstance(hints, list):
            errors.append("%s: ipc_hints must be a list" % where)
        else:
            for h in hints:
                if not isinstance(h, str) or not (IPC_FULL.match(h) or IPC_SUBCLASS.match(h)
                                                  or IPC_CLASS.match(h)):
                    errors.append("%s: bad ipc hint %r" % (where, h))
        ind = d.get("industry_code")
        if ind is not None and not (isinstance(ind, str) and INDUSTRY.match(ind)):
            errors.append("%s: bad industry_code %r" % (where, ind))
        budget = d.get("budget_max_cny")
        if budget is not None and not (isinstance(budget, str) and BUDGET.match(budget)):
            errors.append("%s: bad budget_max_cny %r" % (where, budget))
        rel = d.get("relevant")
        if not isinstance(rel, dict) or not rel:
            errors.append("%s: relevant must be a non-empty object" % where)
            continue
        for pid, g in rel.items():
            if pid not in patent_ids:
                errors.append("%s: relevant id %s does not exist" % (where, pid))
            if g not in (1, 2) or isinstance(g, bool):
                errors.append("%s: grade %r for %s not in {1,2}" % (where, g, pid))
        if 2 not in rel.values():
            errors.append("%s: no grade-2 patent" % where)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    errors = []
    patents = load_jsonl(os.path.join(args.dir, "patents.jsonl"), errors)
    demands = load_jsonl(os.path.join(args.dir, "demands.jsonl"), errors)
    patent_ids = check_patents(patents, errors)
    check_demands(demands, patent_ids, errors)

    grades = collections.Counter(g for d in demands if isinstance(d.get("relevant"), dict)
                                 for g in d["relevant"].values())
    pairs = sum(grades.values())
    types = collections.Counter(p.get("patentee_type") for p in patents)
    sections = collections.Counter(p["ipc_codes"][0][0] for p in patents
                                   if isinstance(p.get("ipc_codes"), list) and p["ipc_codes"])
    subclasses = {p["ipc_codes"][0][:4] for p in patents
                  if isinstance(p.get("ipc_codes"), list) and p["ipc_codes"]}
    labelled = {pid for d in demands if isinstance(d.get("relevant"), dict) for pid in d["relevant"]}
    with_hints = sum(1 for d in demands if d.get("ipc_hints"))
    with_budget = sum(1 for d in demands if d.get("budget_max_cny"))
    with_industry = sum(1 for d in demands if d.get("industry_code"))
    with_field = sum(1 for d in demands if d.get("technical_field"))
    per_demand = collections.Counter(len(d.get("relevant") or {}) for d in demands)

    if len(patents) < MIN_PATENTS:
        errors.append("only %d patents (< %d)" % (len(patents), MIN_PATENTS))
    if len(demands) < MIN_DEMANDS:
        errors.append("only %d demands (< %d)" % (len(demands), MIN_DEMANDS))
    if pairs < MIN_PAIRS:
        errors.append("only %d labelled pairs (< %d)" % (pairs, MIN_PAIRS))
    if grades[2] < MIN_GRADE2:
        errors.append("only %d grade-2 pairs (< %d)" % (grades[2], MIN_GRADE2))
    missing = set("ABCDEFGH") - set(sections)
    if missing:
        errors.append("no patent with main IPC in section(s) %s" % "".join(sorted(missing)))

    n = max(len(patents), 1)
    m = max(len(demands), 1)
    print("patents:            %d" % len(patents))
    print("  patentee_type:    " + ", ".join("%s=%d" % kv for kv in sorted(types.items()))
          + "  (university+institute %.1f%%)"
          % (100.0 * (types["university"] + types["research_institute"]) / n))
    print("  main IPC section: " + ", ".join("%s=%d" % kv for kv in sorted(sections.items())))
    print("  main IPC subclasses: %d" % len(subclasses))
    print("  patents labelled relevant to >=1 demand: %d (%d never labelled)"
          % (len(labelled), len(patents) - len(labelled)))
    print("demands:            %d" % len(demands))
    print("  with ipc_hints %d (%.0f%%), technical_field %d, industry_code %d, budget %d"
          % (with_hints, 100.0 * with_hints / m, with_field, with_industry, with_budget))
    print("  relevant patents per demand: " + ", ".join("%d:%d" % kv for kv in sorted(per_demand.items())))
    print("labelled pairs:     %d  (grade 2: %d, grade 1: %d)" % (pairs, grades[2], grades[1]))
    if errors:
        print("\nFAILED with %d problem(s):" % len(errors))
        for e in errors:
            print("  - " + e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
