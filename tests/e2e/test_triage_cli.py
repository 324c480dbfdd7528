"""`socialdesk triage predict | evaluate | train-intents` as people run them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from socialdesk.cli import app


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env or {})
    return result.exit_code, result.output


def test_predict_text_lines_in_order(tmp_path: Path) -> None:
    source = tmp_path / "posts.txt"
    lines = ["@brand my order never came!!", "", "😡😡😡", "thanks, great help", "a" * 65536]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "triage.jsonl"
    code, output = run("triage", "predict", "--input", str(source), "--output", str(out))
    assert code == 0, output
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == len(lines)
    for result in results:
        for key in (
            "sentiment",
            "needs_response",
            "needs_response_p",
            "intent",
            "language",
            "pii",
            "priority",
            "priority_factors",
        ):
            assert key in result
    assert results[0]["needs_response"] is True
    assert results[0]["priority"] > results[3]["priority"]


def test_predict_csv_with_a_text_column(tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_text('id,text\n1,"call me on +1 415 555 0132, order #AB-12345"\n2,hello\n')
    out = tmp_path / "out.jsonl"
    code, output = run("triage", "predict", "--input", str(source), "--output", str(out))
    assert code == 0, output
    first = json.loads(out.read_text().splitlines()[0])
    assert {p["kind"] for p in first["pii"]} == {"phone", "order_number"}
    assert all("0132" not in p["masked"][:-4] for p in first["pii"])


def test_predict_names_the_bad_line_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "posts.txt"
    source.write_bytes(b"fine\nalso fine\nbroken \xff\xfe here\n")
    out = tmp_path / "out.jsonl"
    code, output = run("triage", "predict", "--input", str(source), "--output", str(out))
    assert code == 2
    assert "line 3: not valid UTF-8" in output
    assert not out.exists()
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("id,body\n1,hello\n")
    code, output = run("triage", "predict", "--input", str(bad_csv), "--output", str(out))
    assert (code, "line 1: no text column" in output) == (2, True)
    code, output = run(
        "triage", "predict", "--input", str(tmp_path / "missing.txt"), "--output", str(out)
    )
    assert code == 2
    assert "does not exist" in output


def test_evaluate_prints_metrics_and_a_confusion_matrix(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "text,label\n"
        '"I hate this, worst service ever",0\n'
        '"ok I guess",1\n'
        '"love it, thanks!",2\n'
        '"my parcel is lost and nobody answers",negative\n'
    )
    code, output = run("triage", "evaluate", "--task", "sentiment", "--input", str(labelled))
    assert code == 0, output
    assert "macro-recall" in output
    assert "macro-F1" in output
    assert "confusion" in output
    code, output = run(
        "triage", "evaluate", "--task", "sentiment", "--input", str(labelled), "--json"
    )
    report = json.loads(output.strip().splitlines()[-1])
    assert report["n"] == 4
    assert report["labels"] == ["negative", "neutral", "positive"]


def test_evaluate_refuses_unknown_labels_with_the_line(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("text,label\nfine,1\nbad,maybe\n")
    code, output = run("triage", "evaluate", "--task", "needs_response", "--input", str(labelled))
    assert code == 2
    assert "line 3" in output


def test_train_intents_then_predict_uses_them(tmp_path: Path) -> None:
    examples = tmp_path / "intents.csv"
    rows = ["text,category"]
    for i in range(10):
        rows += [
            f"my card has still not arrived {i},card_arrival",
            f"how do I top up by bank transfer {i},top_up",
            f"the app shows a wrong exchange rate {i},exchange_rate",
        ]
    examples.write_text("\n".join(rows) + "\n")
    env = {"SOCIALDESK_MODEL_DIR": str(tmp_path / "models")}
    code, output = run("triage", "train-intents", "--input", str(examples), env=env)
    assert code == 0, output
    assert '"categories": 3' in output
    source = tmp_path / "q.txt"
    source.write_text("where is my new card? it has not arrived\n")
    out = tmp_path / "out.jsonl"
    code, output = run("triage", "predict", "--input", str(source), "--output", str(out), env=env)
    assert code == 0, output
    assert json.loads(out.read_text())["intent"] == "card_arrival"


def test_train_intents_refuses_thin_or_malformed_files(tmp_path: Path) -> None:
    thin = tmp_path / "thin.csv"
    thin.write_text("text,category\na,x\nb,y\nc,y\n")
    code, output = run("triage", "train-intents", "--input", str(thin))
    assert code == 2
    assert "too few for: x" in output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("sentence,label\na,x\n")
    code, output = run("triage", "train-intents", "--input", str(wrong))
    assert code == 2
    assert "needs the columns text and category" in output
