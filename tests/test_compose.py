"""Static validation of the compose stack (docker-compose.yml, its Dockerfiles and config files).

There is no Docker engine where these tests run: nothing is built or started. The compose file is
parsed with PyYAML and checked against the stack's rules; the Livy/Dagster entrypoint is run for
real with a stand-in `java` (it renders the config and execs the JVM command line, which the
stand-in records); `docker compose config` renders the file when the compose CLI plugin exists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
LIVY_DOCKERFILE = REPO / "livy" / "Dockerfile"
DAGSTER_DOCKERFILE = REPO / "docker" / "dagster.Dockerfile"
ENTRYPOINT = REPO / "livy" / "docker-entrypoint.sh"
SPARK_DEFAULTS = REPO / "docker" / "spark-defaults.conf"
DAGSTER_YAML = REPO / "docker" / "dagster.yaml"

REQUIRED_SERVICES = {
    "livy", "spark-master", "spark-worker", "minio", "minio-init", "postgres",
    "dagster-webserver", "dagster-daemon", "jupyter",
}
# Environment keys whose values are credentials: they must come from .env, never be written here.
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.I)
# `$$` is compose's escaped dollar; `${NAME...}` and `$NAME` are interpolations.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
FULL_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[?-][^}]*)?\}$")


# ---------------------------------------------------------------- helpers

def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict]:
    return load_compose()["services"]


def env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            out[key.strip()] = value.strip()
    return out


def env_with_dummy_secrets() -> dict[str, str]:
    """.env.example with every empty value filled, as a user's .env would be."""
    return {k: v or f"dummy-{k.lower().replace('_', '-')}-0123456789" for k, v in env_example().items()}


def strings(node):
    """Every string scalar of a parsed YAML document (values only: compose never interpolates keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def variables_in(text: str) -> set[str]:
    text = text.replace("$$", "")
    return {a or b for a, b in INTERPOLATION.findall(text)}


def interpolate(value: str, env: dict[str, str]) -> str:
    """The subset of compose interpolation the file uses: ${V}, ${V:?msg}, ${V:-default}, $$."""
    def sub(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        got = env.get(name, "")
        if op == ":?" and not got:
            raise KeyError(f"{name}: {arg}")
        if op == ":-" and not got:
            return arg
        return got
    parts = value.split("$$")
    return "$".join(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[?-])([^}]*))?\}", sub, p) for p in parts)


def service_env(name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment after interpolation with `env` (default: .env.example + dummies)."""
    env = env_with_dummy_secrets() if env is None else env
    raw = services()[name].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: interpolate(str(v), env) for k, v in raw.items()}


def depends_on(svc: dict) -> dict[str, str]:
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {d: (spec or {}).get("condition", "service_started") for d, spec in deps.items()}


def is_one_shot(svc: dict) -> bool:
    return str(svc.get("restart", "no")) == "no"


def bind_mounts(svc: dict) -> list[tuple[str, str, bool]]:
    """(host source, container target, read_only) of a service's bind mounts."""
    out = []
    for vol in svc.get("volumes") or []:
        if isinstance(vol, str):
            parts = vol.split(":")
            if parts[0].startswith((".", "/", "~")):
                out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        elif vol.get("type") == "bind":
            out.append((vol["source"], vol["target"], bool(vol.get("read_only"))))
    return out


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comment lines dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
        current = ""
    return lines


def spark_defaults() -> dict[str, str]:
    conf = {}
    for line in SPARK_DEFAULTS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            conf[key] = value.strip()
    return conf


# ---------------------------------------------------------------- the compose file

def test_compose_parses_and_names_every_service_of_the_stack():
    doc = load_compose()
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), "no services: mapping"
    missing = REQUIRED_SERVICES - set(doc["services"])
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_published_ports_bind_loopback_only():
    offenders = []
    for name, svc in services().items():
        for port in svc.get("ports") or []:
            if isinstance(port, dict):
                ok = port.get("host_ip") == "127.0.0.1" and port.get("published") is not None
            else:
                # "127.0.0.1:HOST:CONTAINER[/proto]"; a bare int or "HOST:CONTAINER" binds 0.0.0.0.
                ok = isinstance(port, str) and port.startswith("127.0.0.1:") and port.count(":") == 2
            if not ok:
                offenders.append(f"{name}: {port!r}")
        assert "network_mode" not in svc or svc["network_mode"] != "host", f"{name} uses the host network"
    assert not offenders, f"published ports must bind 127.0.0.1: {offenders}"


