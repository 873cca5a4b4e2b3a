-- Watch the DOIs of wanted_dois (doi, label): a new DOI is inserted, a removed
-- one watched again (added_at anew), a watched one only takes a label given.
-- (DuckLake's MERGE takes one UPDATE action, hence the CASEs.)
merge into watchlist as target
using (
    select doi, any_value(label) as label from wanted_dois group by doi
) as source
on target.doi = source.doi
when matched and (target.removed_at is not null or (source.label is not null and source.label is distinct from target.label)) then
    update set
        added_at = case when target.removed_at is not null then $now else target.added_at end,
        removed_at = null,
        label = coalesce(source.label, target.label)
when not matched then
    insert (doi, label, added_at, removed_at) values (source.doi, source.label, $now, null)
