-- Drop a test session's database, ending any session still connected to it.
drop database if exists {name} with (force)
