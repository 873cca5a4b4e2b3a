-- Run on the embedded catalog itself (SQLite): the tables it holds.
select name from sqlite_master where type = 'table'
