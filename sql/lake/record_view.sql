merge into view_definitions as target
using (select $view_name as view_name, $sha256 as sha256) as source
on target.view_name = source.view_name
when matched then update set sha256 = source.sha256, applied_at = now()
when not matched then insert (view_name, sha256, applied_at)
    values (source.view_name, source.sha256, now())
