"""The distributed release on real Dask clusters, compared with the in-memory release.

* a 2-worker in-process LocalCluster: same train/holdout and gate as the in-memory pipeline given the
  same synthetic rows; partition aggregates equal single-machine computations; output bytes identical
  with 1 and 2 workers; retried and failing tasks;
* a scheduler and two workers started as separate processes on 127.0.0.1, reached at tcp://127.0.0.1:PORT
  (same output bytes and distance summary as an in-process cluster).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")

from synthstruct.dataio import read_table
from synthstruct.privacy.distances import nearest_neighbours
from synthstruct.evaluation.encoding import MixedEncoder
from synthstruct.release.pipeline import release
from synthstruct.scale import release as scale_release
from synthstruct.scale.aggregates import DistanceSummary
from synthstruct.scale.cluster import open_client, parse_cluster
from synthstruct.scale.release import run_distributed_release
from synthstruct.schema.check import coerce_to_schema
from synthstruct.schema.io import load_schema

ROWS = 2_000
PARTITION = 500


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "adult.csv"
    if not source.is_file():
        pytest.skip("adult.csv is not available")
    path = tmp_path_factory.mktemp("adult") / "adult.csv"
    pd.read_csv(source, nrows=ROWS).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def client():
    with open_client(parse_cluster("threads:2")) as c:
        yield c


def _partitions(bundle: Path) -> pd.DataFrame:
    files = sorted((bundle / "data").rglob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_distributed_release_matches_in_memory_path(adult_csv: Path, tmp_path: Path, client) -> None:
    dist = run_distributed_release(adult_csv, output=tmp_path / "dist", client=client, partition_rows=PARTITION,
                                   seed=5)
    assert dist.passed and client.scheduler_info()["workers"].__len__() == 2
    manifest = json.loads((tmp_path / "dist" / "manifest.json").read_text())
    assert manifest["scale"]["fit_sample_rows"] == ROWS and manifest["scale"]["partitions"] == 4
    parts = [o for o in manifest["outputs"] if o["path"].startswith("data/")]
    assert [o["rows"] for o in parts] == [500, 500, 500, 100]
    schema = load_schema(tmp_path / "dist" / "schema.yaml")
    synthetic = coerce_to_schema(_partitions(tmp_path / "dist"), schema)

    # the in-memory pipeline given the same synthetic rows: same split, same gate numbers
    seen = {}

    def same_rows(_synthetic: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
        seen["train"] = train
        return synthetic

    mem = release(adult_csv, output=tmp_path / "mem", schema=tmp_path / "dist" / "schema.yaml", seed=5,
                  synthetic_hook=same_rows)
    assert mem.manifest["split"] == dist.manifest["split"]
    for name, result in mem.gate.metrics.items():
        assert dist.gate.metrics[name].value == pytest.approx(result.value, nan_ok=True, abs=1e-12), name

    # partition aggregates == the single-machine computations on the whole output
    train = seen["train"]
    scale = dist.report["scale"]
    # scales come from train; levels from every real row (a superset of train + holdout's levels)
    encoder = MixedEncoder().fit(schema, train, coerce_to_schema(read_table(adult_csv), schema))
    whole = nearest_neighbours(encoder.transform(synthetic), encoder.transform(train), n_columns=encoder.n_columns)
    expected = DistanceSummary.of(whole.distance).to_dict()
    assert scale["distance_to_train"]["median"] == expected["median"]
    assert scale["distance_to_train"]["zero_distance_rows"] == expected["zero_distance_rows"]
    copies = int(np.isin(encoder.row_keys(synthetic), encoder.row_keys(train)).sum())
    assert scale["exact_copies_of_train"] == copies
    shapes = mem.gate.metrics["column_shapes"].details["columns"]
    for name, score in scale["column_shapes"]["columns"].items():
        if shapes[name]["metric"] == "tv_complement":
            assert score == pytest.approx(shapes[name]["score"], abs=1e-12)


def test_same_bytes_with_one_and_two_workers(adult_csv: Path, tmp_path: Path, client) -> None:
    data = tmp_path / "parts"
    data.mkdir()
    typed = read_table(adult_csv)
    for i, start in enumerate(range(0, len(typed), 700)):  # a partitioned Parquet input
        typed.iloc[start:start + 700].to_parquet(data / f"part-{i:05d}.parquet", index=False)
    kwargs = dict(partition_rows=300, fit_sample_rows=1_500, rows=1_000, seed=9, full_output_distances=False)
    two = run_distributed_release(data, output=tmp_path / "two", client=client, **kwargs)
    with open_client(parse_cluster("threads:1")) as single:
        one = run_distributed_release(data, output=tmp_path / "one", client=single, **kwargs)
    digests = lambda r: [(o["path"], o["sha256"]) for o in r.manifest["outputs"] if o["reproducible"]]  # noqa: E731
    assert digests(one) == digests(two) and len(digests(one)) == 5
    assert one.manifest["scale"]["fit_sample_rows"] == 1_500 and one.manifest["input"]["rows"] == ROWS


def test_failed_partition_is_retried_then_fails_cleanly(adult_csv: Path, tmp_path: Path, client,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = scale_release.sample_partition
    marks = tmp_path / "attempts"
    marks.mkdir()

    def flaky(part, ctx):
        (marks / f"{part.index}-{len(list(marks.glob(f'{part.index}-*')))}").touch()
        if part.index == 1 and len(list(marks.glob("1-*"))) == 1:
            raise OSError("worker lost")
        return real(part, ctx)

    monkeypatch.setattr(scale_release, "sample_partition", flaky)
    ok = run_distributed_release(adult_csv, output=tmp_path / "ok", client=client, partition_rows=PARTITION,
                                 full_output_distances=False)
    assert ok.passed and len(list(marks.glob("1-*"))) == 2 and len(list((tmp_path / "ok" / "data").rglob("*.parquet"))) == 4

    def broken(part, ctx):
        if part.index == 2:
            raise OSError("disk full")
        return real(part, ctx)

    monkeypatch.setattr(scale_release, "sample_partition", broken)
    from synthstruct.errors import FileAccessError

    with pytest.raises(FileAccessError):  # the worker's OSError reaches the user as a typed error
        run_distributed_release(adult_csv, output=tmp_path / "bad", client=client, partition_rows=PARTITION,
                                retries=1, full_output_distances=False)
    assert not (tmp_path / "bad").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bad")] == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tcp_scheduler():
    """``dask scheduler`` and two ``dask worker`` processes (one thread each) on 127.0.0.1."""
    import os

    import synthstruct

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    root = str(Path(synthstruct.__file__).resolve().parents[1])  # workers import this synthstruct
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0", "--no-show"], **quiet)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the scheduler listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert procs[0].poll() is None, "dask scheduler exited"
            time.sleep(0.2)
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                           "--memory-limit", "1GB"], **quiet))
        from dask.distributed import Client

        with Client(address, timeout="30s") as probe:
            probe.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow  # starts three Python processes with dask imported (~10-30 s on 2 shared cores)
def test_release_against_a_separate_scheduler_and_workers(adult_csv: Path, tmp_path: Path, tcp_scheduler) -> None:
    """A tcp:// scheduler with two worker processes gives the bytes an in-process cluster gives."""
    kwargs = dict(partition_rows=PARTITION, rows=1_200, seed=5, distance_rows=400)
    result = run_distributed_release(adult_csv, output=tmp_path / "remote", cluster=tcp_scheduler, **kwargs)
    assert result.passed and result.report["scale"]["workers"] == 2
    written = _partitions(tmp_path / "remote")
    assert len(written) == 1_200 and list(written.columns) == list(pd.read_csv(adult_csv, nrows=1).columns)
    distances = result.report["scale"]["distance_to_train"]
    assert distances["of_synthetic_rows"] == 1_200 and 400 <= distances["rows"] <= 403  # ceil per partition
    tasks = result.report["scale"]["worker_tasks"]  # the three partitions ran in the worker processes
    assert len(tasks["per_worker"]) in (1, 2) and sum(w["tasks"] for w in tasks["per_worker"]) == 3
    assert tasks["cpu_seconds"] > 0 and tasks["wall_seconds"] >= max(w["wall_seconds"] for w in tasks["per_worker"])
    local = run_distributed_release(adult_csv, output=tmp_path / "local", cluster="threads:1", **kwargs)
    def digests(r):
        return [(o["path"], o["sha256"]) for o in r.manifest["outputs"] if o["reproducible"]]

    assert digests(result) == digests(local) and len(digests(local)) == 4
    assert result.report["scale"]["distance_to_train"] == local.report["scale"]["distance_to_train"]


