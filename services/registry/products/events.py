"""Payloads of the events this domain emits (schemas in shared/events/schemas).

Amounts (万元) travel as decimal strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.registry.products.models import Product

if TYPE_CHECKING:
    from services.registry.products.service import LinkedPatent


def product_state(product: Product, enterprise_name: str | None,
                  patents: list[LinkedPatent]) -> dict[str, Any]:
    """The state carried by product.filed / .recognized / .rejected."""
    return {
        "product_id": product.id,
        "uscc": product.uscc,
        "enterprise_name": enterprise_name,
        "name": product.name,
        "patents": [{"application_no": p.application_no, "kind": p.kind,
                     "in_force": p.in_force, "is_high_value": p.is_high_value}
                    for p in patents],
        "figures_year": product.figures_year,
        "annual_sales_10k_cny": str(product.annual_sales_10k_cny),
        "annual_profit_10k_cny": str(product.annual_profit_10k_cny),
        "status": product.status,
        "revision": product.revision,
    }
