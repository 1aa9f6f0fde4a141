"""Scheduled and batch jobs (archive, retention, anonymization, export)."""
