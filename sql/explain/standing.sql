-- Where the paper stands among the lake's papers: the percentile of its
-- contrasting and supporting shares (of the tallies' sum) among the other
-- papers with at least as many citation statements, and the lake's median shares.
-- One row per paper of $dois (a list of DOIs) that the lake holds with tallies.
with wanted as (
    select distinct unnest($dois) as doi
),

shares as (
    select
        doi,
        statement_count,
        supporting / nullif(supporting + mentioning + contrasting + unclassified, 0) as supporting_share,
        mentioning / nullif(supporting + mentioning + contrasting + unclassified, 0) as mentioning_share,
        contrasting / nullif(supporting + mentioning + contrasting + unclassified, 0) as contrasting_share,
        unclassified / nullif(supporting + mentioning + contrasting + unclassified, 0) as unclassified_share
    from papers
),

own as (
    select shares.*
    from shares
    join wanted on wanted.doi = shares.doi
    where shares.contrasting_share is not null
),

comparable as (
    select doi, statement_count, supporting_share, contrasting_share
    from shares
    where contrasting_share is not null
),

ranked as (
    select
        own.doi,
        count(peers.doi) as peer_papers,
        count(peers.doi) filter (where peers.contrasting_share < own.contrasting_share) as peers_lower_contrasting,
        count(peers.doi) filter (where peers.supporting_share < own.supporting_share) as peers_lower_supporting
    from own
    left join comparable as peers
        on peers.statement_count >= own.statement_count
       and peers.doi <> own.doi
    group by own.doi
),

lake_median as (
    select
        count(*) as lake_papers,
        round(100.0 * median(supporting_share), 1) as median_supporting_pct,
        round(100.0 * median(mentioning_share), 1) as median_mentioning_pct,
        round(100.0 * median(contrasting_share), 1) as median_contrasting_pct,
        round(100.0 * median(unclassified_share), 1) as median_unclassified_pct
    from shares
    where contrasting_share is not null
),

final as (
    select
        own.doi,
        own.statement_count,
        ranked.peer_papers,
        ranked.peers_lower_contrasting,
        ranked.peers_lower_supporting,
        round(100.0 * ranked.peers_lower_contrasting / nullif(ranked.peer_papers, 0), 1) as contrasting_percentile,
        round(100.0 * ranked.peers_lower_supporting / nullif(ranked.peer_papers, 0), 1) as supporting_percentile,
        lake_median.lake_papers,
        lake_median.median_supporting_pct,
        lake_median.median_mentioning_pct,
        lake_median.median_contrasting_pct,
        lake_median.median_unclassified_pct
    from own
    join ranked on ranked.doi = own.doi
    cross join lake_median
)

select * from final
