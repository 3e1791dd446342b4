-- Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d), as
-- POSTGRES_USER (ipbridge), who therefore owns the databases. One database per service: a
-- service never reads another service's database.
CREATE DATABASE registry;
CREATE DATABASE financing;
CREATE DATABASE matching;
CREATE DATABASE rewards;
