-- Per journal and publication year: how many papers the lake holds, how many
-- citation statements they count, and how these split into supporting,
-- mentioning and contrasting, as counts and as shares of the classified ones.
-- The journal is the newest saved /papers response's (papers.journal): papers
-- without one are left out; year is the paper's publication year.
create or replace view journal_citation_profile as
with papers_in_journals as (
    select
        journal,
        year,
        doi,
        statement_count,
        coalesce(supporting, 0) as supporting,
        coalesce(mentioning, 0) as mentioning,
        coalesce(contrasting, 0) as contrasting,
        coalesce(unclassified, 0) as unclassified
    from papers
    where journal is not null
),

per_journal_year as (
    select
        journal,
        year,
        count(*) as papers,
        count(statement_count) as papers_with_counts,
        sum(statement_count) as statements,
        sum(supporting) as supporting,
        sum(mentioning) as mentioning,
        sum(contrasting) as contrasting,
        sum(unclassified) as unclassified,
        sum(supporting + mentioning + contrasting) as classified_count
    from papers_in_journals
    group by journal, year
),

final as (
    select
        journal,
        year,
        papers,
        papers_with_counts,
        statements,
        supporting,
        mentioning,
        contrasting,
        unclassified,
        supporting / nullif(classified_count, 0) as supporting_share,
        mentioning / nullif(classified_count, 0) as mentioning_share,
        contrasting / nullif(classified_count, 0) as contrasting_share
    from per_journal_year
)

select * from final