def test_every_interpolated_variable_is_in_env_example():
    used = set()
    for s in strings(load_compose()):
        used |= variables_in(s)
    documented = set(env_example())
    assert used, "docker-compose.yml interpolates no variable at all (secrets must come from .env)"
    missing = used - documented
    assert not missing, f"variables used in docker-compose.yml but not in .env.example: {sorted(missing)}"
    unused = documented - used
    assert not unused, f".env.example lists variables docker-compose.yml never uses: {sorted(unused)}"


def test_env_example_leaves_secrets_empty_and_compose_requires_them():
    example = env_example()
    secrets = {k for k in example if SECRET_KEY.search(k) and not k.endswith("_ACCESS_KEY")}
    assert {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "ICEBERG_DB_PASSWORD"} <= secrets
    filled = {k: v for k, v in example.items() if k in secrets and v}
    assert not filled, f".env.example must not ship secret values: {sorted(filled)}"
    text = COMPOSE_FILE.read_text()
    for key in secrets:
        assert re.search(r"\$\{" + key + r":\?[^}]+\}", text), f"{key} is not required with ${{{key}:?...}}"


def test_no_literal_secrets_in_compose():
    offenders = []
    for name, svc in services().items():
        raw = svc.get("environment") or {}
        items = dict(i.split("=", 1) for i in raw) if isinstance(raw, list) else raw
        for key, value in items.items():
            if SECRET_KEY.search(key) and not FULL_INTERPOLATION.match(str(value)):
                offenders.append(f"{name}.{key}={value!r}")
    for s in strings(load_compose()):
        # user:password@ in a URL: the password part must be an interpolation.
        for m in re.finditer(r"://[^/\s:@]+:([^@\s]+)@", s):
            if not FULL_INTERPOLATION.match(m.group(1)):
                offenders.append(f"URL credential {m.group(0)!r}")
    for word in ("minioadmin", "changeme", "change-me", "password123", "secret123"):
        if word in COMPOSE_FILE.read_text().lower():
            offenders.append(f"default credential {word!r}")
    assert not offenders, f"literal secrets in docker-compose.yml: {offenders}"


def test_no_literal_secrets_in_config_files():
    conf = spark_defaults()
    for key, value in conf.items():
        if SECRET_KEY.search(key) or key.endswith((".password", ".secret-access-key", ".access-key-id")):
            assert re.fullmatch(r"\$\{[A-Z_0-9]+\}", value), f"spark-defaults.conf {key} = {value!r}"
    storage = yaml.safe_load(DAGSTER_YAML.read_text())["storage"]["postgres"]["postgres_db"]
    for field in ("hostname", "username", "password", "db_name"):
        assert isinstance(storage[field], dict) and "env" in storage[field], \
            f"dagster.yaml postgres_db.{field} must come from the environment, got {storage[field]!r}"


def test_long_running_services_have_healthchecks():
    for name, svc in services().items():
        # Explicit restart policies: a one-shot job says restart: "no", everything else restarts.
        assert "restart" in svc, f"{name} declares no restart policy (one-shot jobs: restart: \"no\")"
        if is_one_shot(svc):
            continue
        hc = svc.get("healthcheck")
        assert hc and not hc.get("disable") and hc.get("test") not in (None, ["NONE"]), \
            f"{name} runs permanently but has no healthcheck"
        test = " ".join(hc["test"]) if isinstance(hc["test"], list) else hc["test"]
        # None of the images this stack uses is guaranteed to ship curl/wget (MinIO dropped curl).
        assert not re.search(r"\b(curl|wget)\b", test), f"{name}: healthcheck relies on curl/wget: {test}"
    expected = {
        "livy": "/version", "postgres": "pg_isready", "minio": "/minio/health/live",
        "dagster-webserver": "/server_info",
    }
    for name, needle in expected.items():
        test = services()[name]["healthcheck"]["test"]
        assert needle in (" ".join(test) if isinstance(test, list) else test), f"{name} healthcheck lacks {needle}"


