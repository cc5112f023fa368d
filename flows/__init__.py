"""Prefect flows: one per deployment (see prefect.yaml). Each body reads like a table of contents."""
