"""The indexed documents: list, text and outline, the figures table, one chunk."""

from __future__ import annotations

from fastapi import APIRouter

from rag.schemas import ChunkOut, DocumentOut, DocumentSummary, FigureOut, OutlineNodeOut

from ..deps import ServiceDep
from .responses import NOT_FOUND, NOT_READY

router = APIRouter(tags=["documents"], responses=NOT_READY)


@router.get("/api/documents", response_model=list[DocumentSummary])
def list_documents(service: ServiceDep) -> list[DocumentSummary]:
    return [DocumentSummary.of(d) for d in service.documents()]


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