def test_depends_on_targets_exist_with_sound_conditions():
    all_services = services()
    for name, svc in all_services.items():
        for target, condition in depends_on(svc).items():
            assert target in all_services, f"{name} depends on unknown service {target!r}"
            if condition == "service_healthy":
                assert all_services[target].get("healthcheck"), f"{name} waits for {target} healthy; it has no healthcheck"
            elif condition == "service_completed_successfully":
                assert is_one_shot(all_services[target]), f"{name} waits for {target} to exit; it restarts"
            else:
                pytest.fail(f"{name} -> {target}: condition {condition!r} (use service_healthy / _completed_successfully)")
    livy_deps = depends_on(all_services["livy"])
    assert livy_deps.get("spark-master") == "service_healthy"
    assert livy_deps.get("minio-init") == "service_completed_successfully"
    assert depends_on(all_services["minio-init"]).get("minio") == "service_healthy"


def test_build_contexts_dockerfiles_and_copied_files_exist():
    builds = 0
    for name, svc in services().items():
        build = svc.get("build")
        if not build:
            assert "image" in svc, f"{name} has neither build nor image"
            continue
        builds += 1
        build = {"context": build} if isinstance(build, str) else build
        context = (REPO / build.get("context", ".")).resolve()
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        for instr, args in dockerfile_instructions(dockerfile):
            if instr in ("COPY", "ADD") and "--from=" not in args:
                srcs = [a for a in args.split() if not a.startswith("--")][:-1]
                for src in srcs:
                    assert (context / src).exists(), f"{dockerfile.name}: COPY source {src} missing in {context}"
    assert builds >= 2, "expected the livy and dagster images to be built from this repository"


def test_images_are_pinned_and_spark_is_35_java17():
    pinned = re.compile(r"^[\w./-]+:(?!latest$)[\w.${}:?\- ]+$")
    for name, svc in services().items():
        if "image" in svc:
            assert pinned.match(svc["image"]), f"{name}: image {svc['image']!r} is not pinned to a tag"
    for path in (LIVY_DOCKERFILE, DAGSTER_DOCKERFILE):
        for instr, args in dockerfile_instructions(path):
            if instr == "FROM":
                image = args.split()[0]
                assert ":" in image and not image.endswith(":latest"), f"{path.name}: FROM {image} unpinned"
    env = env_with_dummy_secrets()
    for name in ("spark-master", "spark-worker"):
        image = interpolate(services()[name]["image"], env)
        assert re.fullmatch(r"apache/spark:3\.5\.\d+-java17-python3", image), f"{name}: {image}"


def test_named_volumes_declared_and_bind_mounts_exist():
    doc = load_compose()
    declared = set(doc.get("volumes") or {})
    for name, svc in doc["services"].items():
        for vol in svc.get("volumes") or []:
            if isinstance(vol, str) and not vol.split(":")[0].startswith((".", "/", "~")):
                assert vol.split(":")[0] in declared, f"{name}: volume {vol.split(':')[0]} not declared"
        for src, target, _ in bind_mounts(svc):
            assert src.startswith("./"), f"{name}: bind mount {src} is not repository-relative"
            assert (REPO / src).exists(), f"{name}: bind mount source {src} does not exist in the repository"
    for cname, cfg in (doc.get("configs") or {}).items():
        assert "content" in cfg or (REPO / cfg["file"]).exists(), f"config {cname} has no content/file"


