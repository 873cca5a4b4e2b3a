-- Statements per type that pass the search filters, counted in SQL: what the
-- search index's facets must say for a term every statement holds. A NULL
-- parameter filters nothing; $types and $categories are lists (empty: all).
select statements.type, count(*) as statements
from statements
left join papers using (doi)
where (len($types) = 0 or list_contains($types, statements.type))
  and (len($categories) = 0 or list_contains($categories, statements.section_category))
  and ($year_from is null or papers.year >= $year_from)
  and ($year_to is null or papers.year <= $year_to)
  and ($min_confidence is null or statements.confidence >= $min_confidence)
  and ($doi is null or lower(statements.doi) = lower($doi))
group by all
order by all
