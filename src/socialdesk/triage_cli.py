"""`socialdesk triage …`: predict, evaluate, train the shipped models, train custom intents.

Input files are read strictly and line by line: a file that cannot be used says which line is
wrong (and why) and nothing is written.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from socialdesk.adapters.classifiers import BUILTIN_MODELS, GENERAL_ENCODER
from socialdesk.config import Settings
from socialdesk.domain.triage import (
    PriorityContext,
    PriorityWeights,
    TextSignals,
    priority_to_json,
    score_priority,
    signals_to_json,
)

app = typer.Typer(
    help="Triage models: predict, evaluate, train, train-intents.", no_args_is_help=True
)
err = Console(stderr=True)
BATCH = 256
TEXT_COLUMNS = ("text", "message", "tweet")
LABEL_COLUMNS = ("label", "category", "sentiment", "intent", "needs_response", "complaint")


class BadInput(Exception):
    """The input file cannot be used; the message names the line."""


def _fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(2)


def _classifier() -> Any:
    from socialdesk.adapters.classifiers.language import DEFAULT_LANGUAGES
    from socialdesk.adapters.classifiers.triage import ModelTriage

    s = Settings()
    return ModelTriage(
        custom=s.model_dir,
        pii_patterns=s.pii_patterns,
        pii_region=s.pii_region,
        languages=tuple(s.triage_languages) or DEFAULT_LANGUAGES,
        threads=s.triage_threads,
    )


def read_texts(path: Path) -> Iterator[str]:
    """Messages from a CSV with a text column, or one per line of a text file."""
    with path.open("rb") as probe:
        head = probe.read(4096)
    first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lower()
    is_csv = path.suffix.lower() in (".csv", ".tsv") or any(
        first_line == c or first_line.startswith((f"{c},", f"{c}\t")) or f",{c}" in first_line
        for c in TEXT_COLUMNS
    )
    if is_csv:
        for _, row in _rows(path):
            yield row["text"]
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInput(f"{path}, line {number}: not valid UTF-8 ({exc.reason})") from exc
            yield line.rstrip("\r\n")


def _rows(path: Path, labels: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        handle = path.open(encoding="utf-8", newline="")
        with handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            fields = [f.strip().lower() for f in reader.fieldnames or []]
            text = next((f for f in TEXT_COLUMNS if f in fields), None)
            if text is None:
                raise BadInput(
                    f"{path}, line 1: no text column (expected one of {', '.join(TEXT_COLUMNS)})"
                )
            label = next((f for f in LABEL_COLUMNS if f in fields), None)
            if labels and label is None:
                raise BadInput(
                    f"{path}, line 1: no label column (expected one of {', '.join(LABEL_COLUMNS)})"
                )
            reader.fieldnames = fields
            for row in reader:
                if None in row or row.get(text) is None:
                    raise BadInput(f"{path}, line {reader.line_num}: wrong number of fields")
                yield (
                    reader.line_num,
                    {"text": row[text], "label": (row.get(label or "") or "").strip()},
                )
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not valid UTF-8 near byte {exc.start} ({exc.reason})") from exc
    except csv.Error as exc:
        raise BadInput(f"{path}: malformed CSV ({exc})") from exc


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def result_record(signals: TextSignals, weights: PriorityWeights) -> dict[str, Any]:
    priority = score_priority(signals, PriorityContext(), weights)
    record = signals_to_json(signals)
    record["priority"] = priority.score
    record["priority_factors"] = priority_to_json(priority)["factors"]
    return record


@app.command()
def predict(
    input_: Annotated[
        Path,
        typer.Option(
            "--input",
            help="text file (one message per line) or CSV with a text column",
            exists=True,
            dir_okay=False,
        ),
    ],
    output: Annotated[Path, typer.Option(help="JSON Lines: one result per input, in order")],
) -> None:
    """Triage every message of a file: sentiment, needs response, intent, language, PII, spam,
    priority (without author or waiting-time context)."""
    settings = Settings()
    weights = PriorityWeights.from_mapping(settings.priority_weights)
    try:
        texts = list(read_texts(input_))
    except BadInput as exc:
        raise _fail(str(exc)) from exc
    classifier = _classifier()
    temporary = output.with_name(output.name + ".partial")
    with temporary.open("w", encoding="utf-8") as out, _progress() as progress:
        task = progress.add_task("triage", total=len(texts))
        for start in range(0, len(texts), BATCH):
            for signals in classifier.classify(texts[start : start + BATCH]):
                out.write(json.dumps(result_record(signals, weights), ensure_ascii=False) + "\n")
            progress.advance(task, min(BATCH, len(texts) - start))
    temporary.replace(output)
    print(f"{len(texts):,} messages triaged into {output} (model {classifier.version})")


class Task(StrEnum):
    sentiment = "sentiment"
    needs_response = "needs_response"
    intent = "intent"


SENTIMENT_NAMES = {
    "0": "negative",
    "1": "neutral",
    "2": "positive",
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
    "-1": "negative",
}
YES = {"1", "yes", "true", "y", "complaint"}
NO = {"0", "no", "false", "n", "not_complaint", "non-complaint"}


def _truth(task: Task, raw: str, where: str) -> str:
    value = raw.strip().lower()
    if task is Task.sentiment:
        if value not in SENTIMENT_NAMES:
            raise BadInput(
                f"{where}: sentiment label {raw!r} is not negative/neutral/positive or 0/1/2"
            )
        return SENTIMENT_NAMES[value]
    if task is Task.needs_response:
        if value in YES:
            return "yes"
        if value in NO:
            return "no"
        raise BadInput(f"{where}: needs-response label {raw!r} is not 1/0, yes/no or true/false")
    if not raw.strip():
        raise BadInput(f"{where}: empty intent label")
    return raw.strip()


def _labelled(task: Task, path: Path, labels: Path | None) -> tuple[list[str], list[str]]:
    if labels is not None:
        texts = list(read_texts(path))
        with labels.open(encoding="utf-8") as handle:
            truth = [
                _truth(task, line, f"{labels}, line {n}") for n, line in enumerate(handle, start=1)
            ]
        if len(truth) != len(texts):
            raise BadInput(f"{path} has {len(texts)} lines but {labels} has {len(truth)}")
        return texts, truth
    texts, truth = [], []
    for line, row in _rows(path, labels=True):
        texts.append(row["text"])
        truth.append(_truth(task, row["label"], f"{path}, line {line}"))
    return texts, truth


@app.command()
def evaluate(
    task: Annotated[Task, typer.Option(help="sentiment, needs_response or intent")],
    input_: Annotated[
        Path,
        typer.Option(
            "--input",
            help="CSV/TSV with text and label columns, or a text file with --labels",
            exists=True,
            dir_okay=False,
        ),
    ],
    labels: Annotated[
        Path | None,
        typer.Option(
            help="one label per line, matching a text file's lines", exists=True, dir_okay=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Score the models on labelled messages: macro-recall, macro-F1, accuracy, confusion matrix."""
    from socialdesk.ml.evaluate import report

    try:
        texts, truth = _labelled(task, input_, labels)
    except BadInput as exc:
        raise _fail(str(exc)) from exc
    classifier = _classifier()
    predicted: list[str] = []
    with _progress() as progress:
        bar = progress.add_task("evaluate", total=len(texts))
        for start in range(0, len(texts), BATCH):
            for s in classifier.classify(texts[start : start + BATCH]):
                if task is Task.sentiment:
                    predicted.append(s.sentiment)
                elif task is Task.needs_response:
                    predicted.append("yes" if s.needs_response else "no")
                else:
                    predicted.append(s.intent)
            progress.advance(bar, min(BATCH, len(texts) - start))
    result = report(task.value, truth, predicted)
    print(json.dumps(result.as_dict()) if as_json else result.table())


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="the shared data folder")] = Path("../shared/data"),
    out: Annotated[Path, typer.Option(help="where the model files go")] = BUILTIN_MODELS,
    seed: Annotated[int, typer.Option(help="random seed")] = 13,
    layers: Annotated[
        int, typer.Option(min=1, max=6, help="encoder layers kept of MiniLM's 6")
    ] = 3,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for training")] = 2,
    reuse_encoder: Annotated[
        bool,
        typer.Option(
            help="keep the encoder already in --out; retrain the TF-IDF models and retune"
        ),
    ] = False,
) -> None:
    """Rebuild the shipped models from the shared data (needs the ml extra: torch, transformers)."""
    try:
        from socialdesk.ml.train import train_all
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise _fail(f"training needs the ml extra: pip install 'socialdesk[ml]' ({exc})") from exc
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        card = train_all(
            data,
            out,
            seed=seed,
            layers=layers,
            threads=threads,
            progress=tick,
            reuse_encoder=reuse_encoder,
        )
    print(json.dumps(card, indent=2))


@app.command("train-intents")
def train_intents_command(
    input_: Annotated[
        Path,
        typer.Option(
            "--input", help="CSV with text and category columns", exists=True, dir_okay=False
        ),
    ],
) -> None:
    """Train the organisation's own intents; `predict` and intake use them from now on."""
    from socialdesk.adapters.classifiers.encoder import OnnxEncoder
    from socialdesk.ml.datasets import intents_csv
    from socialdesk.ml.intents import train_intents

    settings = Settings()
    try:
        examples = intents_csv(input_)
        meta = train_intents(
            examples,
            OnnxEncoder(GENERAL_ENCODER, threads=settings.triage_threads),
            settings.model_dir,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{input_} is not valid UTF-8 near byte {exc.start} ({exc.reason})") from exc
    print(json.dumps(meta, indent=2))
    print(f"custom intents saved in {settings.model_dir}")
