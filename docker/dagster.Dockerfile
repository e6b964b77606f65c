# syntax=docker/dockerfile:1
# One image for dagster-webserver, dagster-daemon and jupyter (docker-compose.yml): the project
# installed from pyproject.toml (Python 3.11, its pins), dagster-postgres for the instance
# storage, and a Java 17 runtime plus the Spark-side jars so that local PySpark in notebooks and
# papermill runs reads the same `lakehouse` catalog (Postgres + MinIO) as the cluster.
#
#   docker build -f docker/dagster.Dockerfile -t dagster-livy/dagster .   (context: repo root)

# ---------------------------------------------------------------- 1. Spark-side jars (Maven)
# The same resolution as livy/Dockerfile (the repository's livy/pom.xml; BuildKit reuses the
# layer when both images are built on one builder). Only spark-jars/ is kept.
FROM maven:3.9-eclipse-temurin-17 AS spark-jars
WORKDIR /src
COPY livy/pom.xml livy/pom.xml
RUN mvn -q -B -f livy/pom.xml package -Dlivy.home=/opt/livy
RUN if ! ls /opt/livy/spark-jars/iceberg-aws-bundle-*.jar >/dev/null 2>&1; then \
        iceberg="$(sed -n 's:.*<iceberg.version>\(.*\)</iceberg.version>.*:\1:p' livy/pom.xml)"; \
        test -n "$iceberg"; \
        mvn -q -B -f livy/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
            -Dartifact="org.apache.iceberg:iceberg-aws-bundle:${iceberg}" \
            -DoutputDirectory=/opt/livy/spark-jars; \
    fi

# ---------------------------------------------------------------- 2. runtime
FROM python:3.11-slim-bookworm

# Debian's JRE postinst needs the man directory the slim image deletes.
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jre-headless tini; \
    rm -rf /var/lib/apt/lists/*

ENV APP_DIR=/opt/dagster-livy \
    DAGSTER_HOME=/opt/dagster/home \
    LIVY_LOCAL_DIR=/opt/livy \
    SPARK_CONF_DIR=/opt/dagster/spark-conf \
    PYTHON=python3 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1

WORKDIR ${APP_DIR}
# Dependencies first (cached while only the code changes): pyproject.toml is the one list, here
# the base and the extras of every layer the image runs (Dagster, the Jupyter kernel, the
# lakehouse code location, JupyterLab of `dev`), without the test tools.
# dagster X.Y.Z pairs with its libraries at 0.(Y+16).Z (1.13.27 -> dagster-postgres 0.29.27);
# dagster-postgres pins dagster exactly, so a wrong pair fails the build instead of drifting.
COPY pyproject.toml README.md ./
RUN set -eux; \
    python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; x = p["optional-dependencies"]; print("\n".join(r for r in p["dependencies"] + [r for e in ("dagster", "jupyter", "lakehouse", "dev") for r in x[e]] if not r.startswith("dagster-livy")))' \
        > /tmp/requirements.txt; \
    dagster="$(sed -n 's/^dagster==\(.*\)$/\1/p' /tmp/requirements.txt)"; \
    test -n "$dagster"; \
    minor="${dagster#*.}"; minor="${minor%%.*}"; patch="${dagster##*.}"; \
    pip install -r /tmp/requirements.txt "dagster-postgres==0.$((minor + 16)).${patch}"; \
    rm /tmp/requirements.txt
# The project itself, editable: its packages import from /opt/dagster-livy (dagster_livy and,
# per pyproject's package-dir, lakehouse_jobs from spark_scripts/). docker-compose.yml mounts
# ./spark_scripts over the copy, at the same path the livy image whitelists, so Dagster, the
# notebooks and Livy's batches run the very same files.
COPY dagster_livy ./dagster_livy
COPY spark_scripts ./spark_scripts
COPY notebooks ./notebooks
# ...and the pyspark-livy kernelspec (the jupyter service's kernel runs as a Livy batch).
RUN pip install --no-deps -e . && python -c 'import dagster_livy' \
    && python -m dagster_livy.jupyter.kernelspec install

COPY --from=spark-jars /opt/livy/spark-jars /opt/livy/spark-jars
COPY livy/livyctl.py livy/livyconf.py livy/livyjars.py livy/historyserver.py livy/stackproc.py livy/clusterctl.py livy/clusterpg.py livy/docker-entrypoint.sh ./livy/
COPY livy/conf ./livy/conf
COPY docker/spark-defaults.conf ./docker/spark-defaults.conf
COPY docker/dagster.yaml ${DAGSTER_HOME}/dagster.yaml

RUN set -eux; \
    chmod 0755 livy/docker-entrypoint.sh; \
    useradd --create-home --uid 1000 --user-group dagster; \
    mkdir -p ${SPARK_CONF_DIR} /opt/dagster/storage /var/lib/livy/staging /var/lib/livy/spark-events spark_scripts notebooks; \
    chown -R dagster:dagster /opt/dagster /var/lib/livy ${APP_DIR}/notebooks

USER dagster
EXPOSE 3000 8888
# Renders $SPARK_CONF_DIR/spark-defaults.conf, then runs the service's command.
ENTRYPOINT ["tini", "--", "/opt/dagster-livy/livy/docker-entrypoint.sh"]
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-m", "dagster_livy.lakehouse.definitions"]
