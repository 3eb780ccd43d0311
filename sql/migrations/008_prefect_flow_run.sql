-- The Prefect flow run that made each run, so a row of `runs` leads to its logs and artifacts in
-- Prefect's UI (and back). Null for runs made outside Prefect (tests that call the tasks directly, the bench).
alter table runs add column prefect_flow_run_id varchar;
