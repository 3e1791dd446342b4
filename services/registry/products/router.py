"""HTTP for patent-intensive products (专利密集型产品): parse, call the service, shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.registry.db import KERNEL
from services.registry.products import service
from services.registry.products.schemas import ProductCreate, ProductRead, RecognitionCreate
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require

router = APIRouter(tags=["products"])

CanFile = Annotated[Principal, Depends(require(scopes=("products:write",),
                                               departments=("enterprise",)))]
CanRecognise = Annotated[Principal, Depends(require(scopes=("ip:write",),
                                                    departments=("market_regulation",)))]
ProductId = Annotated[str, Path(alias="id", min_length=1, max_length=64,
                                description="the product id (a UUID)")]


def etag(revision: int) -> str:
    return f'"{revision}"'


@router.post("/products", status_code=201, response_model=ProductRead,
             summary="File a patent-intensive product (the enterprise itself)",
             responses={403: {"description": "Not the caller's own organisation"},
                        409: {"description": "Already filed"},
                        422: {"description": "A field broke a rule (problem+json names it)"}})
async def file_product(body: ProductCreate, session: DbSession, caller: CanFile,
                       request: Request,
                       idempotency_key: Annotated[str | None, Header(
                           alias="Idempotency-Key",
                           description="Retry-safe create: same key + same body → the same "
                                       "response, filed once")] = None):
    """Link the product to the filer's own granted, in-force patents; emits ``product.filed``."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json"))
    if idem.replay is not None:
        return idem.replay
    product = await service.file(session, body, caller)
    content = jsonable_encoder(ProductRead(**await service.read_model(session, product)))
    headers = {"Location": f"/v1/products/{product.id}", "ETag": etag(product.revision)}
    await idem.record(session, 201, content, headers)
    return JSONResponse(content, status_code=201, headers=headers)


@router.post("/products/{id}/recognition", response_model=ProductRead,
             summary="Recognise or reject a filed product (IP office)",
             responses={409: {"description": "Already decided"}})
async def decide_product(product_id: ProductId, body: RecognitionCreate, session: DbSession,
                         caller: CanRecognise, response: Response) -> ProductRead:
    """Emits ``product.recognized`` (rewards and the pool react) or ``product.rejected``."""
    product = await service.get_or_404(session, product_id)
    product = await service.decide(session, product, body, caller)
    response.headers["ETag"] = etag(product.revision)
    return ProductRead(**await service.read_model(session, product))


@router.get("/products/{id}", response_model=ProductRead, summary="Read a product")
async def read_product(product_id: ProductId, session: DbSession, caller: Caller,
                       response: Response) -> ProductRead:
    """Departments read any product; an enterprise its own."""
    product = await service.get_or_404(session, product_id)
    ensure_can_read_enterprise(caller, product.uscc)
    response.headers["ETag"] = etag(product.revision)
    return ProductRead(**await service.read_model(session, product))
