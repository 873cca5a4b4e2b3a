-- papers' bibliographic columns (journal, publisher, issns, type, authors)
-- from the newest stored API response that described the paper (by
-- the 2-second window of observed_at, then the larger source_sha256, as
-- docs/tables.md orders saves). A title or year the paper lacks is
-- taken from there, or, when its latest snapshot is an API tally (which names no
-- title), from its latest snapshot that had one (in the order of "latest",
-- tasks/reading/split.py). A paper known only from such a
-- response gets a row of its own (no counts, no statements shown) until a page or
-- a tally is stored. Its retracted, both sources combined, is
-- merge_papers_retracted.sql's. Runs after merge_papers.sql and insert_api_papers.sql,
-- for every paper the run touched that the lake knows from a saved API
-- response (a /papers response or a tally): for any other paper every value
-- below is its stored one, so it is left out (at a million pages of a lake of
-- pages alone this joined all 810k papers, for nothing).
merge into papers as target
using (
    -- Not materialized: with DuckDB 1.5.5 a MERGE whose source reads a
    -- materialized CTE (one referenced twice) fails with "Out of buffer".
    with touched as not materialized (
        select doi
        from (
            select doi from run_api_papers
            union
            select doi from run_papers
        )
        semi join (
            select doi from api_papers
            union all
            select doi from paper_snapshots where source = 'api'
        ) using (doi)
    ),

    latest_papers as not materialized (
        select api_papers.*
        from api_papers
        semi join touched using (doi)
        qualify row_number() over (
            partition by doi
            order by time_bucket(interval 2 second, observed_at) desc, source_sha256 desc
        ) = 1
    ),

    latest_is_api as not materialized (
        select papers.doi
        from papers
        semi join touched using (doi)
        semi join (select doi, source_sha256 from paper_snapshots where source = 'api') using (doi, source_sha256)
    ),

    titled as not materialized (
        select doi, title, year
        from paper_snapshots
        semi join latest_is_api using (doi)
        where title is not null
        qualify row_number() over (
            partition by doi
            order by
                time_bucket(interval 2 second, observed_at) desc,
                cited_by desc nulls last,
                statement_count desc nulls last,
                source desc nulls last,
                source_sha256 desc
        ) = 1
    ),

    candidates as not materialized (
        select
            touched.doi,
            stored.doi is not null as stored_exists,
            stored.title as stored_title,
            stored.year as stored_year,
            stored.journal as stored_journal,
            stored.publisher as stored_publisher,
            stored.issns as stored_issns,
            stored.type as stored_type,
            stored.authors as stored_authors,
            coalesce(stored.title, latest.title, titled.title) as title,
            coalesce(stored.year, latest.year, titled.year) as year,
            latest.journal,
            latest.publisher,
            latest.issns,
            latest.type,
            latest.authors,
            latest.observed_at,
            latest.source_sha256
        from touched
        left join papers as stored using (doi)
        left join latest_papers as latest using (doi)
        left join titled using (doi)
        where latest.doi is not null or stored.doi is not null
    ),

    final as (
        select * exclude (
            stored_exists, stored_title, stored_year, stored_journal, stored_publisher,
            stored_issns, stored_type, stored_authors
        )
        from candidates
        where not stored_exists
           or stored_title is distinct from title
           or stored_year is distinct from year
           or stored_journal is distinct from journal
           or stored_publisher is distinct from publisher
           or stored_issns is distinct from issns
           or stored_type is distinct from type
           or stored_authors is distinct from authors
    )

    select * from final
) as source
on target.doi = source.doi
when matched then update set
    title = source.title,
    year = source.year,
    journal = source.journal,
    publisher = source.publisher,
    issns = source.issns,
    type = source.type,
    authors = source.authors
when not matched then insert (
    doi, title, year, statements_shown, first_seen, last_seen, source_sha256,
    journal, publisher, issns, type, authors
) values (
    source.doi, source.title, source.year, 0, source.observed_at, source.observed_at, source.source_sha256,
    source.journal, source.publisher, source.issns, source.type, source.authors
)
