-- Shared swarms, cheaper (issue 16): each batch of an instance's peer
-- changes is one row (trackerd/src/store/postgres/change_batch.rs packs
-- the changes in it), appended, instead of an upsert of one row per peer.
-- An upsert of a row per change touched three indexes and left a dead
-- tuple per change; an append touches one index once per batch. Readers
-- still read the rows after the last `seq` they applied and apply the
-- changes in order, so the last change of a peer wins as before; a reader
-- that resyncs reads every row kept. Every change of a row expires with
-- the row (`announce.peer_timeout_secs` after it was written). UNLOGGED
-- for the same reason as before: peers are soft state that live peers
-- re-announce. Rows of `swarm_peers` are not carried over: an instance
-- that reads the new table after an upgrade learns each peer at its next
-- announce (all instances of a database are upgraded together).
DROP TABLE swarm_peers;
DROP SEQUENCE swarm_peers_seq;
CREATE UNLOGGED TABLE swarm_batches (
    -- Handed out under an advisory lock held until commit
    -- (PgStore::write_peers), so rows commit in `seq` order and a reader
    -- that resumes after a `seq` misses none.
    seq        BIGINT PRIMARY KEY,
    -- The instance that wrote the row (random per start).
    instance   BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- A format byte, then 59 bytes per change.
    changes    BYTEA NOT NULL CHECK (length(changes) % 59 = 1)
);
-- Peer ids and addresses do not compress: skip the attempt.
ALTER TABLE swarm_batches ALTER COLUMN changes SET STORAGE EXTERNAL;
CREATE SEQUENCE swarm_batches_seq;
