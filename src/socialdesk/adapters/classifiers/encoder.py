"""The shared text encoder: a fine-tuned MiniLM run by onnxruntime (int8), and its task heads.

One forward pass per text gives a sentence vector; small linear heads read sentiment and
needs-response from it, and custom intent models use it as features. Texts are tokenised with the
`tokenizers` library from the tokenizer file that ships beside the model, sorted by length and run
in batches, so short posts are not padded to the length of long ones. No torch at run time.

Every encoder in a process runs on one onnxruntime thread pool, sized by the first encoder made
(`threads`). With a pool per session, custom intents (two encoders a text) ran one text at a time
at 127 texts/s on two cores: after each run a session's threads keep spinning for work and take
the cores from the other session's; on one pool, 211 (Intel Xeon, 2026-12-05).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from tokenizers import Tokenizer

from socialdesk.adapters.classifiers.linear import softmax
from socialdesk.adapters.classifiers.normalise import normalise_for_model

MAX_TOKENS = 64
BATCH = 32  # measured fastest on 2 cores for tweet-sized texts sorted by length

_pool_lock = threading.Lock()
_pool_made = False


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    """An onnxruntime session on the process's shared thread pool, which the first call makes
    with `threads` (it cannot be resized), and on its shared memory arena. Every session in the
    process must come from here: once the pool exists, onnxruntime refuses a session with
    threads of its own.

    The arena is where a run's intermediate tensors live; each session would otherwise grow one
    of its own to fit its largest batch and keep it. One shared arena fits the larger of the
    two encoders' needs instead of both: with custom intents the process peaked 15 MB lower
    (335 -> 320 MB, Intel Xeon, 2026-12-05).
    """
    global _pool_made
    with _pool_lock:
        if not _pool_made:
            ort.set_global_thread_pool_sizes(threads, 1)
            cpu = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # 0 and -1: onnxruntime's defaults (no cap, doubling growth, default chunks)
            ort.create_and_register_allocator(cpu, ort.OrtArenaCfg(0, -1, -1, -1))
            _pool_made = True
    options = ort.SessionOptions()
    options.use_per_session_threads = False
    options.add_session_config_entry("session.use_env_allocators", "1")
    # A memory pattern is planned and kept per input shape, and every batch width is a new shape:
    # without them the process peaks 19 MB lower (40 with custom intents) at the same speed.
    options.enable_mem_pattern = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        meta = json.loads((model_dir / "encoder.json").read_text(encoding="utf-8"))
        self.version: str = meta["version"]
        self.dim: int = meta["dim"]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()
        self.session = open_session(model_dir / "encoder.onnx", threads)
        with np.load(model_dir / "heads.npz", allow_pickle=False) as heads:
            self.heads = {name: heads[name].astype(np.float32) for name in heads.files}

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Sentence vectors (mean of token states), one row per text, in the given order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([normalise_for_model(t) or "." for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            (pooled,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[chunk] = pooled
        return out

    def head(self, name: str, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        """Class probabilities from one task head (weights `<name>_w`, bias `<name>_b`)."""
        return softmax(vectors @ self.heads[f"{name}_w"].T + self.heads[f"{name}_b"])
