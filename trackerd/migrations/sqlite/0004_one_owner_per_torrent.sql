-- Issue 12: a torrent published into a group stays that group's.
--
-- One catalog entry per info-hash. Where earlier versions let the same
-- info-hash into several scopes, the first publication is kept: the later
-- ones are the re-publications this forbids.
DELETE FROM catalog WHERE id NOT IN (SELECT min(id) FROM catalog GROUP BY info_hash);
CREATE UNIQUE INDEX catalog_one_entry_per_torrent ON catalog(info_hash);

-- The group that owns each info-hash ever published into a group. Kept
-- after a withdrawal and after the group is deleted (group ids are never
-- reused), so the group's swarm is never reopened to anyone else.
CREATE TABLE torrent_owners (
    info_hash  TEXT PRIMARY KEY NOT NULL CHECK (length(info_hash) = 40),
    group_id   INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL
);
INSERT INTO torrent_owners (info_hash, group_id, claimed_at)
    SELECT info_hash, group_id, added_at FROM catalog WHERE group_id <> 0;

-- Events are bound to the group's id, not its name, so a group made again
-- under a deleted group's name does not inherit its events. Earlier events
-- name the live group only if they happened after it was created; events
-- of deleted groups get no id and are shown to no one but the operator.
ALTER TABLE events ADD COLUMN group_id INTEGER;
UPDATE events SET group_id = (
    SELECT g.id FROM groups g WHERE g.name = events.group_name AND g.created_at <= events.at
) WHERE group_name IS NOT NULL;

-- Traffic in torrents no group owns, per user: what other users are shown
-- of someone's traffic (their totals include private groups). Counted from
-- this version on.
CREATE TABLE public_traffic (
    user_id    INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uploaded   INTEGER NOT NULL DEFAULT 0,
    downloaded INTEGER NOT NULL DEFAULT 0
);

-- Per-user quotas count a publisher's entries and bytes.
CREATE INDEX catalog_by_publisher ON catalog(publisher_id);
CREATE INDEX groups_by_owner ON groups(owner_id);
