"""``protein-studio primers INPUT (--dna GENE | --host HOST) --mutants ... --protocol q5|quikchange --out DIR``.

Writes ``order.csv`` (name, sequence 5'->3', length, Tm, GC %, scale, purification), ``variants_cds.fasta``
(the mutated full-length genes, one record per variant named by the variant) and ``plate_map.csv`` /
``plate_map.png`` (variants, wild type and an empty well on a 96-well plate) into DIR. Variants are named in
the numbering used (``--numbering``); see :mod:`protein_studio.core.primers` for the design rules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protein_studio.core.errors import InputError, UserError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from protein_studio.cli.project import add_project_argument
    from protein_studio.cli.scoring import input_arguments

    parser = subparsers.add_parser(
        "primers", help="mutagenesis primers, variant genes and a plate map for chosen variants",
        description="Design site-directed mutagenesis primers for variants of a protein from its coding "
                    "sequence (--dna, checked to translate to the protein) or a back-translation for a host, and "
                    "write order.csv, variants_cds.fasta, plate_map.csv and plate_map.png into --out.")
    input_arguments(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dna", metavar="GENE", help="the gene: FASTA or GenBank (its CDS feature) DNA")
    source.add_argument("--host", choices=("ecoli", "yeast", "human", "pichia"),
                        help="back-translate the protein with this host's most used codons")
    parser.add_argument("--codon-table", metavar="FILE",
                        help="codon usage CSV (python-codon-tables layout) for the host (needed for pichia)")
    parser.add_argument("--min-codon-frequency", type=float, default=0.1, metavar="F",
                        help="never choose a codon rarer than this in the host (default 0.1)")
    mutants = parser.add_mutually_exclusive_group(required=True)
    mutants.add_argument("--mutants", metavar="LIST", help="variants, e.g. E104K,G238S,E104K:G238S")
    mutants.add_argument("--mutants-file", metavar="FILE", help="one variant per line, or a table (as score reads)")
    parser.add_argument("--protocol", choices=("q5", "quikchange"), default="q5")
    parser.add_argument("--min-length", type=int, help="shortest primer (default q5 18, quikchange 25)")
    parser.add_argument("--max-length", type=int, help="longest primer (default 45)")
    parser.add_argument("--min-tm", type=float, help="lowest Tm in C (default q5 55, quikchange 75)")
    parser.add_argument("--max-tm", type=float, help="highest Tm in C (default q5 72, quikchange 90)")
    parser.add_argument("--primer-nm", type=float, default=500.0, help="primer concentration for the Tm (nM)")
    parser.add_argument("--na-mm", type=float, default=50.0, help="Na+ for the Tm (mM)")
    parser.add_argument("--mg-mm", type=float, default=2.0, help="Mg2+ for the Tm (mM)")
    parser.add_argument("--scale", default="25 nmol", help="synthesis scale on the order sheet")
    parser.add_argument("--purification", default="desalt", help="purification on the order sheet")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs (made if needed)")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from protein_studio.cli.scoring import load_input_document, read_mutants_file
    from protein_studio.core.dna import back_translate, codon_usage, read_coding_sequence
    from protein_studio.core.mutations import split_mutants
    from protein_studio.core.primers import Conditions, Windows, design_primers
    from protein_studio.core.session import DocumentState

    from dataclasses import replace

    doc = load_input_document(args)
    if args.mutants is not None:
        texts = [(t, None) for t in split_mutants(args.mutants)]
        source = "--mutants"
    else:
        texts, _skipped = read_mutants_file(args.mutants_file)
        source = Path(args.mutants_file).name
    if not texts:
        raise InputError("no variants given", source=source)
    variants = []
    for text, line in texts:
        try:
            variants.append(doc.parse_mutant(text))
        except InputError as exc:
            raise InputError(exc.reason, source=source, line=line) from None
    host = args.host or "ecoli"
    usage = codon_usage(host, args.codon_table) if (args.host or args.codon_table) else codon_usage("ecoli")
    if args.dna:
        gene = read_coding_sequence(args.dna, doc.wild_type)
    else:
        gene = back_translate(doc.wild_type, usage, args.min_codon_frequency, name=doc.name)
        gene = replace(gene, source=f"back-translated with the most used {host} codons")
    defaults = Windows.for_protocol(args.protocol)
    windows = Windows(args.min_length or defaults.min_length, args.max_length or defaults.max_length,
                      args.min_tm if args.min_tm is not None else defaults.min_tm,
                      args.max_tm if args.max_tm is not None else defaults.max_tm)
    if windows.min_length > windows.max_length or windows.min_tm > windows.max_tm:
        raise UserError("the length and Tm windows must have their minimum below their maximum")
    conditions = Conditions(args.primer_nm, args.na_mm, args.mg_mm)
    designs = design_primers(gene, variants, args.protocol, usage=usage,
                             min_frequency=args.min_codon_frequency, conditions=conditions, windows=windows,
                             names=[doc.name_mutant(v) for v in variants])
    written = write_order(Path(args.out), designs, doc, gene, args.protocol, conditions, windows, args.scale,
                          args.purification, host if not args.dna else None)
    bad = [d for d in designs if not d.ok]
    for design in bad:
        print(f"protein-studio primers: {design.variant}: {design.error or '; '.join(design.notes)}", file=sys.stderr)
    print(f"protein-studio primers: {len(designs) - len(bad)} of {len(designs)} variants designed without a "
          f"warning; wrote {', '.join(p.name for p in written)} to {args.out}", file=sys.stderr)
    from protein_studio.cli.project import add_to_project

    state = DocumentState(doc)
    state.results.append(primer_record(designs, args.protocol, conditions, windows, gene))
    add_to_project(args, [state], f"the primers of {len(designs)} variants")
    return 1 if any(d.error for d in designs) else 0


def primer_record(designs, protocol, conditions, windows, gene) -> dict:
    """The primers as a project result (kind ``primers``), with how they were made."""
    from protein_studio.core.project import provenance_now

    return {"kind": "primers", "name": f"{protocol} primers for {len(designs)} variants",
            "data": {"protocol": protocol, "conditions": conditions.describe(),
                     "windows": vars(windows), "gene": {"name": gene.name, "source": gene.source, "dna": gene.dna},
                     "variants": [{"variant": d.variant, "codons": d.codons, "notes": d.notes, "error": d.error,
                                   "primers": [vars(p) for p in d.primers]} for d in designs]},
            "arrays": {}, "provenance": provenance_now()}


def write_order(out: Path, designs, doc, gene, protocol, conditions, windows, scale, purification, host) -> list[Path]:
    """order.csv, variants_cds.fasta, plate_map.csv and plate_map.png into ``out`` (each atomically)."""
    from protein_studio.core.export import table_csv
    from protein_studio.core.files import write_bytes_atomically, write_text_atomically
    from protein_studio.core.primers import ORDER_COLUMNS, order_rows, plate_map, plate_map_png, variant_genes_fasta

    out.mkdir(parents=True, exist_ok=True)
    header = [f"protocol {protocol}; {conditions.describe()}",
              f"windows: length {windows.min_length}-{windows.max_length} nt, Tm {windows.min_tm:g}-{windows.max_tm:g} C",
              f"gene: {gene.name} ({gene.source})",
              f"numbering: {doc.scheme.description}"]
    layout = plate_map([d.variant for d in designs if not d.error])
    paths = [write_text_atomically(out / "order.csv", table_csv(order_rows(designs, scale, purification),
                                                                ORDER_COLUMNS, header)),
             write_text_atomically(out / "variants_cds.fasta", variant_genes_fasta(designs)),
             write_text_atomically(out / "plate_map.csv", table_csv(layout, ("well", "content"))),
             write_bytes_atomically(out / "plate_map.png", plate_map_png(layout, f"{doc.name}: {protocol} variants"))]
    return [Path(p) for p in paths]
