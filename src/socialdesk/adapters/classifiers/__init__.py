"""Triage models behind the Classifier port: text models, language, PII, spam, intents."""

from pathlib import Path

BUILTIN_MODELS = Path(__file__).parent / "models"
CUSTOM_INTENTS = "intents"
