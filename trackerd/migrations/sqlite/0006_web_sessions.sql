-- Browser sessions of the web dashboard (issue 14), apart from the one
-- session per user that daemons hold (table sessions): logging in from a
-- browser does not end a daemon's session. Tokens are stored as SHA-256.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions(user_id, created_at);