def test_cli_verb_runs_a_distributed_release(adult_csv: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from synthstruct._cli.release_dask import release_dask

    app = typer.Typer()
    app.command("release-dask")(release_dask)
    app.command("noop")(lambda: None)  # two commands: typer keeps the verb name
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["release-dask", str(adult_csv), "-o", str(out), "--cluster", "threads:2",
                                      "--partition-rows", "600", "--rows", "1000", "--no-full-distances"])
    assert result.exit_code == 0, result.output
    assert len(list((out / "data").rglob("*.parquet"))) == 2
    bad = CliRunner().invoke(app, ["release-dask", str(adult_csv), "-o", str(tmp_path / "x"), "--cluster", "yarn"])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()


def test_csv_codes_keep_leading_zeros(adult_csv: Path, tmp_path: Path, client) -> None:
    """A CSV's ZIP codes reach the schema and the output as text, even when the first chunk has none
    with a leading zero (chunks used to guess their own types); the schema equals the in-memory one."""
    frame = pd.read_csv(adult_csv, dtype=str, keep_default_na=False)
    codes = np.array(["02134", "00501", "07030", "10001"])
    frame.insert(0, "zip", np.where(np.arange(len(frame)) < 500, "10001", codes[np.arange(len(frame)) % 4]))
    csv = tmp_path / "zips.csv"
    frame.to_csv(csv, index=False)
    dist = run_distributed_release(csv, output=tmp_path / "dist", client=client, partition_rows=PARTITION,
                                   rows=1_000, seed=3, full_output_distances=False)
    schema = load_schema(tmp_path / "dist" / "schema.yaml")
    assert dist.passed and schema.columns["zip"].kind != "numerical"
    written = _partitions(tmp_path / "dist")
    assert set(written["zip"].dropna()) <= set(codes) and {"02134", "00501"} <= set(written["zip"])
    from synthstruct.release.pipeline import schema_for

    expected, _ = schema_for(read_table(csv), None, name=schema.name, source=str(csv))
    assert schema.columns["zip"].kind == expected.columns["zip"].kind