def test_spark_scripts_mounted_read_only_where_livy_whitelists_them():
    livy = services()["livy"]
    mounts = {src.rstrip("/"): (target, ro) for src, target, ro in bind_mounts(livy)}
    assert "./spark_scripts" in mounts, "livy does not mount ./spark_scripts"
    target, read_only = mounts["./spark_scripts"]
    assert read_only, "livy must mount spark_scripts read-only"
    whitelist = service_env("livy")["LIVY_FILE_WHITELIST"].split(",")
    assert target in whitelist, f"spark_scripts mounted at {target}, Livy whitelists {whitelist}"
    # Dagster names scripts by LIVY_SCRIPTS_URI and zips lakehouse_jobs into LIVY_STAGING_DIR:
    # both must be paths Livy sees (and whitelists), and Dagster must see the same files there.
    staging_mounts = {t for s, t in (v.split(":")[:2] for v in livy["volumes"] if isinstance(v, str))
                      if not s.startswith(".")}
    for name in ("dagster-webserver", "dagster-daemon", "jupyter"):
        theirs = {src.rstrip("/"): t for src, t, _ in bind_mounts(services()[name])}
        assert theirs.get("./spark_scripts") == target, f"{name} mounts spark_scripts elsewhere"
        env = service_env(name)
        assert env["LIVY_SCRIPTS_URI"] == f"file://{target}", f"{name}: LIVY_SCRIPTS_URI != file://{target}"
        staging = env["LIVY_STAGING_DIR"]
        assert staging in whitelist and staging in staging_mounts, f"{name}: staging {staging} not shared/whitelisted"
        assert any(v.endswith(":" + staging) for v in services()[name]["volumes"] if isinstance(v, str))


def test_livy_targets_the_standalone_master_in_client_mode():
    env = service_env("livy")
    assert env["LIVY_SPARK_MASTER"] == "spark://spark-master:7077"
    assert env["LIVY_DEPLOY_MODE"] == "client"
    assert env["LIVY_HOST"] == "0.0.0.0"  # inside the container; the host side is 127.0.0.1
    assert env["SPARK_DRIVER_HOST"] == "livy", "executors must reach the client-mode drivers by name"
    master_cmd = services()["spark-master"]["command"]
    assert "org.apache.spark.deploy.master.Master" in master_cmd and "7077" in master_cmd
    assert "spark://spark-master:7077" in services()["spark-worker"]["command"]


def test_one_spark_version_for_cluster_image_and_livy_pyspark():
    livy_build = services()["livy"]["build"]
    arg = livy_build["args"]["SPARK_VERSION"]
    image = services()["spark-master"]["image"]
    assert variables_in(arg) == {"SPARK_VERSION"} and "SPARK_VERSION" in variables_in(image)
    assert re.fullmatch(r"3\.5\.\d+", env_example()["SPARK_VERSION"])
    text = LIVY_DOCKERFILE.read_text()
    assert re.search(r'pyspark==\$\{SPARK_VERSION\}', text), "livy/Dockerfile must pip install pyspark==${SPARK_VERSION}"


def test_workers_scale_and_share_the_s3_credentials():
    worker = services()["spark-worker"]
    assert "replicas" in (worker.get("deploy") or {}), "spark-worker has no deploy.replicas"
    env = service_env("spark-worker")
    # Executors write Iceberg data files through S3FileIO with the worker's environment.
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        assert env.get(key), f"spark-worker lacks {key}"


# ---------------------------------------------------------------- the Livy image

def test_livy_image_is_built_from_the_repository_pom():
    instructions = dockerfile_instructions(LIVY_DOCKERFILE)
    copies = [args for instr, args in instructions if instr == "COPY"]
    runs = [args for instr, args in instructions if instr == "RUN"]
    assert any("livy/pom.xml" in c for c in copies), "livy/Dockerfile does not COPY livy/pom.xml"
    assert any(re.search(r"\bmvn\b.*-f livy/pom\.xml\s.*\bpackage\b.*-Dlivy\.home=/opt/livy(\s|$)", r) for r in runs), \
        "livy/Dockerfile does not run `mvn -f livy/pom.xml package -Dlivy.home=/opt/livy`"
    # No second dependency list: no hand-written <dependency> blocks or artifact downloads of Livy.
    text = LIVY_DOCKERFILE.read_text()
    assert "<dependency>" not in text and "org.apache.livy:" not in text
    runtime = [args for instr, args in instructions if instr == "FROM"][-1]
    assert "17" in runtime.split()[0], f"runtime stage {runtime} is not Java 17"
    assert any("COPY" == i and "--from=" in a and "/opt/livy" in a for i, a in instructions), \
        "runtime stage does not copy /opt/livy from the Maven stage"


