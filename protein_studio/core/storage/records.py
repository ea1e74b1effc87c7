"""Result records: what a project keeps of a prediction, a primer design or a generated set, as plain data
(``{"kind", "name", "data", "arrays", "provenance"}``) that :mod:`protein_studio.core.storage.project` writes
with the document it belongs to."""

from __future__ import annotations

import numpy as np

from protein_studio.core.provenance import provenance_now

__all__ = ["prediction_record", "primer_record", "generated_record", "designs_record", "read_designs_record"]

def prediction_record(result, *, name: str, source: str, wild_type: str | None, numbered: bool) -> dict:
    """The project record of a structure prediction (a FoldResult): the PDB text, pLDDT, pTM and PAE, and
    what made it."""
    return {"kind": "prediction", "name": name,
            "data": {"pdb_text": result.pdb_text, "model": result.model, "sequence": result.sequence,
                     "source": source, "wild_type": wild_type, "numbered": bool(numbered),
                     "mean_plddt": float(result.mean_plddt), "ptm": float(result.ptm),
                     "chain_ids": list(result.chain_ids), "chunk_size": result.chunk_size,
                     "seconds": float(result.seconds)},
            "arrays": {"plddt": np.asarray(result.plddt, dtype=float), "pae": np.asarray(result.pae, dtype=float)},
            "provenance": provenance_now(model=result.model, chunk_size=result.chunk_size)}


def primer_record(designs, protocol: str, conditions, windows, gene) -> dict:
    """The project record of a primer design (PrimerDesigns of core.primers): every variant's codons, notes,
    error and primers, with the protocol, Tm conditions, windows and gene they were made with."""
    return {"kind": "primers", "name": f"{protocol} primers for {len(designs)} variants",
            "data": {"protocol": protocol, "conditions": conditions.describe(),
                     "windows": vars(windows), "gene": {"name": gene.name, "source": gene.source, "dna": gene.dna},
                     "variants": [{"variant": d.variant, "codons": d.codons, "notes": d.notes, "error": d.error,
                                   "primers": [vars(p) for p in d.primers]} for d in designs]},
            "arrays": {}, "provenance": provenance_now()}


def generated_record(result, settings, fasta_text: str, model: str) -> dict:
    """The project record of a generated set (a GenerationResult): its FASTA, the sampling settings and
    the seed that give it again."""
    import dataclasses

    plain = {k: v for k, v in dataclasses.asdict(settings).items() if isinstance(v, (int, float, str, bool, type(None)))}
    seed = plain.get("seed")
    return {"kind": "generated", "name": f"Generated with {model}, seed {seed}",
            "data": {"settings": plain, "kept": len(result.kept), "sampled": len(result.candidates),
                     "fasta": fasta_text},
            "arrays": {}, "provenance": provenance_now(model=model, seed=seed)}


def designs_record(designs: list[dict], settings: dict, model: str) -> dict:
    """The project record of a ProteinMPNN redesign: every design (its sequence, mean negative log-likelihood,
    recovery, mutations in the document's numbering and seed) with the settings that give them again."""
    return {"kind": "designs", "name": f"Redesigned with {model}, seed {settings.get('seed')}",
            "data": {"settings": dict(settings), "model": model, "designs": list(designs)},
            "arrays": {}, "provenance": provenance_now(model=model, seed=settings.get("seed"))}


def read_designs_record(record: dict) -> tuple[list[dict], dict]:
    """The designs and settings of a ``designs`` record from a project (untrusted input), each field converted
    to its type.

    Raises
    ------
    ValueError
        A record that is not a redesign as :func:`designs_record` writes it.
    """
    data = record.get("data") if isinstance(record, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("designs"), list) or not isinstance(data.get("settings"),
                                                                                                    dict):
        raise ValueError("not a redesign record")
    designs = []
    for item in data["designs"]:
        if not isinstance(item, dict):
            raise ValueError("a design is not a record")
        try:
            designs.append({"name": str(item["name"]), "seed": int(item["seed"]), "nll": float(item["nll"]),
                            "recovery": float(item["recovery"]), "variant": str(item["variant"]),
                            "sequence": str(item["sequence"]), "changes": int(item["changes"])})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a design lacks or mistypes {exc}") from None
    return designs, dict(data["settings"])
