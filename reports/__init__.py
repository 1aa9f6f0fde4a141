"""Report queries and renderers for compliance officers and analysts."""
