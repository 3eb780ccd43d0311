-- The run that last landed a change to an item: its first landing, or any column that changed since.
-- Validation checks these rows only; an item seen again unchanged was checked when it last changed.
alter table items add column changed_run_id varchar;
update items set changed_run_id = last_run_id;
