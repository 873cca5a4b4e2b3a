-- A database of its own for one test session (the name is quoted by the caller).
create database {name}
