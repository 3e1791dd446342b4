"""Regenerate ../patents.jsonl and ../demands.jsonl from the hand-written source modules.

Patents keep a stable local key (e.g. "lib06") in the sources; public ids P0001.. are
assigned in module order. Demands reference patents by key and get ids D001.. in order.
Run:  python3 tests/matching/eval/source/build.py
"""
import importlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

AREA_MODULES = ["a01_energy", "a02_coal_metal", "a03_materials_mfg", "a04_ict",
                "a05_health_agri", "a06_food_textile_build", "a07_vehicle_env",
                "a08_print_pack_furn_hvac", "a09_hard_negatives"]


def load_patents():
    out = []
    for name in AREA_MODULES:
        out.extend(importlib.import_module(name).PATENTS)
    return out


def main():
    patents = load_patents()
    key2id = {}
    for i, p in enumerate(patents, 1):
        if p["key"] in key2id:
            raise SystemExit("duplicate patent key %s" % p["key"])
        key2id[p["key"]] = "P%04d" % i
    demands = importlib.import_module("demands").DEMANDS
    with open(os.path.join(OUT, "patents.jsonl"), "w", encoding="utf-8") as f:
        for p in patents:
            rec = {"id": key2id[p["key"]]}
            rec.update({k: v for k, v in p.items() if k != "key"})
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "demands.jsonl"), "w", encoding="utf-8") as f:
        for i, d in enumerate(demands, 1):
            rel = {}
            for k, g in d["relevant"].items():
                if k not in key2id:
                    raise SystemExit("demand %d (%s) refers to unknown patent key %s" % (i, d["title"], k))
                rel[key2id[k]] = g
            rec = {"id": "D%03d" % i, "title": d["title"], "description": d["description"],
                   "technical_field": d["technical_field"], "ipc_hints": d["ipc_hints"],
                   "industry_code": d["industry_code"], "budget_max_cny": d["budget_max_cny"],
                   "relevant": rel}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print("wrote %d patents, %d demands" % (len(patents), len(demands)))


if __name__ == "__main__":
    main()
