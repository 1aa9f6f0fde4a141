"""Compliance: encryption at rest, key management, the access audit log, retention and anonymization."""
