"""Uploads: a ``multipart/form-data`` body streamed to files under the data dir.

Each file part goes straight to its own file in a private folder (``RAG_DATA_DIR/uploads/…``)
as it arrives, counted: past ``RAG_MAX_UPLOAD_BYTES`` the reading stops at once (413). A file
type the readers do not take stops it at the part's headers (415), before any of its bytes are
read. Whatever happens, the folder is deleted when the request is done: what is kept is the
collection's own copy of each file it added (:class:`rag.collection.Collection`).

Starlette's form parser is not used: it spools every file, of any size, to the system's
temporary folder before the route runs. This one is the same python-multipart parser, fed
from the request stream, writing where and as much as we allow.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from rag.readers import SUFFIXES, DocumentTooLarge, UnsupportedFormat
from rag.schemas import DocumentFields

from .service import ServiceError

FILES = "files"  # the form field of the files (repeated for several)
MAX_FILES = 20  # per request
FIELD_MAX_BYTES = 2048  # a form field's value (a title is at most 200 characters)
HEADERS_ALLOWANCE = 64 * 1024  # multipart framing and fields, on top of the files' bytes
_FILENAME_STAR = re.compile(rb"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;\s]+)")


class MalformedUpload(ServiceError):
    """The body is not multipart/form-data, or not well-formed multipart (400 / 415)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """What a request sent: the files as stored (in the order sent) and the form fields."""

    paths: list[Path] = field(default_factory=list)
    fields: DocumentFields = field(default_factory=DocumentFields)


def safe_name(raw: str) -> str:
    """A file name from a client, as a plain name in one folder: no directories, no control
    characters, no leading dot, at most 100 characters of stem (the suffix is kept)."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    stem, suffix = os.path.splitext(name)
    return (stem.strip()[:100] or "upload") + suffix[:16]


class _Parts:
    """The parser's callbacks: file data queued for writing (in a worker thread), form
    fields collected (small), every limit checked as the bytes arrive."""

    def __init__(self, folder: Path, max_file_bytes: int) -> None:
        self.folder = folder
        self.max_file_bytes = max_file_bytes
        self.paths: list[Path] = []
        self.fields: dict[str, bytearray] = {}
        self._writes: list[tuple[IO[bytes], bytes]] = []
        self._done: list[IO[bytes]] = []
        self._open: list[IO[bytes]] = []
        self._headers: dict[bytes, bytes] = {}
        self._name, self._value = b"", b""
        self._file: IO[bytes] | None = None
        self._field: bytearray | None = None
        self._field_name = ""
        self._size = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add("_name", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _begin(self) -> None:
        self._headers, self._file, self._field, self._size = {}, None, None, 0

    def _header_end(self) -> None:
        self._headers[self._name.strip().lower()] = self._value.strip()
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILES:
            self._start_file(_filename(disposition, options))
        elif name in DocumentFields.model_fields:
            if name in self.fields:
                raise _invalid(name, "given twice")
            self._field = self.fields[name] = bytearray()
            self._field_name = name
        else:
            expected = ", ".join([FILES, *DocumentFields.model_fields])
            raise _invalid(name or "(no name)", f"unknown form field; expected {expected}")

    def _start_file(self, raw_name: str) -> None:
        name = safe_name(raw_name)
        if Path(name).suffix.lower() not in SUFFIXES:
            raise UnsupportedFormat(name)  # before any of its bytes are read
        if len(self.paths) >= MAX_FILES:
            raise _invalid(FILES, f"at most {MAX_FILES} files per upload")
        own = self.folder / str(len(self.paths))  # one folder per file: names may repeat
        own.mkdir()
        path = own / name
        self._file = path.open("wb")
        self._open.append(self._file)
        self.paths.append(path)

    def _data(self, data: bytes, start: int, end: int) -> None:
        piece = bytes(data[start:end])
        self._size += len(piece)
        if self._file is not None:
            if self._size > self.max_file_bytes:
                raise DocumentTooLarge(
                    self.paths[-1],
                    f"over the limit of {self.max_file_bytes:,} bytes (RAG_MAX_UPLOAD_BYTES); "
                    "reading stopped, nothing was kept",
                )
            self._writes.append((self._file, piece))
        elif self._field is not None:
            if self._size > FIELD_MAX_BYTES:
                raise _invalid(self._field_name, f"at most {FIELD_MAX_BYTES} bytes")
            self._field += piece

    def _end(self) -> None:
        if self._file is not None:
            self._done.append(self._file)
        self._file = self._field = None

    def flush(self) -> None:
        """Write the queued data and close the finished files (blocking: a worker thread)."""
        writes, done = self._writes, self._done
        self._writes, self._done = [], []
        for f, piece in writes:
            f.write(piece)
        for f in done:
            f.close()

    def close(self) -> None:
        for f in self._open:
            f.close()

    def form(self) -> DocumentFields:
        try:
            values = {k: v.decode("utf-8").strip() for k, v in self.fields.items()}
        except UnicodeDecodeError as exc:
            raise _invalid("form", "a form field is not UTF-8 text") from exc
        try:
            return DocumentFields.model_validate({k: v for k, v in values.items() if v})
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from exc


def _filename(disposition: bytes, options: dict[bytes, bytes]) -> str:
    if b"filename" in options:
        return options[b"filename"].decode("utf-8", "replace")
    star = _FILENAME_STAR.search(disposition)  # RFC 5987: filename*=UTF-8''%E6%BE%84…
    return unquote(star.group(1).decode("ascii", "replace")) if star else ""


def _invalid(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", name), "msg": message, "input": None}]
    )


@asynccontextmanager
async def receive(request: Request, root: Path, *, max_file_bytes: int) -> AsyncIterator[Upload]:
    """Stream the request's multipart body into a new folder under ``root``; the folder and
    everything in it is deleted when the ``async with`` block ends, however it ends."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        raise MalformedUpload(
            "send the files as multipart/form-data (field 'files', repeated for several; "
            "optional title, city, year) / 请以 multipart/form-data 上传",
            status=415,
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedUpload("multipart body without a boundary / 上传格式有误")
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    parts = _Parts(folder, max_file_bytes)
    bound = MAX_FILES * max_file_bytes + HEADERS_ALLOWANCE
    try:
        parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > bound:
                    raise DocumentTooLarge(
                        "upload", f"the request is over {bound:,} bytes; reading stopped"
                    )
                parser.write(chunk)
                await run_in_threadpool(parts.flush)
            parser.finalize()
        except FormParserError as exc:
            raise MalformedUpload(f"not well-formed multipart: {exc} / 上传格式有误") from exc
        await run_in_threadpool(parts.flush)
        parts.close()
        if not parts.paths:
            raise _invalid(FILES, "no file: send one or more files in the form field 'files'")
        form = parts.form()
        if form.title and len(parts.paths) > 1:
            raise _invalid("title", "title names one document; upload one file with it")
        yield Upload(parts.paths, form)
    finally:
        parts.close()
        await run_in_threadpool(shutil.rmtree, folder, True)
