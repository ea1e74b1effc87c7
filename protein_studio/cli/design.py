"""``protein-studio design``: new sequences for a fixed backbone with ProteinMPNN.

``design 1ubq.pdb --n 16 --temperature 0.1 --out designs.fasta`` writes 16 designs (never the native) as FASTA,
each header with its mean negative log-likelihood, recovery and seed, and the same as a table beside it
(``designs.csv``, with the mutations in the structure's numbering, provenance in ``designs.csv.json``).
Positions not designed keep their letters; chains not designed are context; ``--tie-chains`` gives the
chains of a homo-oligomer one sequence. The same seed and settings write the same files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protein_studio.cli.options import number, whole
from protein_studio.core.errors import InputError

__all__ = ["register", "run", "DESIGN_COLUMNS"]

DESIGN_COLUMNS = ("design", "seed", "nll", "recovery", "mutation_count", "mutations", "sequence", "model",
                  "temperature")


def _bias(text: str | None) -> dict:
    out = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        letter, _, value = item.partition(":")
        letter = letter.strip().upper()
        try:
            amount = float(value)
        except ValueError:
            raise InputError(f"--bias {item.strip()!r}: write LETTER:VALUE, e.g. A:-1,W:0.5") from None
        if not -100 <= amount <= 100:
            raise InputError(f"--bias {item.strip()!r}: the value must be from -100 to 100")
        out[letter] = amount
    return out


def _chains(text: str | None) -> list[str] | None:
    return None if not text else [c.strip() for c in text.split(",") if c.strip()]


def _chain_documents(path, structure, chains) -> dict:
    """A document of each designed chain, whose numbering names its positions and mutations."""
    from protein_studio.core.documents.document import load_document

    return {c: load_document([path], chain=c, structure=structure) for c in chains}


def _residues(positions: str | None, documents: dict):
    """The residues ``--positions`` names, read in the numbering of each designed chain's document (a position
    may be in several chains: a homo-oligomer); None for all."""
    if not positions:
        return None
    picked = set()
    for token in (t.strip() for t in positions.replace(";", ",").split(",")):
        if not token:
            continue
        found = False
        for document in documents.values():
            try:
                indices = document.scheme.parse_positions(token)
            except InputError:
                continue
            picked.update(document.numbering.residues[i] for i in indices)
            found = True
        if not found:
            spans = ", ".join(f"{c} {d.label(0)}-{d.label(len(d) - 1)}" for c, d in documents.items())
            raise InputError(f"position {token} is in none of the designed chains ({spans})", source="--positions")
    return picked


def _mutation_text(item, backbone, chain: str, document) -> str:
    """The design's changes in ``chain`` named by its document (``K6R:L8V``), empty when none."""
    from protein_studio.core.molecules.mutations import MultiMutant, Mutation

    index_of = {}
    for index, residue in enumerate(document.numbering.residues):
        index_of.setdefault(residue, index)
    changes = [Mutation(index_of[backbone.residues[node]] + 1, native, new)
               for node, native, new in item.mutations if backbone.chains[node] == chain]
    return document.name_mutant(MultiMutant(tuple(changes))) if changes else ""


