-- The authority's records (SQLite). Times are Unix seconds (UTC); serials upper-case hex.
-- PostgreSQL has the same schema in ../postgres/0001_schema.sql; keep them in step.

CREATE TABLE holders (
    id INTEGER PRIMARY KEY,
    -- HMAC-SHA256 of the national ID number with the key in the data directory, never the number.
    national_id_hash BLOB NOT NULL UNIQUE,
    -- YYYY-MM-DD (Gregorian).
    birthday TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    holder_id INTEGER NOT NULL REFERENCES holders (id),
    card_number TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('signature', 'encryption')),
    status TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'suspended')),
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    der BLOB NOT NULL,
    -- The renewal that issued this certificate; NULL for an original.
    issued_by_renewal_id INTEGER REFERENCES renewals (id),
    created_at INTEGER NOT NULL,
    -- A renewal issues one certificate of each role.
    UNIQUE (issued_by_renewal_id, role)
);
CREATE INDEX certificates_card_number ON certificates (card_number);

CREATE TABLE renewals (
    id INTEGER PRIMARY KEY,
    renewal_number TEXT NOT NULL UNIQUE,
    holder_id INTEGER NOT NULL REFERENCES holders (id),
    card_number TEXT NOT NULL,
    -- "Once only": each original certificate is renewed at most once, enforced here.
    original_signature_certificate_id INTEGER NOT NULL UNIQUE REFERENCES certificates (id),
    original_encryption_certificate_id INTEGER NOT NULL UNIQUE REFERENCES certificates (id),
    renewed_at INTEGER NOT NULL,
    completed_at INTEGER
);

CREATE TABLE challenges (
    id TEXT PRIMARY KEY,
    certificate_id INTEGER NOT NULL REFERENCES certificates (id),
    challenge BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    -- Keyed fingerprint of the request that used it: the same request again is a retry.
    request_fingerprint BLOB
);

CREATE TABLE identity_failures (
    certificate_id INTEGER PRIMARY KEY REFERENCES certificates (id),
    failures INTEGER NOT NULL,
    locked_until INTEGER
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    client TEXT,
    certificate_serial TEXT,
    renewal_number TEXT,
    detail TEXT NOT NULL
);

-- Append-only: the database itself refuses to change or remove an audit line.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
