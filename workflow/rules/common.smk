import os

import yaml
from snakemake.utils import min_version, validate

min_version("9.19")

# One BLAS thread per job: parallel jobs on a 2-core machine must not oversubscribe it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


validate(config, schema="../schemas/config.schema.yaml")


def centre_files():
    """Raw files and mappings of every centre: a changed file or mapping reruns ingestion."""
    files = []
    for mapping in config["centres"]:
        with open(mapping, encoding="utf-8") as fh:
            files.append(yaml.safe_load(fh)["file"])
    return files
