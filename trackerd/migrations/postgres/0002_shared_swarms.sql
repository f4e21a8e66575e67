-- Several trackerd instances as one tracker (issue 16, item 2).
--
-- Swarms stay in each instance's memory; what one instance's peers do
-- reaches the others through this table. Each instance writes its peers'
-- changes in batches (a row per peer of a swarm, the last change wins)
-- and reads the others' rows after the last `seq` it applied. UNLOGGED:
-- peers are soft state that every live peer re-announces within its
-- expiry, so a table emptied by a crash of PostgreSQL refills by itself,
-- and writing it costs no WAL. A `stopped` peer stays as a tombstone row
-- until it expires, so a reader that resyncs still learns of it.
CREATE UNLOGGED TABLE swarm_peers (
    -- The torrent (20 bytes), and whether the peer is in the swarm where
    -- non-members of a group torrent go (trackerd/src/outsiders.rs), which
    -- each instance keys with a secret of its own.
    info_hash  BYTEA NOT NULL CHECK (length(info_hash) = 20),
    outsider   BOOLEAN NOT NULL,
    peer_id    BYTEA NOT NULL CHECK (length(peer_id) = 20),
    -- The instance that wrote the row (random per start).
    instance   BIGINT NOT NULL,
    -- 4 or 16 bytes.
    ip         BYTEA NOT NULL CHECK (length(ip) IN (4, 16)),
    port       INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
    seeder     BOOLEAN NOT NULL,
    stopped    BOOLEAN NOT NULL,
    -- The change counted a completed download on its instance.
    completed  BOOLEAN NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- Handed out under an advisory lock held until commit
    -- (PgStore::write_peers), so rows commit in `seq` order and a reader
    -- that resumes after a `seq` misses none.
    seq        BIGINT NOT NULL,
    PRIMARY KEY (info_hash, outsider, peer_id)
);
CREATE INDEX swarm_peers_by_seq ON swarm_peers(seq);
CREATE INDEX swarm_peers_by_expiry ON swarm_peers(expires_at);
CREATE SEQUENCE swarm_peers_seq;

-- What the announce index of every instance is built from (passkeys,
-- groups and their members, owners of published torrents, registered
-- torrents): a change to any of it, whichever instance makes it, wakes
-- every instance (NOTIFY, delivered at commit) to read the index again.
CREATE FUNCTION trackerd_index_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('trackerd_index', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER users_index AFTER INSERT OR DELETE OR UPDATE OF passkey_hash, username
    ON users FOR EACH STATEMENT EXECUTE FUNCTION trackerd_index_changed();
CREATE TRIGGER groups_index AFTER INSERT OR DELETE OR UPDATE
    ON groups FOR EACH STATEMENT EXECUTE FUNCTION trackerd_index_changed();
CREATE TRIGGER group_members_index AFTER INSERT OR DELETE OR UPDATE
    ON group_members FOR EACH STATEMENT EXECUTE FUNCTION trackerd_index_changed();
CREATE TRIGGER torrent_owners_index AFTER INSERT OR DELETE OR UPDATE
    ON torrent_owners FOR EACH STATEMENT EXECUTE FUNCTION trackerd_index_changed();
CREATE TRIGGER catalog_index AFTER INSERT OR DELETE OR UPDATE OF group_id, info_hash
    ON catalog FOR EACH STATEMENT EXECUTE FUNCTION trackerd_index_changed();
CREATE TRIGGER torrents_index AFTER INSERT OR DELETE
    ON torrents FOR EACH STATEMENT EXECUTE FUNCTION trackerd_index_changed();
