#!/bin/sh
# Run once by the postgres image when its data volume is new: the owner of the triage
# database (runs the migrations), the group role the migrations grant to, and the
# app's login role, which owns nothing.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$TRIAGE_OWNER_PASSWORD" \
    -v app_password="$TRIAGE_APP_PASSWORD" <<'SQL'
CREATE ROLE triage LOGIN PASSWORD :'owner_password';
CREATE ROLE triage_app NOLOGIN;
CREATE ROLE triage_web LOGIN PASSWORD :'app_password' IN ROLE triage_app;
CREATE DATABASE triage OWNER triage;
SQL
# Nobody but the owner creates objects in the database.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname triage \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
