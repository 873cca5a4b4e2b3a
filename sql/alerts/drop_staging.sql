drop table if exists temp.alert_changed_papers;
drop table if exists temp.alert_candidates;
drop table if exists temp.alert_fresh;
