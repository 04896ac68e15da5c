"""The public shape of a library record, read from the record's attributes."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class RecordOut(BaseModel):
    """A model whose fields are attributes of a :mod:`rag.types` record of the same name:
    ``of(record)`` reads them (tuples become lists), so no field is listed twice."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, record: Any) -> Self:
        return cls.model_validate(record)
