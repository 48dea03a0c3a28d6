-- Delivery of the outbox over SMTP (SMTP_URL): a row stays 'pending' until a sender delivers
-- it ('sent'); failures are retried with back-off and end as 'failed' with their last error.
-- Expand only: older nodes keep inserting rows, which start as pending.
alter table outbox
    add column status text not null default 'pending'
        check (status in ('pending', 'sent', 'failed')),
    add column attempts integer not null default 0,
    add column next_attempt_at timestamptz not null default now(),
    add column last_error text;
create index outbox_pending_idx on outbox (next_attempt_at) where status = 'pending';
