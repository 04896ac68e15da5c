"""Export a sentence-transformers model directory to ONNX (run as a child process).

``python -m rag.onnx_export MODEL_DIR OUT_DIR`` writes into ``OUT_DIR``:

- ``model.onnx``: the transformer, ``(inputs_embeds, attention_mask) -> last_hidden_state``,
  exported with ``torch.onnx.export`` (TorchScript exporter, opset 17, dynamic batch and
  sequence axes, eager attention);
- ``model-int8.onnx``: the same graph with its MatMul weights quantized to int8 per output
  channel (``onnxruntime.quantization.quantize_dynamic``);
- ``word_embeddings.npy``: the token-embedding table (float32), read row by row by
  :mod:`rag.onnx_engine`. It is 384 of the model's 470 MB and a query needs a few dozen of
  its 250,037 rows, so keeping it out of the graph keeps the server's memory small.

Mean pooling and normalization are not in the graph: the engine does them in numpy, like
sentence-transformers' Pooling and Normalize modules. This module imports torch; the engine
runs it in a child process (:func:`rag.onnx_engine.ensure_graph`) so that the serving process
never does. Before it returns, the graph is checked against torch on padded batches.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
GRAPH = "model.onnx"
GRAPH_INT8 = "model-int8.onnx"
WORD_EMBEDDINGS = "word_embeddings.npy"
# ONNX Runtime vs torch on the same inputs (fp32; the differences seen are ~1e-6)
MAX_ABS_DIFF = 1e-4


def transformer_dir(model_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The Hugging Face model inside a sentence-transformers directory and its ``model_args``."""
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    path = model_dir / modules[0].get("path", "")
    config = model_dir / "sentence_bert_config.json"
    args = json.loads(config.read_text(encoding="utf-8")) if config.exists() else {}
    return path, dict(args.get("model_args", {}))


def export(model_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write the three files to ``out_dir``; returns facts for the manifest."""
    import torch
    from transformers import AutoModel

    path, model_args = transformer_dir(model_dir)
    model = AutoModel.from_pretrained(path, attn_implementation="eager", **model_args)
    model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor):  # type: ignore[no-untyped-def]
            out = self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            return out.last_hidden_state

    table = model.get_input_embeddings().weight.detach().to(torch.float32)
    np.save(out_dir / WORD_EMBEDDINGS, table.numpy(), allow_pickle=False)
    # eval() on the wrapper too: export restores the wrapper's mode afterwards, and a
    # wrapper left in training mode would switch dropout on for the check below
    encoder = Encoder(model).eval()
    # a padded example, so that the attention-mask path is the one traced
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 5, 6, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode():
        torch.onnx.export(
            encoder,
            (table[ids], mask),
            str(out_dir / GRAPH),
            opset_version=OPSET,
            dynamo=False,
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"inputs_embeds": axes, "attention_mask": axes, "last_hidden_state": axes},
        )
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        out_dir / GRAPH, out_dir / GRAPH_INT8, weight_type=QuantType.QInt8, per_channel=True
    )
    diff = _check(encoder, table, out_dir / GRAPH)
    if diff > MAX_ABS_DIFF:
        raise RuntimeError(f"exported graph differs from torch by {diff:.2e} (> {MAX_ABS_DIFF})")
    import onnx
    import onnxruntime

    return {
        "opset": OPSET,
        "exporter": "torch.onnx.export (TorchScript), attn_implementation=eager",
        "hidden_size": int(table.shape[1]),
        "vocab_rows": int(table.shape[0]),
        "check_max_abs_diff": float(diff),
        "versions": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "int8": "quantize_dynamic(weight_type=QInt8, per_channel=True)",
    }


def _check(encoder: Any, table: Any, graph: Path) -> float:
    """Largest |ONNX Runtime - torch| over padded batches of two shapes not seen in tracing."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, width in ((3, 17), (1, 40)):
        ids = torch.from_numpy(rng.integers(5, table.shape[0], size=(batch, width)))
        mask = torch.ones(batch, width, dtype=torch.int64)
        mask[0, width // 2 :] = 0
        with torch.inference_mode():
            ref = encoder(table[ids], mask).numpy()
        got = session.run(
            None, {"inputs_embeds": table[ids].numpy(), "attention_mask": mask.numpy()}
        )[0]
        keep = mask.numpy().astype(bool)  # padded positions are never pooled
        worst = max(worst, float(np.abs(got - ref)[keep].max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    args = p.parse_args(argv)
    facts = export(args.model_dir, args.out_dir)
    print(json.dumps(facts))  # the last stdout line is read by the parent
    return 0


if __name__ == "__main__":
    sys.exit(main())
