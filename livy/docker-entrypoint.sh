#!/usr/bin/env bash
# Entry point of the Livy image (livy/Dockerfile) and of the Dagster/Jupyter image
# (docker/dagster.Dockerfile). It reuses livy/livyctl.py instead of repeating it:
#
#   docker-entrypoint.sh livy        render livy.conf & co. with `livyctl.py conf`, render the
#                                    cluster Spark defaults, then exec the LivyServer JVM in the
#                                    foreground with livyctl's JAVA17_FLAGS, classpath and
#                                    server environment (what `livyctl.py up` runs in the
#                                    background on a laptop)
#   docker-entrypoint.sh spark-conf  only render $SPARK_CONF_DIR/spark-defaults.conf
#   docker-entrypoint.sh CMD ARGS    render the Spark defaults (when this image has the Spark-side
#                                    jars), then exec CMD: dagster-webserver, jupyter lab, ...
#
# The Spark defaults are docker/spark-defaults.conf, a string.Template whose ${VAR}s come from the
# container environment plus livyctl's render values (SPARK_EXTRA_JARS = the jars livy/pom.xml
# put in $LIVY_LOCAL_DIR/spark-jars). A missing variable stops the container with its name.
set -euo pipefail

export APP_DIR="${APP_DIR:-/opt/dagster-livy}"
export PYTHON="${PYTHON:-python3}"

# livyctl's layout, pinned to the image's paths (see Layout.from_env in livyctl.py).
export LIVY_LOCAL_DIR="${LIVY_LOCAL_DIR:-/opt/livy}"
export LIVY_RUN_DIR="${LIVY_RUN_DIR:-/var/lib/livy}"
export LAKEHOUSE_DIR="${LAKEHOUSE_DIR:-$LIVY_RUN_DIR/lakehouse}"
# Loopback unless the container environment says otherwise (docker-compose.yml opens it for
# the livy service, whose published port is bound to 127.0.0.1 on the host).
export LIVY_HOST="${LIVY_HOST:-127.0.0.1}"
export LIVY_PORT="${LIVY_PORT:-8998}"
export LIVY_SPARK_MASTER="${LIVY_SPARK_MASTER:-spark://spark-master:7077}"
export LIVY_DEPLOY_MODE="${LIVY_DEPLOY_MODE:-client}"
export SPARK_DRIVER_HOST="${SPARK_DRIVER_HOST:-$(hostname)}"

render_spark_conf() {
    # $1: the directory to write spark-defaults.conf (and Spark's log4j2.properties) into.
    "$PYTHON" - "$1" <<'PY'
import os
import shutil
import sys
from pathlib import Path
from string import Template

app = Path(os.environ["APP_DIR"])
sys.path.insert(0, str(app / "livy"))
import livyctl  # noqa: E402  (the repo's launcher: one source for jars, paths and flags)

target = Path(sys.argv[1])
target.mkdir(parents=True, exist_ok=True)
values = {**livyctl.render_values(livyctl.Layout.from_env()), **os.environ}
template = app / "docker" / "spark-defaults.conf"
try:
    text = Template(template.read_text()).substitute(values)
except KeyError as exc:
    raise SystemExit(f"docker-entrypoint: {template} needs {exc} in the environment "
                     "(see docker-compose.yml and .env.example)") from None
(target / "spark-defaults.conf").write_text(text)
# spark.eventLog.dir must exist or no SparkContext starts (the spark-events volume, compose).
Path(values["SPARK_EVENT_LOG_DIR"]).mkdir(parents=True, exist_ok=True)
os.chmod(target / "spark-defaults.conf", 0o600)  # it holds the catalog's JDBC password
shutil.copyfile(app / "livy" / "conf" / "log4j2.properties", target / "log4j2.properties")
print(f"docker-entrypoint: Spark defaults rendered in {target}", file=sys.stderr)
PY
}

exec_livy() {
    # livy.conf, log4j.properties, spark-blacklist.conf and the run dirs, exactly as on a laptop.
    "$PYTHON" "$APP_DIR/livy/livyctl.py" conf >&2
    # ...then the cluster's Spark defaults replace the SQLite/local ones livyctl rendered.
    local spark_conf
    spark_conf="$("$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import livyctl; print(livyctl.Layout.from_env().spark_conf_dir)' "$APP_DIR/livy")"
    render_spark_conf "$spark_conf"
    # Foreground JVM: the container's init (tini) is its parent, so `docker stop` sends SIGTERM to
    # Livy itself, which stops its batches' spark-submit processes.
    exec "$PYTHON" - <<'PY'
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(os.environ["APP_DIR"]) / "livy"))
import livyctl  # noqa: E402

layout = livyctl.Layout.from_env()
java = livyctl.java_binary()  # the one Java ($JAVA_HOME/bin/java, else PATH's), refused below 17
livyctl.check_server_classpath(layout.livy_home / "jars")
env = {**os.environ, **layout.server_env(), "JAVA_HOME": livyctl.java_home(java)}
# server_env() pins SPARK_LOCAL_IP to loopback for a laptop; in a container the driver must be
# reachable by the workers (spark.driver.host/bindAddress in spark-defaults.conf decide).
if "SPARK_LOCAL_IP" in os.environ:
    env["SPARK_LOCAL_IP"] = os.environ["SPARK_LOCAL_IP"]
else:
    env.pop("SPARK_LOCAL_IP", None)
env["LIVY_URL"] = os.environ.get("LIVY_URL", f"http://localhost:{layout.port}")
cmd = [java, *livyctl.JAVA17_FLAGS, *os.environ.get("LIVY_SERVER_JAVA_OPTS", "").split(),
       "-cp", f"{layout.livy_home / 'jars'}/*:{layout.conf_dir}", livyctl.MAIN_CLASS]
print("docker-entrypoint: " + " ".join(cmd), file=sys.stderr, flush=True)
os.chdir(layout.run_dir)
os.execvpe(cmd[0], cmd, env)
PY
}

case "${1:-livy}" in
    livy)
        exec_livy
        ;;
    spark-conf)
        render_spark_conf "${SPARK_CONF_DIR:?set SPARK_CONF_DIR}"
        ;;
    *)
        if [[ -n "${SPARK_CONF_DIR:-}" && -d "$LIVY_LOCAL_DIR/spark-jars" ]]; then
            render_spark_conf "$SPARK_CONF_DIR"
        fi
        exec "$@"
        ;;
esac
