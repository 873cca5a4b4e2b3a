-- What the counts are: publications citing the paper, citation statements,
-- how many of those statements the lake holds, references (latest page), and
-- the latest page that quotes statements (the latest may be an API tally, which
-- quotes none). One row per paper of $dois (a list of DOIs) that the lake holds.
with wanted as (
    select distinct unnest($dois) as doi
),

paper as (
    select papers.doi, title, year, cited_by, statement_count, reference_count, statements_shown,
           citing_year_min, citing_year_max
    from papers
    join wanted on wanted.doi = papers.doi
),

held as (
    select statements.doi, count(*) as statements_held
    from statements
    join wanted on wanted.doi = statements.doi
    group by statements.doi
),

quoting as (
    select
        paper_snapshots.doi,
        observed_at,
        statements_shown,
        -- the lake's order of "latest", newest first (tasks/reading/split.py, docs/tables.md)
        row_number() over (
            partition by paper_snapshots.doi
            order by
                time_bucket(interval 2 second, observed_at) desc,
                cited_by desc nulls last,
                statement_count desc nulls last,
                source desc nulls last,
                source_sha256 desc
        ) as recency
    from paper_snapshots
    join wanted on wanted.doi = paper_snapshots.doi
    where statements_shown > 0
),

last_quoting as (
    select doi, cast(observed_at as date) as last_quoted_on, statements_shown as last_quoted
    from quoting
    where recency = 1
),

final as (
    select
        paper.doi,
        paper.title,
        paper.year,
        paper.cited_by,
        paper.statement_count,
        coalesce(held.statements_held, 0) as statements_held,
        paper.statements_shown,
        last_quoting.last_quoted_on,
        last_quoting.last_quoted,
        paper.reference_count,
        paper.citing_year_min,
        paper.citing_year_max
    from paper
    left join held on held.doi = paper.doi
    left join last_quoting on last_quoting.doi = paper.doi
)

select * from final
