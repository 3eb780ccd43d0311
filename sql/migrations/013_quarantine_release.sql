-- A row validation set aside stays out of staging until a later change of it passes validation: that
-- run releases it. The entry stays as the record of what was wrong and when.
alter table quarantine add column released_run_id varchar;
