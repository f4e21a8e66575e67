-- The dashboard's torrents table (issue 14) pages through the catalog
-- sorted by name, size or date; these indexes let SQLite walk the order
-- and stop after a page instead of sorting every entry.
CREATE INDEX catalog_by_added ON catalog(added_at, id);
CREATE INDEX catalog_by_name ON catalog(name, id);
CREATE INDEX catalog_by_size ON catalog(total_length, id);
-- A search counts its matches from this index alone, not the rows.
CREATE INDEX catalog_by_group_name ON catalog(group_id, name);
-- Sorting by swarm counts reads the info-hashes of the scopes from here.
CREATE INDEX catalog_by_group_hash ON catalog(group_id, info_hash);
