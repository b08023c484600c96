#!/usr/bin/env python3
"""Throughput benchmark: the real `cli.py migrate` pipeline against a naive baseline.

Generates (and caches under .bench/) a corpus in a SQLite source table, runs
`python cli.py migrate` into a fresh SQLite target (and PostgreSQL with
--pg-dsn, SQL Server / Babelfish with --mssql-dsn: a fresh database each), and
in the same run measures a baseline: one process that reads
every document from the same source and fully parses it with
lxml.etree.fromstring, nothing else; and a second baseline that reads only each
document's prefix and parses up to the contract's parse horizon (the mapper's
floor). The source file is read once first so that every run finds it in the
page cache, and xmlshred's bytecode is written (as an installed package has
it) so that no process of a run compiles the package from source. Besides
the table it prints, per pipeline run, CPU ms per record by stage (read,
transfer, map, insert, other) and source bytes read per record; the
horizon-parse-only figure and the run's mapper ratio (the workers' parse+map
CPU per record / the horizon parse alone); and with --pg-dsn both PostgreSQL
paths (odbc: through pyodbc, postgresql:// through psycopg and COPY, when the
postgres extra is installed), each into a fresh database, with the server's CPU
per record for each: postgresql_vs_sqlite (pyodbc), postgresql_copy_vs_sqlite
and server_cpu_copy_vs_pyodbc. Failed records are shown separately and never counted as throughput.
The last line is exactly:

    records_per_minute=<int> ratio_vs_parse=<float>

Example: python bench/throughput.py --count 10000 --profile realistic --mappers 2
         python bench/throughput.py --count 2000 --product rl   (recreational lending)

--product picks the product line: its generated corpus and its example
contract (cc: examples/credit_card, rl: examples/recreational_lending).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
CONTRACTS = {
    "cc": ROOT / "examples" / "credit_card" / "contract.json",
    "rl": ROOT / "examples" / "recreational_lending" / "contract.json",
}


def corpus(count: int, profile: str, seed: int, edge_share: float, product: str = "cc") -> Path:
    """The cached source database for these parameters (generated once)."""
    from xmlshred.generator.writers import run_generate

    CACHE.mkdir(exist_ok=True)
    prefix = "source" if product == "cc" else f"source-{product}"
    path = CACHE / f"{prefix}-{profile}-{count}-s{seed}-e{edge_share}.db"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        run_generate(count, f"sqlite:///{partial}", seed=seed, profile=profile, edge_share=edge_share,
                     product=product)
        partial.rename(path)
        print(f"generated {count} {profile} {product} documents in {time.perf_counter() - started:.1f}s -> {path}")
    return path


class TreeSampler:
    """Samples the summed RSS of a process and all its descendants, and every ``pss_every``-th
    time their summed PSS.

    RSS counts a page shared by several processes once per process: forked mapper workers share
    the parent's pages (interpreter, libraries, the compiled contract), so the RSS sum overstates
    the memory the run takes. PSS splits each shared page among its sharers, so the PSS sum is
    the run's real footprint. It costs the kernel a walk of the page tables, hence sampled less
    often than RSS (at most about 1% of one core here).
    """

    def __init__(self, pid: int, interval: float = 0.05, pss_every: int = 10) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self._pss_every = pss_every
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        samples = 0
        while not self._stop.is_set():
            try:
                processes = [self._root] + self._root.children(recursive=True)
                total = 0
                for process in processes:
                    try:
                        total += process.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_bytes = max(self.peak_bytes, total)
                if samples % self._pss_every == 0:
                    self.peak_pss_bytes = max(self.peak_pss_bytes, _summed_pss(processes))
            except psutil.Error:
                pass
            samples += 1
            self._stop.wait(self._interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _postgres_cpu_s() -> float | None:
    """CPU seconds the local PostgreSQL server has used: its live processes' own, plus what the
    postmaster's exited children (backends of closed connections) used. None when no postgres
    process is visible (a remote server)."""
    import psutil

    total, seen = 0.0, False
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "postgres":
            continue
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue  # a backend that just exited: the postmaster's children times have it
        seen = True
        total += times.user + times.system + times.children_user + times.children_system
    return total if seen else None


class BackendSampler:
    """CPU seconds of the PostgreSQL backends serving one database (their process title names it:
    ``postgres: user dbname host(port) …``), sampled every ``interval`` s while the run goes, each
    backend's last reading kept (a backend's final tenth of a second after its last sample is
    missed: its connection is idle by then). Unlike ``_postgres_cpu_s`` (every postgres process),
    other databases' work on a shared server is not counted. 0.0 when no backend is seen."""

    def __init__(self, database: str, interval: float = 0.1) -> None:
        self._needle = f" {database} "
        self._interval = interval
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] != "postgres" or self._needle not in " ".join(process.info["cmdline"] or ()) + " ":
                continue
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            self._seen[process.pid] = max(self._seen.get(process.pid, 0.0), times.user + times.system)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    @property
    def cpu_s(self) -> float:
        return sum(self._seen.values())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _database_of(target_url: str) -> str | None:
    """The database name of a PostgreSQL target URL (odbc: DATABASE=…, or postgresql://…/name)."""
    import re
    from urllib.parse import unquote, urlsplit

    if target_url.startswith("odbc:"):
        match = re.search(r"(?i)(?:^|;)\s*DATABASE=([^;]*)", target_url[len("odbc:"):])
        return match.group(1).strip("{}") if match else None
    if target_url.startswith(("postgresql:", "postgres:")):
        return unquote(urlsplit(target_url).path.lstrip("/")) or None
    return None


