-- Dashboard logins. Passwords are argon2id hashes (argon2-cffi), never clear text.
-- Published snapshots (what readers and visitors' SQL see) never carry this table:
-- the dashboard reads the names and hashes from a private file beside the snapshot.
CREATE TABLE users (
    name VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
