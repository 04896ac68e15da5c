"""Domain errors to HTTP: one table, registered on the app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rag.collection import AddRefused
from rag.readers import DocumentTooLarge, IngestError, UnsupportedFormat
from rag.retrieval import InvalidQuestion, UnknownDocument

from .service import BadFeedback, Conflict, NotFound, NotReady
from .uploads import MalformedUpload

# in order: the first kind an error is an instance of gives its status
STATUS: dict[type[Exception], int] = {
    InvalidQuestion: 422,
    UnknownDocument: 422,  # a filter's doc_id (the message lists the known ones)
    BadFeedback: 422,
    NotFound: 404,
    Conflict: 409,
    UnsupportedFormat: 415,
    DocumentTooLarge: 413,
    IngestError: 422,  # empty, undecodable, broken, a PDF without a text layer
    NotReady: 503,
}


def status_of(exc: Exception) -> int:
    if isinstance(exc, MalformedUpload):
        return exc.status
    if isinstance(exc, AddRefused):  # an upload refused as a whole: its first bad file says
        first = exc.rejected[0].error
        return status_of(first) if first is not None else 422
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


# after the library's reason for a file an upload could not add (it says which and why)
UPLOAD_ZH = {413: "文件过大，未保存", 415: "不支持的文件类型", 422: "文件无法读取，未添加任何文件"}


async def _reply(request: Request, exc: Exception) -> JSONResponse:
    status = status_of(exc)
    detail = str(exc)
    if isinstance(exc, IngestError | AddRefused):
        detail += f" / {UPLOAD_ZH[status]}"
    return JSONResponse({"detail": detail}, status_code=status)


def register(app: FastAPI) -> None:
    for kind in (*STATUS, AddRefused, MalformedUpload):
        app.add_exception_handler(kind, _reply)
