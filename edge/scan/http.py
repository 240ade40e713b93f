"""``POST /scans`` for scan terminals (FastAPI).

201 with the published event ids; 200 with ``duplicate: true`` for a double scan inside the debounce
window; 4xx/503 with ``{"code", "reason"}`` the terminal shows to the operator: 404 unknown work order,
409 finished/cancelled work order or a step out of order, 422 a malformed scan, 503 queue full.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from edge.scan.model import HTTP_STATUS, RejectCode, ScanRejected, ScanRequest, ScanResult
from edge.scan.service import ScanService


def create_app(service: ScanService) -> FastAPI:
    app = FastAPI(title="shopfloor scan agent", version="1")

    @app.exception_handler(ScanRejected)
    async def rejected(_request: Request, exc: ScanRejected) -> JSONResponse:
        return JSONResponse({"code": exc.code.value, "reason": exc.reason}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        reason = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        code = RejectCode.BAD_SCAN
        return JSONResponse({"code": code.value, "reason": reason}, status_code=HTTP_STATUS[code])

    # A plain def: FastAPI runs it in its thread pool, and the service (SQLite commit, directory
    # query) blocks.
    @app.post("/scans", response_model=ScanResult, status_code=201)
    def post_scan(request: ScanRequest) -> JSONResponse | ScanResult:
        result = service.handle(request)
        if result.duplicate:
            return JSONResponse(result.model_dump(mode="json"), status_code=200)
        return result

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"connected": service.agent.connected, "queued": service.agent.queued}

    return app