def _summed_pss(processes) -> int:
    """The summed proportional set size (Linux's /proc/PID/smaps_rollup) of ``processes``; 0 where
    the kernel does not give it."""
    total = 0
    for process in processes:
        try:
            with open(f"/proc/{process.pid}/smaps_rollup", encoding="ascii") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            pass
    return total


def warm_page_cache(path: Path) -> None:
    """Read the source file once, so every run below finds it in the page cache alike (the first
    run would otherwise pay the disk reads the later ones are spared)."""
    started = time.perf_counter()
    with open(path, "rb") as handle:
        while handle.read(1 << 22):
            pass
    print(f"page cache warmed: read {path.stat().st_size / 2**20:,.0f} MB in {time.perf_counter() - started:.1f}s")


def compile_package() -> None:
    """Write xmlshred's bytecode (__pycache__) before the runs, as an installed package has it.

    With PYTHONDONTWRITEBYTECODE set (as on the development machines) every process of every
    run, each mapper worker included, would otherwise compile all of xmlshred from source at
    start-up, ~0.1 s of CPU each, and charge it to the pipeline.
    """
    import compileall

    started = time.perf_counter()
    compileall.compile_dir(ROOT / "xmlshred", quiet=1)
    print(f"bytecode of xmlshred written in {time.perf_counter() - started:.1f}s")


def write_config(directory: Path, source: Path, target_url: str, args) -> Path:
    config = directory / "config.toml"
    config.write_text(
        "\n".join([
            "[source]", f'url = "sqlite:///{source}"', f"prefix_bytes = {args.prefix_bytes}", "",
            "[target]", f"url = {json.dumps(target_url)}", "",
            "[contract]", f'path = "{CONTRACTS[args.product]}"', "",
            "[actors]", f"mappers = {args.mappers}", f"max_in_flight = {args.max_in_flight}",
            f"batch_size = {args.batch_size}", "",
            "[flush]", f"max_records = {args.flush_records}", f"max_interval_ms = {args.flush_interval_ms}", "",
            "[log]", f'metrics = "{directory / "metrics.jsonl"}"', 'progress = "never"',
            'level = "INFO"', "report_every_s = 5", "",
            "[run]", 'now = "2025-06-01T12:00:00"', "",
            "[engine]", f'kind = "{getattr(args, "run_engine", "local")}"',
            f"address = {json.dumps(args.ray_address)}", f"shards = {args.shards}", "",
        ]),
        encoding="utf-8",
    )
    return config


