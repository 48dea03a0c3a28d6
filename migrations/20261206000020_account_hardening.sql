-- Account hardening (issue 15: pre-hijack, tokens after a reset, sign-in and mail limits).

-- A bearer token can be listed and revoked one by one on the account page: an id to name it
-- by (the secret is never shown again) and a label (the client's user agent when it signed
-- in) so its owner can tell one from another.
alter table api_token add column api_token_id bigint generated always as identity;
alter table api_token add constraint api_token_id_key unique (api_token_id);
alter table api_token add column label text check (length(label) <= 200);

-- login_throttle now holds every windowed counter the web nodes share (a per-process map
-- would give each node behind the load balancer its own budget): failed sign-ins per
-- (email, address), per account, per address and per network, and mail or registrations
-- sent per address, per recipient and per network. The key says which: `login-account:…`,
-- `send-ip:…`, and so on. `last_at` is the latest counted try, so a counter that is hit
-- without pause never starts a fresh window.
alter table login_throttle add column last_at timestamptz not null default now();
create index login_throttle_last_idx on login_throttle (last_at);

-- Addresses an account signed in from with its password. The per-account limit (which an
-- attacker anywhere can run up) does not hold its owner back at one of these; the limits
-- per address and network still do.
create table sign_in_address (
    app_user_id bigint not null references app_user (app_user_id) on delete cascade,
    ip          inet not null,
    last_at     timestamptz not null default now(),
    primary key (app_user_id, ip)
);
