"""Playbook file formats: text written by supervisors in, domain `Playbook` objects out."""

from socialdesk.adapters.playbooks.yaml_format import parse_playbook

__all__ = ["parse_playbook"]
