"""Rule ``run_config``: the resolved configuration of this run, written under results/ so that
every result set says which settings made it."""

from __future__ import annotations


def main(*, out_yaml, config) -> None:
    from pathlib import Path

    import yaml

    Path(out_yaml).parent.mkdir(parents=True, exist_ok=True)
    with open(out_yaml, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("# Resolved configuration of the run that produced these results "
                 "(written by the pipeline).\n")
        yaml.safe_dump(config, fh, sort_keys=True, allow_unicode=True, default_flow_style=False)
