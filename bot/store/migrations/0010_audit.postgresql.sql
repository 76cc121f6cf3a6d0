-- The hash-chained audit log. Append-only: triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    time DOUBLE PRECISION NOT NULL,
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

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
