"""The indexed documents: list, text and outline, the figures table, one chunk; adding
(an upload) and removing documents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from rag.schemas import (
    ChangeOut,
    ChunkOut,
    DocumentFields,
    DocumentListed,
    DocumentOut,
    FigureOut,
    OutlineNodeOut,
)

from .. import uploads
from ..deps import ServiceDep
from .responses import ERROR, NOT_FOUND, NOT_READY

router = APIRouter(tags=["documents"], responses=NOT_READY)

# the upload's body is streamed by the route (web/uploads.py), not read whole by BodySizeLimit
STREAMED = frozenset({("POST", "/api/documents")})


def _upload_body() -> dict[str, Any]:
    """The OpenAPI request body of an upload: the files and DocumentFields' form fields."""
    fields = DocumentFields.model_json_schema()["properties"]
    for name, prop in fields.items():  # a form field is a string or absent, never null
        (given,) = [p for p in prop.pop("anyOf") if p.get("type") != "null"]
        fields[name] = {**prop, **given}
        fields[name].pop("default", None)
    files: dict[str, Any] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    files |= {"minItems": 1, "maxItems": uploads.MAX_FILES}
    files["description"] = "the report files (.txt .md .docx .pdf), each ≤ RAG_MAX_UPLOAD_BYTES"
    schema: dict[str, Any] = {"type": "object", "properties": {uploads.FILES: files, **fields}}
    schema |= {"required": [uploads.FILES], "additionalProperties": False}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


@router.get("/api/documents", response_model=list[DocumentListed])
def list_documents(service: ServiceDep) -> list[DocumentListed]:
    """Every document: title, city, year, kind, format, size, chunks, sha256, when it was
    added, and whether it is a seed or was added (only added ones can be deleted)."""
    return DocumentListed.all(service.index())


@router.post(
    "/api/documents",
    status_code=201,
    response_model=ChangeOut,
    openapi_extra=_upload_body(),
    responses={
        200: {"model": ChangeOut, "description": "every file is already in the collection"},
        **{code: ERROR for code in (400, 413, 415, 422)},
    },
)
async def add_documents(request: Request, response: Response, service: ServiceDep) -> ChangeOut:
    """Add report files, all or none, served from the response on: 201 with each file's
    outcome, the new index version and the texts embedded; 200 when every file is a
    duplicate (its `doc_id` is the document it duplicates; nothing added); 413 over
    RAG_MAX_UPLOAD_BYTES, 415 an unsupported type, 422 a file that cannot be read (nothing
    of the upload is added, nothing kept)."""
    service.require_ready()  # 503 before reading the body
    limit = service.settings.max_upload_bytes
    async with uploads.receive(request, service.upload_dir, max_file_bytes=limit) as upload:
        metadata = upload.fields.model_dump(exclude_none=True)
        change = await run_in_threadpool(
            lambda: service.add_documents(upload.paths, metadata=metadata)
        )
    if not any(o.status == "added" for o in change.outcomes):
        response.status_code = 200
    return ChangeOut.of(change)


@router.delete(
    "/api/documents/{doc_id}", response_model=ChangeOut, responses={**NOT_FOUND, 409: ERROR}
)
def delete_document(doc_id: str, service: ServiceDep) -> ChangeOut:
    """Remove an added document (nothing is embedded); 409 for a seed document."""
    return ChangeOut.of(service.remove_document(doc_id))


@router.get("/api/documents/{doc_id}", response_model=DocumentOut, responses=NOT_FOUND)
def get_document(doc_id: str, service: ServiceDep) -> DocumentOut:
    """The cleaned text (what offsets point into) and its paragraphs' section paths."""
    return DocumentOut.of(service.document(doc_id))


@router.get(
    "/api/documents/{doc_id}/outline", response_model=list[OutlineNodeOut], responses=NOT_FOUND
)
def get_outline(doc_id: str, service: ServiceDep) -> list[OutlineNodeOut]:
    """The table of contents: parts and numbered headings, each with its paragraphs
    (labelled by their topic sentence or opening words), with offsets into the text."""
    return [OutlineNodeOut.of(n) for n in service.outline(doc_id)]


@router.get("/api/documents/{doc_id}/figures", response_model=list[FigureOut], responses=NOT_FOUND)
def get_figures(doc_id: str, service: ServiceDep) -> list[FigureOut]:
    """Every sentence with a figure, tagged target / achievement / other, in text order."""
    return [FigureOut.of(f) for f in service.figures(doc_id)]


@router.get("/api/chunks/{chunk_id}", response_model=ChunkOut, responses=NOT_FOUND)
def get_chunk(chunk_id: str, service: ServiceDep) -> ChunkOut:
    return ChunkOut.of(service.chunk(chunk_id))
