-- Passkeys leave the database in clear (issue 12): each is stored as its
-- SHA-256 and a copy sealed with a server key kept outside the database
-- (trackerd/src/accounts/passkeys.rs). SQL cannot seal, so the old clear
-- passkeys move to `legacy_passkey`, which trackerd seals and erases at
-- start; new rows never fill it. The table is rebuilt because a UNIQUE
-- column cannot be dropped. Migrations run on a connection with foreign
-- keys off (SqliteStore::open), so dropping the old table does not cascade
-- into sessions and memberships; the references are checked afterwards.
CREATE TABLE users_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    passkey_hash   TEXT UNIQUE CHECK (passkey_hash IS NULL OR length(passkey_hash) = 64),
    passkey_nonce  TEXT CHECK (passkey_nonce IS NULL OR length(passkey_nonce) = 32),
    passkey_sealed TEXT CHECK (passkey_sealed IS NULL OR length(passkey_sealed) = 32),
    legacy_passkey TEXT CHECK (legacy_passkey IS NULL OR length(legacy_passkey) = 32),
    created_at     INTEGER NOT NULL,
    uploaded       INTEGER NOT NULL DEFAULT 0,
    downloaded     INTEGER NOT NULL DEFAULT 0,
    CHECK (passkey_hash IS NOT NULL OR legacy_passkey IS NOT NULL)
);
INSERT INTO users_new (id, username, password_hash, legacy_passkey, created_at, uploaded, downloaded)
    SELECT id, username, password_hash, passkey, created_at, uploaded, downloaded FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