def run_pipeline(label: str, source: Path, target_url: str, args, workdir: Path) -> dict:
    from xmlshred.reporting.summary import RunSummary

    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir, source, target_url, args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMLSHRED__")}
    if args.run_engine == "ray":  # the driver creates the tables itself
        init = subprocess.CompletedProcess([], 0)
    else:
        init = subprocess.run([sys.executable, str(ROOT / "cli.py"), "init-db", "--config", str(config)],
                              env=env, capture_output=True, text=True)
    if init.returncode != 0:
        raise SystemExit(f"init-db failed for {label}:\n{init.stderr[-2000:]}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = _postgres_cpu_s() if target_url.startswith(("odbc:", "postgresql:")) else None
    started = time.perf_counter()
    with open(workdir / "migrate.log", "w") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "migrate", "--config", str(config)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        database = _database_of(target_url)
        backends = BackendSampler(database) if database else None
        with TreeSampler(process.pid) as sampler, (backends or contextlib.nullcontext()):
            code = process.wait()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if server_before is not None:
        time.sleep(0.3)  # the run's backends exit when it closes their connections: let the postmaster reap them
    server_after = _postgres_cpu_s() if server_before is not None else None
    if code not in (0, 3):
        raise SystemExit(f"migrate into {label} exited {code}; see {workdir / 'migrate.log'}")
    summary = RunSummary.from_dict([json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()
                                    if '"summary"' in line][-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok, failed, rows = summary.records_ok, summary.records_failed, summary.rows
    return {
        "summary": summary,
        "label": label, "records": ok, "failed": failed, "seconds": seconds,
        "records_per_minute": ok / seconds * 60 if seconds else 0.0,
        "cpu_ms_per_record": cpu * 1000 / max(ok + failed, 1),
        "peak_rss_mb": sampler.peak_bytes / 2**20,
        "peak_pss_mb": sampler.peak_pss_bytes / 2**20,
        "server_cpu_ms_per_record": (None if server_after is None
                                     else (server_after - server_before) * 1000 / max(ok + failed, 1)),
        "backend_cpu_ms_per_record": (None if backends is None or not backends.cpu_s
                                      else backends.cpu_s * 1000 / max(ok + failed, 1)),
        "rows_per_second": rows / seconds if seconds else 0.0,
    }


def run_baseline(source: Path, table: str) -> dict:
    """Read every document from the same source and parse it whole with lxml: nothing else."""
    from lxml import etree

    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    connection = sqlite3.connect(source)
    parsed = failed = 0
    # The same raw bytes the pipeline's reader gets (no decode/encode round trip).
    for (document,) in connection.execute(f'SELECT CAST(app_xml AS BLOB) FROM "{table}" ORDER BY app_id'):
        try:
            etree.fromstring(document)
            parsed += 1
        except etree.XMLSyntaxError:
            failed += 1
    connection.close()
    return _baseline_result("baseline: read + lxml.fromstring", parsed, failed, started, usage_before)


def _baseline_result(label: str, parsed: int, failed: int, started: float, usage_before) -> dict:
    """A baseline's row of the table: wall time since ``started``, this process's CPU since ``usage_before``."""
    seconds = time.perf_counter() - started
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    return {
        "label": label, "records": parsed, "failed": failed,
        "seconds": seconds, "records_per_minute": parsed / seconds * 60 if seconds else 0.0,
        "cpu_ms_per_record": cpu * 1000 / max(parsed + failed, 1),
        "peak_rss_mb": usage_after.ru_maxrss / 1024, "peak_pss_mb": None, "rows_per_second": 0.0,
    }


def run_horizon_baseline(source: Path, table: str, contract: Path, prefix_bytes: int) -> dict:
    """Read only each document's first ``prefix_bytes`` (whole when its horizon ends later) and parse
    up to the contract's horizon the way the mapper does; nothing else. The mapper's floor."""
    from datetime import datetime

    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.contract.parsing import DocumentRejected, parse_document

    horizon = compile_contract(load_contract(contract), MapOptions(now=datetime(2025, 6, 1, 12))).horizon
    end_tag = None if horizon is None else ("</" + horizon[-1]).encode("ascii")
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    keys = [key for (key,) in connection.execute(f'SELECT app_id FROM "{table}" ORDER BY app_id')]
    parsed = failed = read = 0
    read_cpu = parse_cpu = 0.0
    for key in keys:
        mark = time.process_time()
        with connection.blobopen(table, "app_xml", key, readonly=True) as blob:
            document = blob.read(prefix_bytes) if prefix_bytes and end_tag is not None else blob.read()
            if len(blob) > len(document) and end_tag not in document:
                blob.seek(0)
                document = blob.read()
        read += len(document)
        read_done = time.process_time()
        try:
            parse_document(document, horizon)
            parsed += 1
        except DocumentRejected:
            failed += 1
        parse_cpu += time.process_time() - read_done
        read_cpu += read_done - mark
    connection.close()
    return {
        **_baseline_result("baseline: read prefix + parse horizon", parsed, failed, started, usage_before),
        "bytes_read_per_record": read / max(len(keys), 1),
        "read_ms_per_record": read_cpu * 1000 / max(len(keys), 1),
        "parse_ms_per_record": parse_cpu * 1000 / max(len(keys), 1),
    }


def print_stages(results: list[dict]) -> None:
    """CPU milliseconds per record by stage, and source bytes read per record, of each pipeline run."""
    for r in results:
        summary = r.get("summary")
        if summary is None:
            continue
        stages = summary.cpu_ms_per_record or {}
        named = sum(stages.values())
        parts = " ".join(f"{stage}={ms:.3f}" for stage, ms in stages.items())
        other = r["cpu_ms_per_record"] - named
        read = summary.bytes_read_per_record
        read_text = f"; source bytes read per record {read / 1024:.1f} KB" if read is not None else ""
        print(f"{r['label']}: CPU ms/record by stage: {parts} other={other:.3f}{read_text}")


def print_table(results: list[dict]) -> None:
    header = (f"{'run':<34} {'records':>8} {'failed':>7} {'seconds':>8} {'rec/min':>9} {'CPU ms/rec':>10} "
              f"{'peak RSS MB':>11} {'peak PSS MB':>11} {'rows/s':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['label']:<34} {r['records']:>8} {r['failed']:>7} {r['seconds']:>8.2f} "
              f"{r['records_per_minute']:>9.0f} {r['cpu_ms_per_record']:>10.2f} {r['peak_rss_mb']:>11.1f} "
              f"{_megabytes(r.get('peak_pss_mb')):>11} {r['rows_per_second']:>9.0f}")


def _megabytes(value: float | None) -> str:
    return "-" if not value else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--profile", choices=("realistic", "small"), default="realistic")
    parser.add_argument("--product", choices=tuple(CONTRACTS), default="cc",
                        help="product line: cc credit card (default), rl recreational lending")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--edge-share", type=float, default=0.02)
    parser.add_argument("--mappers", type=int, default=2)
    parser.add_argument("--max-in-flight", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--flush-records", type=int, default=1000)
    parser.add_argument("--flush-interval-ms", type=int, default=1000)
    parser.add_argument("--prefix-bytes", type=int, default=32768,
                        help="[source] prefix_bytes of the runs (0 = whole documents)")
    parser.add_argument("--pg-dsn", default=os.environ.get("XMLSHRED_BENCH_PG_DSN"),
                        help="ODBC connection string of a PostgreSQL database to benchmark too")
    parser.add_argument("--mssql-dsn", default=os.environ.get("XMLSHRED_BENCH_MSSQL_DSN"),
                        help="ODBC connection string of a SQL Server (or Babelfish) whose login may CREATE "
                             "DATABASE: adds a SQL Server line (a fresh database, dropped after)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="ray: also run --engine ray into PostgreSQL (needs --pg-dsn) and compare")
    parser.add_argument("--shards", type=int, default=0, help="shards for the ray run (0 = four per CPU)")
    parser.add_argument("--insert-writers", default="",
                        help="only measure the target's sustained insert rate with these writer counts, e.g. 1,4,8")
    parser.add_argument("--ray-address", default=os.environ.get("XMLSHRED_RAY_ADDRESS", ""),
                        help='Ray cluster for the ray run ("" = a local Ray)')
    args = parser.parse_args()
    args.run_engine = "local"
    if args.insert_writers:
        if not args.pg_dsn:
            raise SystemExit("--insert-writers measures a PostgreSQL target: give --pg-dsn")
        source = corpus(args.count, args.profile, args.seed, args.edge_share, args.product)
        tag = uuid.uuid4().hex[:6]
        for writers in (int(w) for w in args.insert_writers.split(",")):
            rate = measure_insert_rate(_fresh_pg_database(args.pg_dsn, f"xsbench_ins{writers}_{tag}"), source,
                                       args, writers)
            print(f"target sustained insert rate, {writers} concurrent writer(s): {rate:,.0f} rows/s")
        return None
    if args.engine == "ray":
        if not args.pg_dsn:
            raise SystemExit("--engine ray benchmarks a PostgreSQL target: give --pg-dsn (or XMLSHRED_BENCH_PG_DSN)")
        return compare_ray(args)

    from xmlshred.db.spec import libpq_url
    from xmlshred.generator.writers import SOURCE_TABLES

    source = corpus(args.count, args.profile, args.seed, args.edge_share, args.product)
    size_mb = source.stat().st_size / 2**20
    print(f"corpus: {args.count} {args.profile} {args.product} documents, source database {size_mb:.0f} MB; "
          f"mappers={args.mappers} cores={os.cpu_count()}")
    warm_page_cache(source)
    compile_package()
    run_dir = CACHE / f"run-{uuid.uuid4().hex[:8]}"
    results = [run_pipeline("xmlshred migrate -> SQLite", source, f"sqlite:///{run_dir / 'target.db'}",
                            args, run_dir / "sqlite")]
    postgres = {}
    if args.pg_dsn:
        # Both PostgreSQL paths, each into a fresh database (the DSN's own may hold these keys as done
        # already): odbc: through pyodbc/psqlODBC (INSERT … SELECT unnest), postgresql:// through
        # psycopg (COPY … FROM STDIN), when the postgres extra is installed.
        paths = [("pyodbc", "xmlshred migrate -> PostgreSQL (pyodbc)", lambda dsn: f"odbc:{dsn}")]
        try:
            import psycopg  # noqa: F401

            paths.append(("psycopg", "xmlshred migrate -> PostgreSQL (psycopg COPY)", libpq_url))
        except ImportError:
            print("psycopg is not installed (pip install -e '.[postgres]'): the COPY path is not measured")
        for key, label, url_of in paths:
            name = f"xsbench_pg_{uuid.uuid4().hex[:6]}"
            try:
                result = run_pipeline(label, source, url_of(_fresh_pg_database(args.pg_dsn, name)), args,
                                      run_dir / f"postgres-{key}")
            finally:
                _drop_pg_database(args.pg_dsn, name)
            postgres[key] = result
            results.append(result)
    mssql_result = None
    if args.mssql_dsn:
        name = f"xsbench_ms_{uuid.uuid4().hex[:6]}"
        try:
            mssql_result = run_pipeline("xmlshred migrate -> SQL Server", source,
                                        f"odbc:{_fresh_mssql_database(args.mssql_dsn, name)}", args,
                                        run_dir / "mssql")
            results.append(mssql_result)
        finally:
            _drop_mssql_database(args.mssql_dsn, name)
    baseline = run_baseline(source, SOURCE_TABLES[args.product])
    results.append(baseline)
    results.append(run_horizon_baseline(source, SOURCE_TABLES[args.product], CONTRACTS[args.product],
                                        args.prefix_bytes))
    print_table(results)
    print_stages(results)
    horizon = results[-1]
    mapped = results[0]["summary"].map_cpu_ms_per_record
    print(f"horizon parse only: {horizon['parse_ms_per_record']:.3f} CPU ms/record "
          f"(its prefix read {horizon['read_ms_per_record']:.3f})"
          + (f"; in the run, parse+map {mapped:.3f} CPU ms/record: mapper ratio "
             f"{mapped / horizon['parse_ms_per_record']:.2f}" if mapped and horizon["parse_ms_per_record"] else ""))
    ours = results[0]["records_per_minute"]
    if postgres and ours:
        for key, result in postgres.items():
            server, own = result.get("server_cpu_ms_per_record"), result.get("backend_cpu_ms_per_record")
            if server is not None:
                print(f"PostgreSQL server CPU ms/record, {key}: the run's own backends "
                      f"{'-' if own is None else f'{own:.3f}'}; every local postgres process (other "
                      f"databases' work included) {server:.2f}; the run itself {result['cpu_ms_per_record']:.2f}")
        if "pyodbc" in postgres:
            print(f"postgresql_vs_sqlite={postgres['pyodbc']['records_per_minute'] / ours:.2f}")
        if "psycopg" in postgres:
            print(f"postgresql_copy_vs_sqlite={postgres['psycopg']['records_per_minute'] / ours:.2f}")
        servers = [postgres[key].get("backend_cpu_ms_per_record") for key in ("pyodbc", "psycopg") if key in postgres]
        if len(servers) == 2 and all(servers) and servers[0]:
            print(f"server_cpu_copy_vs_pyodbc={servers[1] / servers[0]:.2f}")
    if mssql_result is not None and ours:
        print(f"mssql_vs_sqlite={mssql_result['records_per_minute'] / ours:.2f} "
              f"(mssql rows/s {mssql_result['rows_per_second']:,.0f})")
    ratio = ours / baseline["records_per_minute"] if baseline["records_per_minute"] else 0.0
    print(f"records_per_minute={int(ours)} ratio_vs_parse={ratio:.2f}")


def _fresh_pg_database(dsn: str, name: str) -> str:
    """A new empty database beside the one ``dsn`` names; its DSN."""
    import re

    import pyodbc

    admin = pyodbc.connect(dsn, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return re.sub(r"(?i)DATABASE=[^;]*", f"DATABASE={name}", dsn)


def _fresh_mssql_database(dsn: str, name: str) -> str:
    """A new empty database on the SQL Server (or Babelfish) ``dsn`` names; its DSN."""
    import re

    import pyodbc

    admin = pyodbc.connect(dsn, autocommit=True)
    try:
        admin.execute(f"CREATE DATABASE [{name}]")
    except pyodbc.Error as exc:
        raise SystemExit(f"--mssql-dsn: its login may not CREATE DATABASE ({exc.args[0]}); use one that may "
                         "(bbf_admin on the local Babelfish)") from None
    finally:
        admin.close()
    if re.search(r"(?i)DATABASE=", dsn):
        return re.sub(r"(?i)DATABASE=[^;]*", f"DATABASE={name}", dsn)
    return f"{dsn.rstrip(';')};DATABASE={name}"


def _drop_mssql_database(dsn: str, name: str) -> None:
    _drop_database(dsn, name, f"IF DB_ID(N'{name}') IS NOT NULL DROP DATABASE [{name}]")


def _drop_pg_database(dsn: str, name: str) -> None:
    _drop_database(dsn, name, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_database(dsn: str, name: str, statement: str) -> None:
    """Run ``statement`` (the server's DROP DATABASE of ``name``), best effort: a server that is
    away must not hide the error that ended the run."""
    import pyodbc

    try:
        admin = pyodbc.connect(dsn, autocommit=True)
        admin.execute(statement)
        admin.close()
    except pyodbc.Error as exc:
        print(f"could not drop the benchmark database {name}: {exc.args[0] if exc.args else exc}")


def measure_insert_rate(dsn: str, source: Path, args, writers: int, seconds: float = 15.0) -> float:
    """The target's sustained insert rate (rows/s): ``writers`` threads, each its own connection, flushing
    already-mapped rows (the first documents, keys renumbered) as the InsertActor does, for ``seconds``."""
    import threading
    from datetime import datetime

    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.db.spec import parse_target_url
    from xmlshred.generator.writers import SOURCE_TABLES
    from xmlshred.targets import open_target
    from xmlshred.targets.processing_log import LogRow
    from xmlshred.vocab.results import MappedRecord

    compiled = compile_contract(load_contract(CONTRACTS[args.product]),
                                MapOptions(now=datetime(2025, 6, 1, 12)))
    schema = compiled.schema
    connection = sqlite3.connect(source)
    records = []
    for key, document in connection.execute(
            f'SELECT app_id, CAST(app_xml AS BLOB) FROM "{SOURCE_TABLES[args.product]}" ORDER BY app_id LIMIT 200'):
        mapped = compiled.map_document(document, expected_key=key)
        if isinstance(mapped, MappedRecord):
            records.append(mapped)
    connection.close()
    # Tables keyed by the record key only (a table without it would collide on its own keys and be skipped).
    key_index = {t.name: [c.name for c in t.columns].index(schema.key_column) for t in schema.tables
                 if schema.key_column in t.primary_key}
    spec = parse_target_url(f"odbc:{dsn}", {})
    # Rows made ready for the target once, as the mapper workers make them; only the key changes per flush.
    from xmlshred.db.values import ready_tables
    from xmlshred.vocab.schema import Column

    records = [list(ready_tables(schema, spec.dialect, record.tables)) for record in records]
    key_form = spec.dialect.row_values((Column(schema.key_column, "bigint"),))
    setup = open_target(spec, schema)
    setup.create_tables(schema)
    setup.close()
    counts = [0] * writers
    deadline = time.perf_counter() + seconds

    def writer(index: int) -> None:
        target = open_target(spec, schema)
        next_key = 10**8 * (index + 1)  # disjoint per writer, inside a 32-bit key column
        batch = args.flush_records
        try:
            while time.perf_counter() < deadline:
                tables: dict[str, list] = {}
                log_rows = []
                for offset in range(batch):
                    record = records[offset % len(records)]
                    next_key += 1
                    key = key_form([(next_key,)])[0][0]
                    for name, rows in record:
                        if name not in key_index:
                            continue
                        position = key_index[name]
                        tables.setdefault(name, []).extend(
                            row[:position] + (key,) + row[position + 1:] for row in rows)
                    log_rows.append(LogRow(next_key, "success", None, None, "bench", datetime(2025, 6, 1)))
                ordered = [(t.name, tables[t.name]) for t in schema.tables if t.name in tables]
                target.write_flush(schema, ordered, log_rows)
                counts[index] += sum(len(rows) for _, rows in ordered) + len(log_rows)
        finally:
            target.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def compare_ray(args) -> None:
    """The local engine and --engine ray, same corpus, each into a fresh PostgreSQL database.

    Prints the ray run's overhead, the per-shard throughput, the target's
    insert rate while flushing (rows per flush / median flush time, i.e. one
    writer's sustained rate) and a projection for 4, 16 and 64 nodes.
    """
    source = corpus(args.count, args.profile, args.seed, args.edge_share, args.product)
    print(f"corpus: {args.count} {args.profile} {args.product} documents; mappers={args.mappers} "
          f"cores={os.cpu_count()} shards={args.shards or 'auto'} ray={args.ray_address or 'local'}")
    run_dir = CACHE / f"run-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    local_dsn = _fresh_pg_database(args.pg_dsn, f"xsbench_local_{tag}")
    ray_dsn = _fresh_pg_database(args.pg_dsn, f"xsbench_ray_{tag}")
    local = run_pipeline("local engine -> PostgreSQL", source, f"odbc:{local_dsn}", args, run_dir / "local")
    args.run_engine = "ray"
    ray_run = run_pipeline(f"ray engine ({args.shards or 'auto'} shards) -> PostgreSQL", source,
                           f"odbc:{ray_dsn}", args, run_dir / "ray")
    print_table([local, ray_run])
    overhead = ray_run["seconds"] / local["seconds"] - 1 if local["seconds"] else 0.0
    shards = ray_run["summary"].shards or []
    shard_rates = [s["records_per_minute"] for s in shards if s.get("records_per_minute")]
    per_shard = sum(shard_rates) / len(shard_rates) if shard_rates else 0.0
    summary = local["summary"]
    rows_per_record = summary.rows / max(summary.records_ok, 1)
    rows_per_flush = summary.rows / max(summary.flushes, 1)
    flush_s = (summary.flush_p50_ms or 0) / 1000
    insert_rows_s = rows_per_flush / flush_s if flush_s else 0.0
    sustained = {w: measure_insert_rate(_fresh_pg_database(args.pg_dsn, f"xsbench_ins{w}_{tag}"), source, args, w)
                 for w in (1, 4)}
    print(f"ray overhead on this machine: {overhead:+.0%} wall time ({ray_run['records_per_minute']:,.0f} vs "
          f"{local['records_per_minute']:,.0f} records/min)")
    print(f"per-shard throughput: {per_shard:,.0f} records/min (mean of {len(shard_rates)} shards)")
    print(f"target insert rate while flushing (one writer): {insert_rows_s:,.0f} rows/s "
          f"= {insert_rows_s / rows_per_record * 60:,.0f} records/min at {rows_per_record:.1f} rows/record")
    for writers, rate in sustained.items():
        print(f"target sustained insert rate, {writers} concurrent writer(s), mapped rows only: {rate:,.0f} rows/s "
              f"= {rate / rows_per_record * 60:,.0f} records/min")
    ceiling = max(sustained.values()) / rows_per_record * 60
    node_rate = local["records_per_minute"]  # one node running the whole pipeline on its cores
    for nodes in (1, 4, 16, 64):
        print(f"projection nodes={nodes}: pipeline {nodes * node_rate:,.0f} records/min, target ceiling "
              f"{ceiling:,.0f} -> {min(nodes * node_rate, ceiling):,.0f} records/min "
              f"({'target-bound' if nodes * node_rate > ceiling else 'pipeline-bound'})")


if __name__ == "__main__":
    main()
