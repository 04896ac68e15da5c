"""The web layer: FastAPI routes and the Gradio chat, both thin over :mod:`rag`."""