def run(args) -> int:
    """Handler of ``protein-studio design``."""
    from protein_studio.cli.folding import check_output
    from protein_studio.cli.terminal import StatusLine
    from protein_studio.core.files import printable, write_text_atomically
    from protein_studio.core.job_context import JobContext
    from protein_studio.core.molecules.structures import load_structure
    from protein_studio.core.tables import write_table
    from protein_studio.core.molecules.sequences import ProteinSequence, format_fasta
    from protein_studio.engines.inverse_folding import bind_structure, design, designable_nodes, tied_groups

    structure = load_structure(args.structure)
    chains = _chains(args.chains) or list(structure.chain_ids)
    backbone_chains = chains + [c for c in structure.chain_ids if c not in chains]
    omit = (args.omit or "").upper().replace(",", "").replace(" ", "")
    bias = _bias(args.bias)
    check_output(args.out)
    if not args.out.lower().endswith((".fasta", ".fa", ".faa")):
        raise InputError(f"--out {args.out}: give a FASTA name (designs.fasta); the table goes beside it")
    from protein_studio.models.catalog import get_spec
    from protein_studio.models.loader import load_model
    from protein_studio.models.registry import INVERSE_FOLDING_FAMILIES

    if get_spec(args.model).family not in INVERSE_FOLDING_FAMILIES:
        raise InputError(f"{args.model} is not a ProteinMPNN model; design takes proteinmpnn-... models")
    loaded = load_model(args.model, args.device)
    bound = bind_structure(loaded, structure, backbone_chains)
    backbone = bound.backbone.backbone
    documents = _chain_documents(args.structure, structure, chains)
    designable = designable_nodes(backbone, chains, _residues(args.positions, documents))
    tied = tied_groups(backbone, _chains(args.tie_chains)) if args.tie_chains else None
    if tied:
        outside = [c for c in _chains(args.tie_chains) if c not in chains]
        if outside:
            raise InputError(f"--tie-chains {args.tie_chains}: chain {outside[0]} is not designed (--chains)")
    status = StatusLine("protein-studio design")
    ctx = JobContext(on_progress=status, on_warning=status.warn)
    incomplete = backbone.incomplete(bool(loaded.spec.architecture.get("ca_only")))
    if incomplete:
        status.warn(f"{len(incomplete)} residues have no complete backbone and keep their letters "
                    f"({', '.join(str(r) for r in incomplete[:5])}{' ...' if len(incomplete) > 5 else ''})")
    designs = design(bound, ctx, designable=designable, n=args.n, temperature=args.temperature, omit=omit,
                     bias=bias, tied=tied, seed=args.seed)
    records, rows = [], []
    for k, item in enumerate(designs, start=1):
        sequence = ":".join(item.chains[c] for c in chains)
        texts = [(c, _mutation_text(item, backbone, c, documents[c])) for c in chains]
        mutations = texts[0][1] if len(chains) == 1 else "; ".join(f"{c}/{t}" for c, t in texts if t)
        starts = [sum(len(item.chains[c]) for c in chains[:j]) for j in range(1, len(chains))]
        records.append(ProteinSequence(
            f"design_{k}", sequence.replace(":", ""), chain_breaks=tuple(starts),
            description=f"model={loaded.spec.name} T={args.temperature:g} seed={item.seed} nll={item.nll:.4f} "
                        f"recovery={item.recovery:.3f} mutations={len(item.mutations)}"))
        rows.append((f"design_{k}", item.seed, f"{item.nll:.4f}", f"{item.recovery:.4f}", len(item.mutations),
                     mutations, sequence, loaded.spec.name, f"{args.temperature:g}"))
    provenance = {"model": loaded.spec.name, "weights": loaded.weights_identity, "structure": str(args.structure),
                  "designed_chains": ",".join(chains), "context_chains": ",".join(backbone_chains[len(chains):]),
                  "positions": args.positions or "all", "temperature": args.temperature, "omit": omit,
                  "bias": bias, "tied_chains": args.tie_chains or "", "seed": args.seed, "n": args.n,
                  "numbering": "; ".join(f"chain {c}: {documents[c].scheme.description}" for c in chains)}
    write_text_atomically(args.out, format_fasta(records))
    table = Path(args.out).with_suffix(".csv")
    write_table(table, rows, DESIGN_COLUMNS, provenance)
    for item, row in zip(designs, rows):
        print(printable(f"{row[0]}  nll {item.nll:.3f}  recovery {100 * item.recovery:.1f}%  "
                        f"{len(item.mutations)} mutations"))
    recovery = sum(d.recovery for d in designs) / len(designs)
    print(f"protein-studio design: {len(designs)} designs (mean recovery {100 * recovery:.1f}%); wrote {args.out} "
          f"and {table}", file=sys.stderr)
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``design`` subcommand."""
    parser = subparsers.add_parser(
        "design", help="design sequences for a fixed backbone with ProteinMPNN (FASTA and a table)",
        description="Sample sequences for the backbone of a structure with ProteinMPNN (Dauparas et al. 2022). "
                    "Positions not designed keep their letters; chains not designed are context.")
    parser.add_argument("structure", metavar="STRUCTURE", help="PDB or mmCIF file")
    parser.add_argument("--chains", metavar="A,B", help="chains to design (default: all)")
    parser.add_argument("--positions", metavar="LIST",
                        help="residue numbers to design in each designed chain, e.g. 10-40,77 (default: all)")
    parser.add_argument("--n", type=whole(1, 10_000), default=8, help="designs to write (default: 8)")
    parser.add_argument("--temperature", type=number(0, 10, above=True), default=0.1,
                        help="sampling temperature (default: 0.1)")
    parser.add_argument("--model", default="proteinmpnn-v48-020", metavar="NAME",
                        help="a proteinmpnn-... model (default: proteinmpnn-v48-020)")
    parser.add_argument("--omit", metavar="LETTERS", help="amino acids never placed, e.g. C")
    parser.add_argument("--bias", metavar="A:-1,...", help="added to the logits of these amino acids")
    parser.add_argument("--tie-chains", metavar="A,B", help="give these chains one sequence (homo-oligomers)")
    parser.add_argument("--seed", type=whole(0, 2**31 - 1), default=0, help="the same seed gives the same designs")
    parser.add_argument("--out", required=True, metavar="FASTA", help="designs.fasta; designs.csv goes beside it")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.set_defaults(handler=run)
    return parser
