-- Per paper: how its citation statements split into supporting, mentioning and
-- contrasting, as counts and as shares of the classified statements.
create or replace view paper_citation_profile as
with tallies as (
    select
        doi,
        title,
        year,
        cited_by,
        statement_count,
        coalesce(supporting, 0) as supporting,
        coalesce(mentioning, 0) as mentioning,
        coalesce(contrasting, 0) as contrasting,
        coalesce(unclassified, 0) as unclassified,
        last_seen
    from papers
),

classified as (
    select
        *,
        supporting + mentioning + contrasting as classified_count
    from tallies
),

final as (
    select
        doi,
        title,
        year,
        cited_by,
        statement_count,
        supporting,
        mentioning,
        contrasting,
        unclassified,
        supporting / nullif(classified_count, 0) as supporting_share,
        mentioning / nullif(classified_count, 0) as mentioning_share,
        contrasting / nullif(classified_count, 0) as contrasting_share,
        last_seen
    from classified
)

select * from final
