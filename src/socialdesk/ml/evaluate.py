"""Metrics for triage tasks: macro-recall, macro-F1, accuracy and a confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score


@dataclass(frozen=True)
class Report:
    task: str
    n: int
    macro_recall: float
    macro_f1: float
    accuracy: float
    labels: list[str]
    confusion: list[list[int]]

    def as_dict(self) -> dict[str, object]:
        return {
            "task": self.task,
            "n": self.n,
            "macro_recall": round(self.macro_recall, 4),
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "labels": self.labels,
            "confusion": self.confusion,
        }

    def table(self) -> str:
        width = max(8, *(len(label) for label in self.labels)) + 2
        lines = [
            f"{self.task}: n={self.n}  macro-recall {100 * self.macro_recall:.2f}  "
            f"macro-F1 {100 * self.macro_f1:.2f}  accuracy {100 * self.accuracy:.2f}",
            "confusion (rows: true, columns: predicted)",
            " " * width + "".join(label[: width - 1].rjust(width) for label in self.labels),
        ]
        for label, row in zip(self.labels, self.confusion, strict=True):
            lines.append(
                label[: width - 1].ljust(width) + "".join(str(v).rjust(width) for v in row)
            )
        return "\n".join(lines)


def report(task: str, truth: list[str], predicted: list[str]) -> Report:
    labels = sorted(set(truth) | set(predicted))
    return Report(
        task=task,
        n=len(truth),
        macro_recall=float(
            recall_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        ),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        accuracy=float(accuracy_score(truth, predicted)),
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
    )
