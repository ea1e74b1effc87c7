"""``protein-studio primers INPUT (--dna GENE | --host HOST) --mutants ... --protocol q5|quikchange --out DIR``.

Writes ``order.csv`` (IDT's bulk-upload layout: Name, Sequence 5'->3', Scale, Purification, one row per distinct
oligo), ``primers.csv`` (length, Tm, GC %, annealing temperature and the variants of each), ``variants_cds.fasta``
(the mutated full-length genes, one record per variant named by the variant) and ``plate_map.csv`` /
``plate_map.png`` (variants, wild type and an empty well on a 96-well plate) into DIR. Variants are named in
the numbering used (``--numbering``); see :mod:`protein_studio.core.cloning.primers` for the design rules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protein_studio.core.errors import UserError
from protein_studio.cli.options import number, whole

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from protein_studio.cli.project import add_project_argument
    from protein_studio.cli.scoring import input_arguments

    parser = subparsers.add_parser(
        "primers", help="mutagenesis primers, variant genes and a plate map for chosen variants",
        description="Design site-directed mutagenesis primers for variants of a protein from its coding "
                    "sequence (--dna, checked to translate to the protein) or a back-translation for a host, and "
                    "write order.csv (a vendor's bulk-upload sheet), primers.csv, not_designed.csv, variants_cds.fasta, "
                    "plate_map.csv, plate_map.png and, for a gene read from its plasmid, plasmids/*.gb into --out.")
    input_arguments(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dna", metavar="GENE",
                        help="the gene: FASTA, or a GenBank record such as a plasmid (the CDS feature that encodes "
                             "the protein is picked; --feature chooses another)")
    source.add_argument("--host", choices=("ecoli", "yeast", "human", "pichia"),
                        help="back-translate the protein with this host's most used codons")
    parser.add_argument("--feature", metavar="NAME|INDEX",
                        help="with a GenBank --dna: the CDS feature to use, by gene name or 1-based index")
    parser.add_argument("--codon-table", metavar="FILE",
                        help="codon usage CSV (python-codon-tables layout) instead of the host's table")
    parser.add_argument("--min-codon-frequency", type=number(0, 1), default=0.1, metavar="F",
                        help="never choose a codon rarer than this in the host (default 0.1)")
    mutants = parser.add_mutually_exclusive_group(required=True)
    mutants.add_argument("--mutants", metavar="LIST", help="variants, e.g. E104K,G238S,E104K:G238S")
    mutants.add_argument("--mutants-file", metavar="FILE", help="one variant per line, or a table (as score reads)")
    parser.add_argument("--protocol", choices=("q5", "quikchange"), default="q5")
    parser.add_argument("--min-length", type=whole(10, 200), help="shortest primer (default q5 18, quikchange 25)")
    parser.add_argument("--max-length", type=whole(10, 200), help="longest primer (default 45)")
    parser.add_argument("--min-tm", type=number(0, 100), help="lowest Tm in C (default q5 55, quikchange 75)")
    parser.add_argument("--max-tm", type=number(0, 100), help="highest Tm in C (default q5 72, quikchange 90)")
    parser.add_argument("--primer-nm", type=number(0, 1_000_000, above=True), default=500.0, help="primer concentration for the Tm (nM)")
    parser.add_argument("--na-mm", type=number(0, 5000), default=50.0, help="Na+ for the Tm (mM)")
    parser.add_argument("--mg-mm", type=number(0, 1000), default=2.0, help="Mg2+ for the Tm (mM)")
    parser.add_argument("--scale", default="25 nmol",
                        help="synthesis scale on the order sheet: 25 nmol (default), 100 nmol, 250 nmol, 1 umol, "
                             "5 umol or 10 umol")
    parser.add_argument("--purification", default="desalt",
                        help="purification on the order sheet: desalt (default), HPLC or PAGE")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs (made if needed)")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from protein_studio.cli.project import add_to_project
    from protein_studio.cli.scoring import load_input_document, read_mutants
    from protein_studio.core.cloning.dna import back_translate, codon_usage, read_coding_sequence
    from protein_studio.core.cloning.primers import Conditions, Windows, design_primers, write_order
    from protein_studio.core.storage.records import primer_record
    from protein_studio.core.documents.session import DocumentState

    from protein_studio.core.cloning.primers import order_purification, order_scale

    from protein_studio.core.files import make_output_folder, printable

    scale, purification = order_scale(args.scale), order_purification(args.purification)  # before any work
    make_output_folder(args.out)
    if args.na_mm == 0 and args.mg_mm == 0:
        raise UserError("--na-mm and --mg-mm cannot both be 0: the Tm needs a salt concentration")
    doc = load_input_document(args)
    names, variants = zip(*read_mutants(args, doc))
    for name, variant in zip(names, variants):
        unchanged = [m for m in variant.mutations if m.wt == m.mt]
        if unchanged:
            raise UserError(f"{name} changes nothing ({unchanged[0].wt} stays {unchanged[0].mt}): there is no "
                            f"mutation to make primers for; leave it out")
    host = args.host or "ecoli"  # mutant codons follow E. coli's usage unless a host is named
    usage = codon_usage(host, args.codon_table)
    if args.feature and not args.dna:
        raise UserError("--feature picks a CDS of a GenBank --dna file; give --dna")
    if args.dna:
        gene = read_coding_sequence(args.dna, doc.wild_type, args.feature)
        if gene.feature:
            print(printable(f"protein-studio primers: gene: CDS {gene.feature} {gene.location} of {gene.source}"),
                  file=sys.stderr)
    else:
        gene = back_translate(doc.wild_type, usage, args.min_codon_frequency, name=doc.name, host=host)
    defaults = Windows.for_protocol(args.protocol)
    windows = Windows(args.min_length or defaults.min_length, args.max_length or defaults.max_length,
                      args.min_tm if args.min_tm is not None else defaults.min_tm,
                      args.max_tm if args.max_tm is not None else defaults.max_tm)
    if windows.min_length > windows.max_length or windows.min_tm > windows.max_tm:
        raise UserError("the length and Tm windows must have their minimum below their maximum")
    conditions = Conditions(args.primer_nm, args.na_mm, args.mg_mm)
    designs = design_primers(gene, variants, args.protocol, usage=usage, min_frequency=args.min_codon_frequency,
                             conditions=conditions, windows=windows, names=list(names))
    written = write_order(Path(args.out), designs, doc, gene, args.protocol, conditions, windows, scale,
                          purification)
    bad = [d for d in designs if not d.ok]
    for design in bad:
        print(f"protein-studio primers: {design.variant}: {design.error or '; '.join(design.notes)}", file=sys.stderr)
    print(f"protein-studio primers: {len(designs) - len(bad)} of {len(designs)} variants designed without a "
          f"warning; wrote {', '.join(p.name for p in written)} to {args.out}", file=sys.stderr)
    state = DocumentState(doc)
    state.results.append(primer_record(designs, args.protocol, conditions, windows, gene))
    add_to_project(args, [state], f"the primers of {len(designs)} variants")
    return 1 if any(d.error for d in designs) else 0
