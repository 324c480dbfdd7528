"""The shared text encoder: a fine-tuned MiniLM run by onnxruntime (int8), and its task heads.

One forward pass per text gives a sentence vector; small linear heads read sentiment and
needs-response from it, and custom intent models use it as features. Texts are tokenised with the
`tokenizers` library from the tokenizer file that ships beside the model, sorted by length and run
in batches, so short posts are not padded to the length of long ones. No torch at run time.
The int8 models quantise each layer's input with a scale fixed at export, not one worked out per
batch, so a text's vector (and its triage) does not depend on the texts batched with it
(`fix_activation_scales` in ml/encoder.py).

Every encoder in a process runs on one onnxruntime thread pool, sized by the first encoder made
(`threads`). With a pool per session, custom intents (two encoders a text) ran one text at a time
at 127 texts/s on two cores: after each run a session's threads keep spinning for work and take
the cores from the other session's; on one pool, 211 (Intel Xeon, 2026-12-05).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
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


def open_session(model: Path | bytes, threads: int) -> ort.InferenceSession:
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
    source = str(model) if isinstance(model, Path) else model  # a file, or a graph made in memory
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def load_tokenizer(spec: str) -> Tokenizer:
    """The tokenizer from its JSON, cutting texts at MAX_TOKENS and padding nothing (batches are
    padded by `padded_batches`)."""
    tokenizer = Tokenizer.from_str(spec)
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def token_ids(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids per text as the encoders read them: normalised as in training, an empty post as
    ".", [CLS] and [SEP] included. `encode_batch_fast` gives the same ids as `encode_batch`
    without working out each token's character offsets, which we never read: 52-58 -> 35-39 us
    a tweet (Intel Xeon, 2026-12-05)."""
    encodings = tokenizer.encode_batch_fast([normalise_for_model(t) or "." for t in texts])
    return [encoding.ids for encoding in encodings]


def padded_batches(
    tokens: list[list[int]],
) -> Iterator[tuple[list[int], dict[str, NDArray[np.int64]]]]:
    """The texts' positions and the encoder's inputs, BATCH texts at a time sorted by length, so
    short posts are not padded to the length of long ones."""
    order = sorted(range(len(tokens)), key=lambda i: len(tokens[i]))
    for start in range(0, len(order), BATCH):
        chunk = order[start : start + BATCH]
        width = len(tokens[chunk[-1]])  # the longest: sorted by length
        ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk):
            ids[row, : len(tokens[i])] = tokens[i]
            mask[row, : len(tokens[i])] = 1
        yield chunk, {"input_ids": ids, "attention_mask": mask}


class OnnxEncoder:
    def __init__(
        self, model_dir: Path, threads: int = 2, *, shares: OnnxEncoder | None = None
    ) -> None:
        """`shares`: an encoder already loaded whose tokenizer this one takes over when both ship
        the same tokenizer file (as the shipped two do): one copy in memory (8 MB), and the
        token ids `tokenize` gave for it serve this one too (custom intents no longer tokenise
        each text twice)."""
        meta = json.loads((model_dir / "encoder.json").read_text(encoding="utf-8"))
        self.version: str = meta["version"]
        self.dim: int = meta["dim"]
        spec = (model_dir / "tokenizer.json").read_bytes()
        self.tokenizer_digest = hashlib.sha256(spec).hexdigest()
        if shares is not None and shares.tokenizer_digest == self.tokenizer_digest:
            self.tokenizer: Tokenizer = shares.tokenizer
        else:
            self.tokenizer = load_tokenizer(spec.decode("utf-8"))
        self.session = open_session(model_dir / "encoder.onnx", threads)
        with np.load(model_dir / "heads.npz", allow_pickle=False) as heads:
            self.heads = {name: heads[name].astype(np.float32) for name in heads.files}

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, [CLS] and [SEP] included, at most MAX_TOKENS (`token_ids`)."""
        return token_ids(self.tokenizer, texts)

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Sentence vectors (mean of token states), one row per text, in the given order."""
        return self.embed_tokens(self.tokenize(texts))

    def embed_tokens(self, tokens: list[list[int]]) -> NDArray[np.float32]:
        """Sentence vectors of texts already tokenised by this encoder's tokenizer."""
        out = np.zeros((len(tokens), self.dim), dtype=np.float32)
        for chunk, inputs in padded_batches(tokens):
            (pooled,) = self.session.run(None, inputs)
            out[chunk] = pooled
        return out

    def head(self, name: str, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        """Class probabilities from one task head (weights `<name>_w`, bias `<name>_b`)."""
        return softmax(vectors @ self.heads[f"{name}_w"].T + self.heads[f"{name}_b"])
