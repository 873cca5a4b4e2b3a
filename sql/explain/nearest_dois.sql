-- DOIs in the lake that share the longest prefix with a DOI the lake does not
-- hold, at least up to its registrant (the part before the first '/').
with candidates as (
    select doi
    from papers
),

shared as (
    select
        doi,
        (
            select coalesce(max(i), 0)
            from range(1, least(length(doi), length($doi)) + 1) as lengths (i)
            where left(doi, cast(i as integer)) = left($doi, cast(i as integer))
        ) as shared_prefix
    from candidates
),

final as (
    select doi, shared_prefix
    from shared
    where shared_prefix >= greatest(strpos($doi, '/'), 1)
    order by shared_prefix desc, doi
    limit 5
)

select * from final
