"""Triage benchmark: full triage of tweet-sized texts in batches and one at a time, model load
time and the resident memory the models add. Prints one JSON document.

Full triage = encoder + both heads + hashed TF-IDF models + intents + language + PII + spam +
question, exactly what intake runs. Texts: the TweetEval validation tweets (../shared/data).
Each measurement runs in a fresh process, so load time and memory are cold figures. The
validation tweets are read over and over, so every word is in triage's caches after the first
pass; the `fresh_` figures then read TweetEval training tweets the process has never seen (for
three times `--seconds` at most), as a live desk does, with the memory after them.

    python bench/triage.py [--data ../shared/data] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, resource
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
before = rss_mb()
started = time.perf_counter()
from socialdesk.adapters.classifiers.triage import ModelTriage
from socialdesk.ml.datasets import sentiment_train, sentiment_validation
from pathlib import Path
custom = Path(sys.argv[4]) if len(sys.argv) > 4 else None
model = ModelTriage(custom=custom, threads=int(sys.argv[3]))
load_s = time.perf_counter() - started
loaded = rss_mb()
texts = sentiment_validation(Path(sys.argv[1])).texts
seconds = float(sys.argv[2])
model.classify(texts[:64])  # warm-up (and the custom model's encoder, when there is one)
done, started = 0, time.perf_counter()
while time.perf_counter() - started < seconds:
    for i in range(0, len(texts), 256):
        model.classify(texts[i:i + 256])
        done += len(texts[i:i + 256])
batch_rate = done / (time.perf_counter() - started)
done, started = 0, time.perf_counter()
while time.perf_counter() - started < seconds / 2:
    model.classify([texts[done % len(texts)]])
    done += 1
single_rate = done / (time.perf_counter() - started)
reading = rss_mb()
fresh = sentiment_train(Path(sys.argv[1])).texts
fresh_data = rss_mb() - reading  # the benchmark's own texts, not triage's memory
done, started = 0, time.perf_counter()
while done < len(fresh) and time.perf_counter() - started < 3 * seconds:
    model.classify(fresh[done:done + 256])
    done += len(fresh[done:done + 256])
fresh_rate = done / (time.perf_counter() - started)
print(json.dumps({
    "load_seconds": round(load_s, 2),
    "rss_before_mb": round(before), "rss_loaded_mb": round(loaded),
    "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "batch_texts_per_s": round(batch_rate), "single_texts_per_s": round(single_rate),
    "fresh_texts": done, "fresh_batch_texts_per_s": round(fresh_rate),
    "rss_after_fresh_mb": round(rss_mb()), "fresh_texts_data_mb": round(fresh_data),
    "texts": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts)),
    "model": model.version,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--custom",
        help="a directory with custom intents (`triage train-intents`), to measure with them",
    )
    args = parser.parse_args()
    extra = [args.custom] if args.custom else []
    out = subprocess.run(
        [sys.executable, "-c", CHILD, args.data, str(args.seconds), str(args.threads), *extra],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["added_rss_mb"] = result["rss_loaded_mb"] - result["rss_before_mb"]
    result["threads"] = args.threads
    result["custom_intents"] = bool(args.custom)
    print(json.dumps({"benchmark": "triage", **result}, indent=2))


if __name__ == "__main__":
    main()
