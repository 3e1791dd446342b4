"""The enterprise record embeds what the other registry domains say, and search filters on it."""

from __future__ import annotations

import pytest

from tests.harness import auth
from tests.registry.ip_factories import patent_body
from tests.registry.test_enterprises import create

pytestmark = pytest.mark.asyncio


async def test_record_embeds_qualifications_flags_and_high_value_and_search_uses_them(registry):
    qualified = (await create(registry, name="专精特新甲"))["uscc"]
    flagged = (await create(registry, name="失信乙"))["uscc"]
    plain = (await create(registry, name="普通丙"))["uscc"]
    resp = await registry.post(f"/v1/enterprises/{qualified}/qualifications", headers=auth("miit"),
                               json={"kind": "zjtx_sme", "certificate_no": "晋专精2026-001",
                                     "valid_from": "2026-05-01"})
    assert resp.status_code == 201, resp.text
    resp = await registry.post("/v1/credit-flags", headers=auth("credit"), json={
        "uscc": flagged, "kind": "data_fraud", "source": "山西省统计局",
        "reference": "晋统执〔2026〕3号", "flagged_on": "2026-10-09"})
    assert resp.status_code == 201, resp.text
    # an overseas granted family member makes an in-force invention high-value (RULES §5)
    body = patent_body(qualified, family_members=[{"office": "US", "number": "US11223344B2", "granted": True,
                                                   "granted_on": "2025-06-03"}])
    resp = await registry.post("/v1/patents", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    assert resp.json()["high_value"]["is_high_value"] is True

    detail = (await registry.get(f"/v1/enterprises/{qualified}", headers=auth("bank"))).json()
    assert [q["kind"] for q in detail["qualifications"]] == ["zjtx_sme"]
    assert detail["qualifications"][0]["certificate_no"] == "晋专精2026-001"
    assert detail["high_value_patents"] == 1 and detail["has_active_credit_flag"] is False
    detail = (await registry.get(f"/v1/enterprises/{flagged}", headers=auth("bank"))).json()
    assert detail["has_active_credit_flag"] is True
    assert [f["kind"] for f in detail["credit_flags"]] == ["data_fraud"]
    assert detail["qualifications"] == [] and detail["high_value_patents"] == 0

    async def found(**params):
        resp = await registry.get("/v1/enterprises", params=params, headers=auth("miit"))
        assert resp.status_code == 200, resp.text
        return {e["uscc"] for e in resp.json()["items"]} & {qualified, flagged, plain}

    assert await found(qualification="zjtx_sme") == {qualified}
    assert await found(qualification="little_giant") == set()
    assert await found(has_high_value="true") == {qualified}
    assert await found(has_high_value="false") == {flagged, plain}
