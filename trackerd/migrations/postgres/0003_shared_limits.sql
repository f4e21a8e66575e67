-- Failed logins and registrations counted over every trackerd instance on
-- the database (issue 16 item 3): one row per place an attempt took in a
-- count (trackerd/src/store/limits.rs). A place is taken only after the
-- attempt passed every limit and got a place in the Argon2 queue of its
-- instance, so rows grow no faster than passwords are hashed, and each is
-- deleted once its window is over (`expires_at`).
CREATE TABLE rate_places (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    at         BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_places_by_key ON rate_places(scope, key, at);
CREATE INDEX rate_places_by_expiry ON rate_places(expires_at);
