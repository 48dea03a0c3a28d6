-- tus uploads: the state of each resumable upload, so that a resume works after a restart and
-- on another node. Bytes live in S3 (a multipart upload plus a temporary tail object); only
-- their bookkeeping lives here.

create type upload_status as enum
    ('active', 'completing', 'completed', 'expired', 'terminated', 'refused');

create table upload (
    upload_id        uuid primary key,
    owner_id         bigint not null references app_user (app_user_id) on delete cascade,
    entry_id         uuid not null references entry (entry_id) on delete cascade,
    -- The asset the upload becomes; its original's key is made from this id.
    media_asset_id   uuid not null unique,
    object_key       text not null,
    status           upload_status not null default 'active',
    upload_length    bigint not null check (upload_length >= 0),
    upload_offset    bigint not null default 0 check (upload_offset between 0 and upload_length),
    -- The kind sniffed from the first bytes; null until enough bytes arrived.
    kind             media_kind,
    content_type     text,
    filename         text check (length(filename) <= 255),
    filetype         text check (length(filetype) <= 255),
    metadata         text not null default '' check (length(metadata) <= 4096),
    s3_upload_id     text,
    -- Bytes [parts_bytes, upload_offset) sit in the temporary object tail_key.
    parts_bytes      bigint not null default 0,
    tail_key         text,
    -- SHA-256 over the bytes in finished parts (a resumable digest: 8 state words).
    sha256_state     bytea,
    sha256           text check (sha256 ~ '^[0-9a-f]{64}$'),
    -- A lease instead of a held row lock, so a PATCH does not pin a database connection.
    lock_token       uuid,
    locked_until     timestamptz,
    storage_cleaned  boolean not null default false,
    expires_at       timestamptz not null,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index upload_entry_idx on upload (entry_id);
create index upload_sweep_idx on upload (expires_at) where status in ('active', 'completing');
create index upload_cleanup_idx on upload (upload_id)
    where not storage_cleaned and status in ('expired', 'terminated', 'refused');
create trigger upload_updated_at before update on upload for each row execute function set_updated_at();

-- ETags of finished parts: s3s-fs does not return them in ListParts. Part numbers are 1..n.
create table upload_part (
    upload_id   uuid not null references upload (upload_id) on delete cascade,
    part_number integer not null check (part_number between 1 and 10000),
    etag        text not null,
    bytes       bigint not null check (bytes > 0),
    primary key (upload_id, part_number)
);