def test_java17_flags_are_not_duplicated_outside_livyctl():
    for path in (LIVY_DOCKERFILE, DAGSTER_DOCKERFILE, ENTRYPOINT, COMPOSE_FILE):
        text = path.read_text()
        assert "--add-opens" not in text and "--add-exports" not in text, \
            f"{path.name} repeats the Java 17 flags; import livyctl.JAVA17_FLAGS instead"
    assert "livyctl.JAVA17_FLAGS" in ENTRYPOINT.read_text()
    assert "livyctl.MAIN_CLASS" in ENTRYPOINT.read_text()


def test_dockerfiles_use_the_entrypoint():
    for path in (LIVY_DOCKERFILE, DAGSTER_DOCKERFILE):
        instructions = dockerfile_instructions(path)
        entry = [a for i, a in instructions if i == "ENTRYPOINT"]
        assert entry and "docker-entrypoint.sh" in entry[-1], f"{path.name}: ENTRYPOINT is not docker-entrypoint.sh"
        assert any(i == "COPY" and "livy/docker-entrypoint.sh" in a for i, a in instructions)
        assert any(i == "COPY" and "livy/livyctl.py" in a for i, a in instructions)
        assert any(i == "USER" and a not in ("root", "0") for i, a in instructions), f"{path.name} runs as root"


# ---------------------------------------------------------------- Dagster instance and Spark defaults

def test_dagster_yaml_is_a_valid_postgres_instance_config(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))  # raises DagsterInvalidConfigError
    db = config["storage"]["postgres"]["postgres_db"]
    needed = {db[f]["env"] for f in ("hostname", "username", "password", "db_name")}
    for name in ("dagster-webserver", "dagster-daemon"):
        env = service_env(name)
        missing = needed - set(env)
        assert not missing, f"{name} does not set {sorted(missing)} that dagster.yaml reads"
        assert env["DAGSTER_HOME"] == "/opt/dagster/home"
        mounts = {t: s for s, t, _ in bind_mounts(services()[name])}
        assert mounts.get("/opt/dagster/home/dagster.yaml") == "./docker/dagster.yaml"
    # Webserver and daemon share compute logs/artifacts so the UI shows what the daemon ran.
    base_dirs = {config[k]["config"]["base_dir"] for k in ("compute_logs", "local_artifact_storage")}
    shared = [v.split(":")[1] for v in services()["dagster-daemon"]["volumes"]
              if isinstance(v, str) and not v.startswith((".", "/"))]
    assert all(any(b.startswith(s) for s in shared) for b in base_dirs), f"{base_dirs} not on a shared volume"


def test_dagster_services_run_the_code_location_module():
    modules = set()
    for name in ("dagster-webserver", "dagster-daemon"):
        cmd = services()[name]["command"]
        if cmd[:2] == ["sh", "-c"]:  # steps before the server: what it finally execs
            steps = shlex.split(cmd[2])
            cmd = steps[steps.index("exec") + 1:]
        assert "-m" in cmd, f"{name} does not name the code location module"
        modules.add(cmd[cmd.index("-m") + 1])
    assert modules == {"dagster_livy.lakehouse.definitions"}


def test_daemon_writes_the_livy_pool_limit_before_starting_runs():
    """On PostgreSQL, runs that create the pool's row at once race (dagster_livy/lakehouse/pools.py)."""
    cmd = services()["dagster-daemon"]["command"]
    assert cmd[:2] == ["sh", "-c"], cmd
    steps = shlex.split(cmd[2])
    assert steps[:3] == ["python", "-m", "dagster_livy.lakehouse.pools"] and steps[3] == "&&", steps
    assert steps[4:6] == ["exec", "dagster-daemon"], steps


