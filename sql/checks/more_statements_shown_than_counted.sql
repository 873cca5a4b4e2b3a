-- Snapshots that show more distinct statements than the page says it counts.
with final as (
    select doi, source_sha256, statements_shown, statement_count
    from paper_snapshots
    where statements_shown > statement_count
)

select * from final
