"""The peer's equivalent of an ungated release, run as its own process by ``bench_cli.py``.

SDV 2.0 as its docs show it: read the CSV, detect metadata, fit ``GaussianCopulaSynthesizer``, sample as
many rows as the input has, write them, and score them with SDMetrics ``QualityReport``. No holdout, no
privacy checks, no report files.

Usage: ``python evaluation/_peer_sdv.py INPUT.csv OUTPUT.csv``
"""

from __future__ import annotations

import logging
import sys
import warnings


def main(source: str, target: str) -> None:
    warnings.simplefilter("ignore")
    import pandas as pd
    from sdmetrics.reports.single_table import QualityReport
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    real = pd.read_csv(source)
    metadata = Metadata.detect_from_dataframes({"table": real})
    synthesizer = GaussianCopulaSynthesizer(metadata)
    synthesizer.fit({"table": real})  # SDV 2.0: data is a {table name: frame} dict
    synthetic = synthesizer.sample(len(real))
    if isinstance(synthetic, dict):
        synthetic = synthetic["table"]
    synthetic.to_csv(target, index=False)
    report = QualityReport()
    report.generate(real, synthetic, metadata.to_dict()["tables"]["table"], verbose=False)
    print(f"quality {report.get_score():.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
