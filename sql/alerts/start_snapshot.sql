-- Where detection starts (exclusive): the last snapshot it handled; on a lake
-- never handled, the snapshot that created the alerts tables (watching began
-- there); if maintenance expired that one, the snapshot before $to_snapshot.
select coalesce(
    (select max(snapshot_id) from alert_progress),
    (
        select max(snapshot_id) from lake.snapshots()
        where list_contains(changes['tables_created'], 'main.alert_progress')
    ),
    (select max(snapshot_id) from lake.snapshots() where snapshot_id < $to_snapshot)
) as snapshot_id
