"""The baseline for read benchmarks: a bare FastAPI endpoint returning a constant."""

from fastapi import FastAPI

app = FastAPI()
BODY = {"uscc": "91320500MA1B2C3D8W", "name": "基线", "size_class": "small"}


@app.get("/constant")
async def constant() -> dict:
    return BODY
