"""postgresql:// URLs (psycopg): parsing, masking, placeholders, error classes, the COPY flush plan."""

from __future__ import annotations

from datetime import datetime

import pytest

from xmlshred.db.dialects import POSTGRESQL, POSTGRESQL_COPY
from xmlshred.db.errors import DataTargetError, TargetError, TransientTargetError, classify_psycopg_error
from xmlshred.db.pg import qmark_to_format
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import OdbcSettings, libpq_url, parse_target_url
from xmlshred.db.urls import UrlError, locate, postgres_url
from xmlshred.targets.processing_log import LogRow
from xmlshred.targets.target import plan_flush
from xmlshred.vocab.schema import Column, Table, TargetSchema


def test_both_spellings_are_postgres_urls_and_bad_ports_are_refused():
    assert locate("postgresql://etl@db01:5432/lending") == ("postgresql", "postgresql://etl@db01:5432/lending")
    assert locate("postgres://db01/lending?sslmode=require")[0] == "postgresql"
    with pytest.raises(UrlError, match="port 'x5'"):
        postgres_url("postgresql://db01:x5/lending")
    with pytest.raises(UrlError, match="libpq"):
        postgres_url("postgresql:lending")


def test_a_postgres_target_spec_uses_psycopg_and_masks_its_password():
    spec = parse_target_url("postgresql://etl:s3cret@db01/lending?password=also")
    assert spec.dialect is POSTGRESQL_COPY and spec.dialect.name == "postgresql"
    assert spec.dialect.client == "psycopg" and spec.dialect.insert_strategy == "copy"
    assert "s3cret" not in spec.description and "also" not in spec.description and "s3cret" not in repr(spec)
    assert mask_secrets("postgresql://etl:s3cret@db01/x") == "postgresql://etl:***@db01/x"
    # [target] password completes a URL without one; the URL's own wins
    assert parse_target_url("postgresql://etl@db01/x", OdbcSettings(password="pw")).password == "pw"
    assert parse_target_url("postgresql://etl:own@db01/x", OdbcSettings(password="pw")).password is None
    with pytest.raises(TargetError, match="server"):
        parse_target_url("postgresql://etl@db01/x", OdbcSettings(server="elsewhere"))
    # odbc: strings to PostgreSQL keep the pyodbc dialect
    assert parse_target_url("odbc:DRIVER={PostgreSQL Unicode};SERVER=h;DATABASE=d").dialect is POSTGRESQL


def test_an_odbc_connection_string_names_the_same_database_as_a_postgresql_url():
    dsn = "DRIVER={PostgreSQL Unicode};Server=db01;PORT=5433;DATABASE=len ding;UID=etl;PWD={p;w@d}"
    url = libpq_url(dsn)
    assert url == "postgresql://etl:p%3Bw%40d@db01:5433/len%20ding"
    assert postgres_url(url) == url  # a URL the psycopg path accepts as it is
    assert libpq_url("DRIVER={PostgreSQL Unicode};DATABASE=x") == "postgresql://127.0.0.1/x"
    assert libpq_url("DATABASE=x;UID=etl") == "postgresql://etl@127.0.0.1/x"


def test_qmark_placeholders_become_format_ones_outside_quotes():
    assert qmark_to_format('SELECT "a?" FROM t WHERE k = ? AND s = \'?%\' AND p LIKE \'x\' || ?') == (
        'SELECT "a?" FROM t WHERE k = %s AND s = \'?%%\' AND p LIKE \'x\' || %s')


def test_psycopg_errors_are_classified_by_sqlstate_then_by_class():
    psycopg = pytest.importorskip("psycopg")
    from psycopg import errors

    assert classify_psycopg_error(errors.lookup("23505")("dup")) is DataTargetError
    assert classify_psycopg_error(errors.lookup("22001")("long")) is DataTargetError
    assert classify_psycopg_error(errors.lookup("40P01")("deadlock")) is TransientTargetError
    assert classify_psycopg_error(errors.lookup("57P01")("shutdown")) is TransientTargetError
    assert classify_psycopg_error(errors.lookup("42P01")("no table")) is TargetError
    assert classify_psycopg_error(psycopg.OperationalError("connection lost")) is TransientTargetError
    assert classify_psycopg_error(psycopg.DataError("NUL in text")) is DataTargetError


PLAIN = Table("plain", (Column("app_id", "int", nullable=False), Column("v", "string", 10)), ())
UPSERT = Table("kv", (Column("app_id", "int", nullable=False), Column("k", "string", 10),
                      Column("v", "string", 10)), ("app_id", "k"), on_conflict="update")
SCHEMA = TargetSchema("dbo", "app_id", (PLAIN, UPSERT))


def test_the_copy_plan_copies_plain_tables_and_stages_upserts_and_processing_log():
    log = [LogRow(1, "success", None, None, "r", datetime(2026, 1, 1))]
    steps = list(plan_flush(POSTGRESQL_COPY, SCHEMA, [("plain", [(1, "a")]), ("kv", [(1, "k", "v")]),
                                                      ("kv", [(2, "k", "w")])], log))
    kinds = [(step.kind, step.table) for step in steps]
    assert kinds == [("copy", "plain"), ("copy_first", "kv"), ("copy_first", "kv"),
                     ("copy_first", "processing_log")]
    assert steps[0].sql == 'COPY "dbo"."plain" ("app_id", "v") FROM STDIN'
    # an upsert table: COPY straight in; on a key already there, its staging table and the upsert
    first, second = steps[1], steps[2]
    assert first.sql == 'COPY "dbo"."kv" ("app_id", "k", "v") FROM STDIN' and first.params == [(1, "k", "v")]
    assert [step.kind for step in first.fallback] == ["stage", "copy", "write"]
    assert first.fallback[0].sql.startswith("CREATE TEMP TABLE IF NOT EXISTS")
    assert 'LIKE "dbo"."kv"' in first.fallback[0].sql
    assert 'ON CONFLICT ("app_id", "k") DO UPDATE' in first.fallback[2].sql
    assert 'FROM "xmlshred_stage_' in first.fallback[2].sql
    # the same table again in one flush: its stage is emptied before the second COPY into it
    assert [step.kind for step in second.fallback] == ["stage", "write", "copy", "write"]
    assert second.fallback[1].sql.startswith("DELETE FROM")
    # processing_log: the upsert keeps its keep rule and attempts + 1
    log_step = steps[3]
    assert log_step.params[0][1] == "success"
    upsert = log_step.fallback[-1].sql
    assert "attempts" in upsert and "+ 1" in upsert and "'success'" in upsert
