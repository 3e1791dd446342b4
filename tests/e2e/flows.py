"""What the end-to-end flows share: REST calls onto the running services, the bank's example
consumer as a process, the rewards fund and claims as the API shows them, and the test data the
flows are told with (a gas-monitoring patent a coal miner needs)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from shared.config import REPO_ROOT
from shared.db import today_cn
from tests.harness import TEST_FETCH_MAX_WAIT_MS, auth, wait_for
from tests.kafka_utils import header, read_topic

BANK = "BANK001"
FUND = "shanxi-ip-fund"
GAS = dict(title="一种煤矿井下瓦斯浓度在线监测与超限报警系统",
           abstract="本发明公开了一种煤矿井下瓦斯浓度在线监测系统，包括分布式甲烷传感器、"
                    "井下环网通信单元和地面监控主机，瓦斯浓度超限时自动断电并声光报警。",
           ipc_codes=["E21F 17/18"])


# --- REST ----------------------------------------------------------------------------------

def post(base: str, path: str, body: dict, headers: dict, expect: int = 201) -> dict:
    resp = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=15)
    assert resp.status_code == expect, resp.text
    return resp.json()


def get(base: str, path: str, headers: dict | None = None, **params) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers=headers or auth(), params=params, timeout=10)


def known_to(base: str, uscc: str) -> None:
    """Wait until a service's projection has the enterprise (its events arrived)."""
    wait_for(lambda: get(base, f"/v1/enterprises/{uscc}").status_code == 200,
             what=f"{base} projecting {uscc}")


# --- financing -----------------------------------------------------------------------------

class BankConsumer:
    """``examples/bank_whitelist_consumer.py`` as a bank runs it; records when each line came."""

    def __init__(self, bootstrap: str, out: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "examples" / "bank_whitelist_consumer.py"),
             "--bootstrap", bootstrap, "--group", f"bank-{out.stem}", "--out", str(out),
             "--fetch-max-wait-ms", str(TEST_FETCH_MAX_WAIT_MS), "--session-timeout-ms", "6000",
             "--heartbeat-interval-ms", "1000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.strip()))

    def seen(self, kind: str, uscc: str) -> float | None:
        return next((t for t, line in self.lines if line.startswith(f"{kind} {uscc} ")), None)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def entry(financing: str, uscc: str) -> dict | None:
    """The whitelist entry a bank reads (None until financing has evaluated the enterprise)."""
    resp = get(financing, f"/v1/whitelist/{uscc}", auth("bank", BANK))
    return resp.json() if resp.status_code == 200 else None


# --- matching ------------------------------------------------------------------------------

def declare_until_known(matching: str, owner: str, body: dict, department: str) -> httpx.Response:
    """Declare; matching may not have the patent yet (topics are not ordered): retry on the
    ``patent_unknown`` answer only."""
    def attempt():
        resp = httpx.post(f"{matching}/v1/open-licenses", json=body,
                          headers=auth(department, owner), timeout=10)
        return None if "patent_unknown" in resp.text else resp
    return wait_for(attempt, what="matching knowing the patent")


def declaration(number: str, **extra) -> dict:
    today = today_cn()
    return {"application_no": number, "payment_method": "lump_sum", "lump_sum_cny": "200000",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=730)).isoformat(),
            **extra}


# --- rewards -------------------------------------------------------------------------------

def claims(rewards: str, **params) -> list[dict]:
    """Every claim matching the filters, all pages (newest first)."""
    out: list[dict] = []
    cursor = None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        resp = get(rewards, "/v1/claims", **query)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def fund(rewards: str) -> dict:
    resp = get(rewards, f"/v1/funds/{FUND}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def ledger(rewards: str) -> list[dict]:
    out: list[dict] = []
    cursor = None
    while True:
        resp = get(rewards, f"/v1/funds/{FUND}/ledger", **({"cursor": cursor} if cursor else {}))
        assert resp.status_code == 200, resp.text
        page = resp.json()
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def open_fund(rewards: str, deposit: str) -> None:
    """The provincial IP fund the Shanxi rules name, with money in it (IP office)."""
    post(rewards, "/v1/funds", {"code": FUND, "name": "山西省知识产权专项资金",
                                "source_kind": "ip_fund", "jurisdiction": "14",
                                "manager_department": "market_regulation"}, auth())
    post(rewards, f"/v1/funds/{FUND}/deposits",
         {"amount_cny": deposit, "reference": "晋财建〔2026〕1号", "note": "年度预算"}, auth())
    assert Decimal(fund(rewards)["balance_cny"]) == Decimal(deposit)


def assert_ledger_invariant(rewards: str) -> dict:
    """Balance = deposits − payments + recoveries; no claim paid twice; paid claims = payments."""
    entries = ledger(rewards)
    sums = {k: sum((Decimal(e["amount_cny"]) for e in entries if e["kind"] == k), Decimal(0))
            for k in ("deposit", "payment", "recovery")}
    balance = Decimal(fund(rewards)["balance_cny"])
    # payments are booked signed (−); the invariant holds whatever the sign convention
    assert balance == sums["deposit"] - abs(sums["payment"]) + sums["recovery"], (balance, sums)
    paid_ids = [e["claim_id"] for e in entries if e["kind"] == "payment"]
    assert len(paid_ids) == len(set(paid_ids)), "a claim was paid twice"
    paid = [c for c in claims(rewards) if c["paid_cny"] is not None]
    assert sorted(c["claim_id"] for c in paid) == sorted(paid_ids)
    assert sum(Decimal(c["paid_cny"]) for c in paid) == abs(sums["payment"])
    return sums


def recognise(registry: str, uscc: str, number: str, name: str) -> str:
    """The enterprise files a product on its patent; the IP office recognises it."""
    product = post(registry, "/v1/products", {
        "name": name, "description": "专利密集型产品", "patents": [number],
        "figures_year": today_cn().year - 1, "annual_sales_10k_cny": "12500.50",
        "annual_profit_10k_cny": "1830.00"}, auth("enterprise", uscc))
    post(registry, f"/v1/products/{product['id']}/recognition",
         {"decision": "recognised", "reason": "符合专利密集型产品认定条件"}, auth(), 200)
    return product["id"]


def claim_of(rewards: str, item_ref: str, status: str | tuple[str, ...], timeout: float = 30
             ) -> dict:
    wanted = (status,) if isinstance(status, str) else status

    def found():
        items = [c for c in claims(rewards) if c["item_ref"] == item_ref]
        return items[0] if len(items) == 1 and items[0]["status"] in wanted else None
    return wait_for(found, timeout=timeout, what=f"the claim for {item_ref} to be {wanted}")


def rewards_events(bootstrap: str, uscc: str, ce_type: str, count: int = 1) -> list[dict]:
    def mine(records):
        return [r for r in records if r.key == uscc.encode() and header(r, "ce_type") == ce_type]
    records = asyncio.run(read_topic(bootstrap, "rewards.v1",
                                     until=lambda rs: len(mine(rs)) >= count, timeout=30))
    return [json.loads(r.value) for r in mine(records)]


def line(claim: dict, rule: str) -> dict:
    found = [b for b in claim["basis"] if b["rule"] == rule]
    assert len(found) == 1, (rule, [b["rule"] for b in claim["basis"]])
    return found[0]
