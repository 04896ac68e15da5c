"""Vector stores other than the FAISS files of :mod:`rag.index`: Milvus (``milvus``: the
collection, its client and search; ``milvus_index``: building, adding, removing, saving and
loading an index whose chunks live there)."""
