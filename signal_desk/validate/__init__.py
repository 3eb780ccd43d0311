"""Validation of what a run landed (GX suites in expectations/) and drift alarms per source."""
from signal_desk.validate.drift import DriftAlert, detect_drift
from signal_desk.validate.run import CriticalValidationError, ValidationSummary, summary_markdown, validate_run

__all__ = ["CriticalValidationError", "DriftAlert", "ValidationSummary", "detect_drift", "summary_markdown",
           "validate_run"]
