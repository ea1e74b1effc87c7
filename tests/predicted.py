"""The PABP_YEAST 126-200 prediction of tests/data as a predictor writes it: nothing in the shared file says
that its B-factor column is pLDDT, so the tests that need a prediction give it the evidence a predictor's
output carries (ColabFold's file name, or a predictor's header line)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
PABP = DATA / "PABP_YEAST_126-200_predicted.pdb"
#: ColabFold's name for the best-ranked unrelaxed model of a job named ``pabp``
COLABFOLD_NAME = "pabp_unrelaxed_rank_001_alphafold2_ptm_model_1_seed_000.pdb"


def predicted_pabp(folder: Path) -> Path:
    """The model written under ColabFold's file name into ``folder``."""
    path = Path(folder) / COLABFOLD_NAME
    path.write_text(PABP.read_text())
    return path


def predicted_pabp_text() -> str:
    """The model's PDB text with a predictor's header line."""
    return "TITLE     COLABFOLD PREDICTION OF PABP_YEAST 126-200\n" + PABP.read_text()