def test_spark_defaults_define_the_lakehouse_catalog_on_postgres_and_minio():
    conf = spark_defaults()
    assert conf["spark.sql.catalog.lakehouse"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.lakehouse.type"] == "jdbc"
    assert conf["spark.sql.catalog.lakehouse.uri"].startswith("jdbc:postgresql://")
    assert conf["spark.sql.catalog.lakehouse.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf["spark.sql.catalog.lakehouse.warehouse"].startswith("s3://")
    assert conf["spark.sql.catalog.lakehouse.s3.path-style-access"] == "true"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.sql.extensions"].endswith("IcebergSparkSessionExtensions")
    assert "spark.master" not in conf, "Livy passes the master; local PySpark must stay local"


# ---------------------------------------------------------------- the entrypoint, run for real

def fake_image(tmp_path: Path) -> dict[str, str]:
    """An image-like layout: APP_DIR with the files the Dockerfiles copy, LIVY_HOME with empty jars,
    and a stand-in `java` that records its arguments, environment and working directory."""
    app = tmp_path / "app"
    (app / "livy").mkdir(parents=True)
    (app / "docker").mkdir()
    (app / "dagster_livy").mkdir()
    for src in ("livy/livyctl.py", "livy/livyconf.py", "livy/livyjars.py", "livy/historyserver.py", "livy/stackproc.py", "livy/clusterctl.py", "livy/clusterpg.py",
                "livy/docker-entrypoint.sh", "docker/spark-defaults.conf", "dagster_livy/env.py"):
        shutil.copy(REPO / src, app / src)
    shutil.copytree(REPO / "livy" / "conf", app / "livy" / "conf")
    home = tmp_path / "livy-home"
    for sub, names in {
        "jars": ["livy-server-0.7.1-incubating.jar", "livy-core_2.11-0.7.1-incubating.jar", "scala-library-2.11.12.jar"],
        "spark-jars": ["iceberg-spark-runtime-3.5_2.12-1.9.2.jar", "iceberg-aws-bundle-1.9.2.jar", "postgresql-42.7.4.jar"],
    }.items():
        (home / sub).mkdir(parents=True)
        for n in names:
            (home / sub / n).write_bytes(b"")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-version" ]; then echo \'openjdk version "17.0.9" 2023-10-17\' >&2; exit 0; fi\n'
        'printf "%s\\n" "$@" > "$FAKE_JAVA_OUT/args"\n'
        'env > "$FAKE_JAVA_OUT/env"\n'
        'pwd > "$FAKE_JAVA_OUT/cwd"\n'
    )
    java.chmod(0o755)
    out = tmp_path / "java-out"
    out.mkdir()
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "APP_DIR": str(app),
        "LIVY_LOCAL_DIR": str(home),
        "LIVY_RUN_DIR": str(tmp_path / "run"),
        "FAKE_JAVA_OUT": str(out),
        "PYTHON": sys.executable,  # has pyspark (livyctl derives SPARK_HOME from it)
    }


