-- Report delivery, recipient by recipient, with every hand-over recorded before it happens.

-- Who has the report, and who refused it for good: a report stays pending while anyone else is owed it.
alter table reports add column delivered_to varchar[];     -- recipients the SMTP server accepted it for
alter table reports add column refused_to varchar[];       -- recipients refused permanently (5xx): not retried
alter table reports add column claimed_by varchar;         -- who holds the lease (claimed_until): a flow run

-- An attempt's row is written before the message goes out (outcome 'sending': the intent, with the
-- Message-ID and the recipients it is handed to) and completed with the outcome, so a delivery whose
-- outcome could not be recorded still leaves its trace.
alter table report_attempts add column message_id varchar;
alter table report_attempts add column recipients varchar[];      -- those the message is handed to (RCPT accepted)
alter table report_attempts add column outcome varchar;           -- sending | delivered | failed | unknown
alter table report_attempts add column accepted varchar[];        -- the server took the message for these
alter table report_attempts add column deferred varchar[];        -- refused for now (4xx): retried
alter table report_attempts add column refused varchar[];         -- refused for good (5xx): reported, not retried
alter table report_attempts add column possible_duplicate boolean; -- an earlier hand-over's outcome is unknown
alter table report_attempts add column finished_at timestamptz;
