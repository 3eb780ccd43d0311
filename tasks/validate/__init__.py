"""Validation of what a run landed (GX suites in expectations/) and drift alarms per source."""
from tasks.validate.drift import DriftAlert, detect_drift
from tasks.validate.run import CriticalValidationError, ValidationSummary, summary_markdown, validate_run

__all__ = ["CriticalValidationError", "DriftAlert", "ValidationSummary", "detect_drift", "summary_markdown",
           "validate_run"]
