"""Prefect tasks wrapping the pure domain functions of groupops/."""