def test_release_verb_takes_a_parquet_directory_with_cluster(adult_csv: Path, tmp_path: Path) -> None:
    """``release DIR --cluster`` releases a partitioned Parquet table (a directory is not a database here)."""
    from typer.testing import CliRunner

    from synthstruct.cli import app

    data = tmp_path / "parts"
    data.mkdir()
    typed = read_table(adult_csv)
    for i, start in enumerate(range(0, len(typed), 1_000)):
        typed.iloc[start:start + 1_000].to_parquet(data / f"part-{i:05d}.parquet", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["release", str(data), "-o", str(out), "--cluster", "threads:2",
                                      "--partition-rows", "800", "--rows", "1000"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "data").rglob("*.parquet")) == ["part-00000.parquet", "part-00001.parquet"]


def test_release_cluster_and_release_dask_are_one_command(adult_csv: Path, tmp_path: Path) -> None:
    """``release --cluster`` takes the Dask options of ``release-dask`` and both write the same bytes."""
    from typer.testing import CliRunner

    from synthstruct.cli import app

    args = [str(adult_csv), "--cluster", "threads:2", "--partition-rows", "600", "--rows", "1000",
            "--distance-rows", "300", "--retries", "0", "--fit-sample-rows", "2000", "--seed", "5"]
    runs = {}
    for verb in ("release", "release-dask"):
        out = tmp_path / verb
        result = CliRunner().invoke(app, [verb, *args, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "rows in 2 partitions" in result.output
        runs[verb] = {p.relative_to(out): p.read_bytes() for p in sorted((out / "data").rglob("*.parquet"))}
    assert len(runs["release"]) == 2 and runs["release"] == runs["release-dask"]


def test_gate_samples_privacy_metrics_unless_exact_privacy(adult_csv: Path, tmp_path: Path, client) -> None:
    """The scale path's gate follows the policy's ``privacy_sampling`` (sampled above ``max_exact_pairs``,
    stated in report.json); ``exact_privacy=True`` runs it over every row and changes the policy hash."""
    from synthstruct.release.policy import load_policy

    base = load_policy("default")[0]
    policy = base.model_copy(update={"privacy_sampling": base.privacy_sampling.model_copy(
        update={"max_exact_pairs": 1.0, "reference_rows": 300, "half_width": 0.1})})
    kwargs = dict(partition_rows=PARTITION, rows=1_000, seed=2, full_output_distances=False, policy=policy)
    sampled = run_distributed_release(adult_csv, output=tmp_path / "sampled", client=client, **kwargs)
    exact = run_distributed_release(adult_csv, output=tmp_path / "exact", client=client, exact_privacy=True, **kwargs)
    plan = sampled.report["privacy_sampling"]
    assert plan["mode"] == "sampled" and plan["requested"] == "auto" and plan["reference_rows"] == 300
    assert plan["query_rows"] == 97  # rows for a ±0.1 interval at 95 %
    assert sampled.report["metrics"]["near_copies"]["details"]["sampling"] == "sampled"
    assert exact.report["privacy_sampling"]["mode"] == "exact"
    assert exact.report["privacy_sampling"]["requested"] == "exact"
    assert exact.report["metrics"]["near_copies"]["details"]["sampling"] == "exact"
    assert sampled.manifest["policy"]["sha256"] != exact.manifest["policy"]["sha256"]
    written = lambda r: [(o["path"], o["sha256"]) for o in r.manifest["outputs"] if o["path"].startswith("data/")]  # noqa: E731
    assert written(sampled) == written(exact)  # the mode changes the gate only, never the rows
    from synthstruct.release.report import validate_report

    assert validate_report(sampled.report) == [] and validate_report(exact.report) == []  # the shipped schema
    client_cpu = sampled.report["timings"]["client_cpu"]  # the client's CPU seconds per stage
    assert list(client_cpu) == ["load", "fit_and_context", "sample", "gate_after_sample", "merge"]
    assert all(v >= 0 for v in client_cpu.values()) and client_cpu["sample"] > 0  # the gate ran during "sample"


def test_cli_exact_privacy_reaches_the_cluster_gate(adult_csv: Path, tmp_path: Path) -> None:
    """``release --cluster ... --exact-privacy`` (and ``release-dask --exact-privacy``) set the gate's mode."""
    from typer.testing import CliRunner

    from synthstruct.cli import app

    args = [str(adult_csv), "--cluster", "threads:1", "--partition-rows", "1000", "--rows", "1000",
            "--no-full-distances", "--exact-privacy", "--seed", "1"]
    for verb in ("release", "release-dask"):
        out = tmp_path / verb
        result = CliRunner().invoke(app, [verb, *args, "-o", str(out)])
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        assert report["privacy_sampling"]["requested"] == "exact"


def test_local_cluster_workers_run_without_dask_diagnostics() -> None:
    """``local:N`` worker processes get LOCAL_CLUSTER_CONFIG (no 10 ms profiler, slow ticks): the
    settings reach the spawned workers, and the client's own config is restored afterwards."""
    import dask

    from synthstruct.scale.cluster import LOCAL_CLUSTER_CONFIG

    def settings() -> tuple:
        return tuple(dask.config.get(key) for key in LOCAL_CLUSTER_CONFIG)

    before = settings()
    with open_client(parse_cluster("local:1")) as local:
        [seen] = local.run(settings).values()
    assert seen == tuple(LOCAL_CLUSTER_CONFIG.values())
    assert settings() == before  # the caller's config is restored