def run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    return subprocess.run(["bash", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=120)


def read_conf(path: Path) -> dict[str, str]:
    """livy.conf (`key = value`) or spark-defaults.conf (`key  value`)."""
    conf = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition(" = ") if " = " in line else line.strip().partition(" ")
            conf[key.strip()] = value.strip()
    return conf


@pytest.mark.parametrize("service", ["livy", "jupyter", "dagster-daemon"])
def test_entrypoint_renders_spark_defaults_from_the_service_environment(tmp_path, service):
    env = {**fake_image(tmp_path), **service_env(service), "SPARK_CONF_DIR": str(tmp_path / "spark-conf")}
    proc = run_entrypoint(env, "spark-conf")
    assert proc.returncode == 0, proc.stderr
    conf = read_conf(tmp_path / "spark-conf" / "spark-defaults.conf")
    assert "$" not in "".join(conf.values()), f"unrendered placeholder in {conf}"
    senv = service_env(service)
    assert conf["spark.sql.catalog.lakehouse.uri"] == f"jdbc:postgresql://postgres:5432/{senv['ICEBERG_DB']}"
    assert conf["spark.sql.catalog.lakehouse.jdbc.password"] == senv["ICEBERG_DB_PASSWORD"]
    assert conf["spark.sql.catalog.lakehouse.s3.endpoint"] == "http://minio:9000"
    jars = conf["spark.jars"].split(",")
    assert {Path(j).name for j in jars} >= {"iceberg-spark-runtime-3.5_2.12-1.9.2.jar", "iceberg-aws-bundle-1.9.2.jar",
                                             "postgresql-42.7.4.jar"}
    assert (tmp_path / "spark-conf" / "spark-defaults.conf").stat().st_mode & 0o077 == 0, "password file readable by others"
    # pyiceberg (dagster/jupyter) and Spark must address the same catalog and warehouse.
    dagster_env = service_env("dagster-daemon")
    assert conf["spark.sql.catalog.lakehouse.warehouse"] == dagster_env["PYICEBERG_CATALOG__LAKEHOUSE__WAREHOUSE"]
    assert dagster_env["PYICEBERG_CATALOG__LAKEHOUSE__URI"].endswith(
        f"@postgres:5432/{senv['ICEBERG_DB']}")


def test_entrypoint_refuses_to_start_without_a_catalog_variable(tmp_path):
    env = {**fake_image(tmp_path), **service_env("livy"), "SPARK_CONF_DIR": str(tmp_path / "spark-conf")}
    del env["ICEBERG_DB_PASSWORD"]
    proc = run_entrypoint(env, "spark-conf")
    assert proc.returncode != 0
    assert "ICEBERG_DB_PASSWORD" in proc.stderr


def test_entrypoint_execs_livy_with_livyctl_flags_and_cluster_conf(tmp_path):
    sys.path.insert(0, str(REPO / "livy"))
    try:
        import livyctl
    finally:
        sys.path.pop(0)
    env = {**fake_image(tmp_path), **service_env("livy")}
    proc = run_entrypoint(env, "livy")
    assert proc.returncode == 0, proc.stderr
    out = Path(env["FAKE_JAVA_OUT"])
    run_dir = Path(env["LIVY_RUN_DIR"])
    args = (out / "args").read_text().splitlines()
    assert args == [*livyctl.JAVA17_FLAGS, "-cp", f"{env['LIVY_LOCAL_DIR']}/jars/*:{run_dir}/conf", livyctl.MAIN_CLASS]
    java_env = dict(line.split("=", 1) for line in (out / "env").read_text().splitlines() if "=" in line)
    assert "SPARK_LOCAL_IP" not in java_env, "loopback SPARK_LOCAL_IP would hide the drivers from the workers"
    assert java_env["SPARK_CONF_DIR"] == str(run_dir / "spark-conf")
    assert java_env["PYSPARK_PYTHON"] == env["PYTHON"]
    livy_conf = read_conf(run_dir / "conf" / "livy.conf")
    assert livy_conf["livy.spark.master"] == "spark://spark-master:7077"
    assert livy_conf["livy.spark.deploy-mode"] == "client"
    assert livy_conf["livy.server.host"] == "0.0.0.0"
    assert "/opt/dagster-livy/spark_scripts" in livy_conf["livy.file.local-dir-whitelist"].split(",")
    spark_conf = read_conf(run_dir / "spark-conf" / "spark-defaults.conf")
    assert spark_conf["spark.sql.catalog.lakehouse.type"] == "jdbc"
    assert spark_conf["spark.driver.host"] == "livy"


# ---------------------------------------------------------------- docker compose config (offline)

def compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")  # v2 also ships as a standalone binary; v1 cannot
    if standalone:
        v = subprocess.run([standalone, "version"], capture_output=True, text=True, timeout=60)
        if v.returncode == 0 and re.search(r"version v?2\.", v.stdout):
            return [standalone]
    pytest.skip("the Docker Compose v2 CLI plugin is not installed (`docker compose` is unknown here); "
                "the static checks above still ran")


def compose_config(tmp_path: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    # A clean environment: the shell's variables would override .env.
    proc_env = {k: os.environ[k] for k in ("PATH", "HOME", "DOCKER_CONFIG") if k in os.environ}
    return subprocess.run(
        [*compose_cli(), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", str(env_file),
         "config", *extra],
        capture_output=True, text=True, env=proc_env, timeout=120,
    )


def test_docker_compose_config_renders_offline(tmp_path):
    proc = compose_config(tmp_path, env_with_dummy_secrets(), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rendered = json.loads(proc.stdout)
    assert set(rendered["services"]) >= REQUIRED_SERVICES
    for name, svc in rendered["services"].items():
        for port in svc.get("ports") or []:
            assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
    assert rendered["services"]["spark-worker"]["deploy"]["replicas"] == int(env_example()["SPARK_WORKER_REPLICAS"])


def test_docker_compose_config_refuses_a_missing_secret(tmp_path):
    env = env_with_dummy_secrets()
    env["POSTGRES_PASSWORD"] = ""
    proc = compose_config(tmp_path, env, "-q")
    assert proc.returncode != 0
    assert "POSTGRES_PASSWORD" in proc.stderr
