"""Triage models behind the Classifier port: text models, language, PII, spam, intents."""

from pathlib import Path

BUILTIN_MODELS = Path(__file__).parent / "models"
# The unchanged all-MiniLM-L6-v2 (int8): sentence vectors for an organisation's own intents.
GENERAL_ENCODER = BUILTIN_MODELS / "general"
CUSTOM_INTENTS = "intents"
