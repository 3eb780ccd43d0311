"""Great Expectations over a run's rows: failing rows are quarantined, a critical failure fails the run."""
from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from signal_desk import db, landing
from signal_desk.config import Config

VALIDATE_TIMEOUT_S = 20 * 60     # Great Expectations starts slowly (about 10 s) before it reads anything


@task(name="validate", cache_policy=NO_CACHE, timeout_seconds=VALIDATE_TIMEOUT_S)
def validate_task(cfg: Config, db_path: str, run_id: str, as_of: datetime | None, *, drift: bool = True) -> dict:
    """Validate this run's rows; with `drift`, also compare each source's volume with its history (a
    backfill leaves it off: its volume says nothing about a source's health). A critical failure is
    recorded first, then fails the run."""
    from signal_desk.validate.drift import detect_drift
    from signal_desk.validate.run import gx_validator, summary_markdown, validate_run
    log = get_run_logger()
    gx_validator()   # import GX and build the context before taking the write lock
    sources = [s.model_dump() for s in cfg.sources_file.sources]
    alerts = []
    with db.writer(db_path) as con:
        # Each commits its own transaction and replaces what an earlier attempt for this run recorded.
        summary = db.retrying_conflicts(lambda: validate_run(con, run_id, now=as_of or db.utcnow(), sources=sources),
                                        what="recording validation")
        if drift:
            alerts = db.retrying_conflicts(lambda: detect_drift(con, run_id, now=as_of), what="recording drift")
        by_source = landing.quarantined_by_source(con, run_id, "validate")
    log.info("validated %s; %d rows quarantined, %d critical failures, %d warnings%s",
             ", ".join(f"{n} {t}" for t, n in summary.as_dict()["rows"].items()) or "no rows",
             summary.quarantined, len(summary.critical), len(summary.warnings),
             f", {len(alerts)} drift alerts" if drift else "")
    for alert in alerts:
        log.warning("drift: %s", alert)
    for line in summary.warnings:
        log.warning("validation: %s", line)
    result = summary.as_dict()
    if drift:
        create_markdown_artifact(summary_markdown(summary), key="hourly-validation",
                                 description=f"validation of run {run_id}")
        result["drift_alerts"] = [str(a) for a in alerts]
    result["quarantined_by_source"] = by_source
    if summary.critical:
        for line in summary.critical:
            log.error("validation (critical): %s", line)
        summary.raise_for_critical()
    return result
