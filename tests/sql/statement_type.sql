-- The type the lake holds for the statement whose text contains $word.
select statement_id, type from statements where contains(text, $word)
