-- The hash-chained audit log. Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_roles TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    parameters TEXT NOT NULL,
    result TEXT NOT NULL,
    result_detail TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    origin TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);

CREATE INDEX audit_log_hash ON audit_log (hash);
CREATE INDEX audit_log_time ON audit_log (time);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
