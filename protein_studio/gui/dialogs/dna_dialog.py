"""Run ▸ Design DNA: from the scan's substitutions at the selected positions to an order of primers.

Step 1, the library: the substitutions at the positions selected in the heatmap (or ranked table, sequence,
3D view), filtered (lowest score, residues never introduced, positions to keep), as every single, every
combination up to k, or the variant list; each with its additive score, and with Score Jointly the chosen
model's joint score and the difference (flagged above :data:`~protein_studio.core.cloning.library.EPISTASIS_THRESHOLD`).
Step 2, the DNA: the gene imported from a file (checked against the protein) or back-translated for a host;
the protocol and the windows. Design Primers fills the primer table; Write Order writes ``order.csv`` (a vendor's
bulk-upload sheet), ``primers.csv``, ``not_designed.csv``, ``variants_cds.fasta``, ``plate_map.csv``/``.png`` and,
for a gene imported with its plasmid, ``plasmids/*.gb`` into a folder.

The design (settings, library with its joint scores, gene, primers) is kept with the document as a
``"dna design"`` result, so a project opens with it: the dialog shows the design of the document shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from protein_studio.core.errors import UserError
from protein_studio.core.cloning.library import LIBRARY_COLUMNS
from protein_studio.gui.file_dialogs import choose_folder, open_file

__all__ = ["DesignDnaDialog"]


class DesignDnaDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Design DNA")
        self.library = []
        self.designs = []
        self.designed_gene = None  # the gene and windows the designs were made with (the order states them)
        self.windows = None
        self.gene = None
        self.gene_path: Path | None = None
        self.joint_job: int | None = None

        self.mode = QComboBox()
        for label, mode in (("Every single substitution", "singles"), ("Combinations up to k", "combinations"),
                            ("The variant list", "chosen")):
            self.mode.addItem(label, mode)
        self.order = QSpinBox(minimum=1, maximum=4, value=2)
        self.order.setToolTip("Largest number of substitutions combined in one variant")
        self.min_score = QDoubleSpinBox(minimum=-100.0, maximum=100.0, value=-100.0, decimals=2, singleStep=0.5)
        self.min_score.setToolTip("Leave out substitutions whose scan score is lower")
        self.exclude = QLineEdit("CP")
        self.exclude.setToolTip("Residues never introduced (letters), e.g. CP: no Cys or Pro")
        self.keep = QLineEdit()
        self.keep.setToolTip("Positions never mutated, in the numbering shown (e.g. 70, 73, 130)")
        self.positions = QLabel()
        build = QPushButton("Build Library")
        build.setToolTip("Make the variants from the scan's substitutions at the selected positions")
        build.clicked.connect(lambda: self.build_library())
        self.joint = QPushButton("Score Jointly")
        self.joint.setToolTip("Score every variant with the chosen model, all its positions masked at once")
        self.joint.clicked.connect(lambda: self.score_jointly())
        add = QPushButton("Add to Variants")
        add.setToolTip("Put the library's variants in the variant list")
        add.clicked.connect(lambda: self.add_to_variants())
        self.library_table = _table([column.replace("_", " ") for column in LIBRARY_COLUMNS])
        form = QFormLayout()
        for label, widget in (("Positions", self.positions), ("Variants", self.mode), ("k", self.order),
                              ("Lowest score", self.min_score), ("Never introduce", self.exclude),
                              ("Keep positions", self.keep)):
            form.addRow(label, widget)
        library_box = QGroupBox("1. Library")
        library_layout = QVBoxLayout(library_box)
        library_layout.addLayout(form)
        library_layout.addLayout(_row(build, self.joint, add))
        library_layout.addWidget(self.library_table)

        self.gene_label = QLabel("No gene imported: the protein is back-translated for the host")
        gene_button = QPushButton("Import Gene\u2026")
        gene_button.setToolTip("The gene's coding sequence (FASTA or GenBank DNA), checked against the protein")
        gene_button.clicked.connect(lambda: self.import_gene())
        self.host = QComboBox()
        for host in ("ecoli", "yeast", "human", "pichia"):
            self.host.addItem(host, host)
        self.host.setToolTip("Codon usage for back-translation and for choosing mutant codons")
        self.protocol = QComboBox()
        self.protocol.addItem("Q5 (back-to-back)", "q5")
        self.protocol.addItem("QuikChange (overlapping)", "quikchange")
        self.protocol.currentIndexChanged.connect(self._protocol_defaults)
        self.min_length, self.max_length = QSpinBox(minimum=10, maximum=80), QSpinBox(minimum=10, maximum=80)
        self.min_tm, self.max_tm = (QDoubleSpinBox(minimum=30, maximum=100, decimals=1),
                                    QDoubleSpinBox(minimum=30, maximum=100, decimals=1))
        design = QPushButton("Design Primers")
        design.setToolTip("Design the primers of every variant of the library")
        design.clicked.connect(lambda: self.design())
        write = QPushButton("Write Order\u2026")
        write.setToolTip("Write order.csv (a vendor's bulk-upload sheet), primers.csv, the variant genes (and plasmids) "
                         "and the plate map into a folder")
        write.clicked.connect(lambda: self.write_order())
        self.primer_table = _table(("name", "sequence", "length", "Tm", "GC %", "anneal C", "variant", "note"),
                                   sortable=False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        dna_form = QFormLayout()
        dna_form.addRow(self.gene_label, gene_button)
        dna_form.addRow("Host", self.host)
        dna_form.addRow("Protocol", self.protocol)
        dna_form.addRow("Length (nt)", _row(self.min_length, self.max_length))
        dna_form.addRow("Tm (\u00b0C)", _row(self.min_tm, self.max_tm))
        dna_box = QGroupBox("2. DNA and primers")
        dna_layout = QVBoxLayout(dna_box)
        dna_layout.addLayout(dna_form)
        dna_layout.addLayout(_row(design, write))
        dna_layout.addWidget(self.primer_table)
        layout = QVBoxLayout(self)
        layout.addWidget(library_box)
        layout.addWidget(dna_box)
        layout.addWidget(self.status)
        self.buttons = {"build": build, "joint": self.joint, "add": add, "gene": gene_button, "design": design,
                        "write": write}
        self._protocol_defaults()
        window.mediator.subscribe(self, lambda indices, source: self._show_positions())
        window.worker.jobFinished.connect(self._on_joint)
        window.session.documents_changed.connect(self.restore_design)
        self._restoring = False
        self._show_positions()
        self.restore_design()
        self.resize(900, 820)

    # the design, kept with the document ----------------------------------------------------------
    def _record(self, state=None) -> dict | None:
        state = state or self.window.session.state
        if state is None:
            return None
        return next((r for r in state.results if r["kind"] == "dna design"), None)

    def save_design(self) -> None:
        """Keep the design with the document shown (its project keeps it)."""
        state = self.window.session.state
        if state is None or self._restoring:
            return
        from protein_studio.core.provenance import provenance_now

        gene = self.gene
        data = {"settings": {"mode": self.mode.currentData(), "order": self.order.value(),
                             "min_score": self.min_score.value(), "exclude": self.exclude.text(),
                             "keep": self.keep.text(), "host": self.host.currentData(),
                             "protocol": self.protocol.currentData(),
                             "windows": [self.min_length.value(), self.max_length.value(), self.min_tm.value(),
                                         self.max_tm.value()]},
                "library": [{"variant": str(e.variant), "additive": e.additive, "joint": e.joint} for e in self.library],
                "gene": None if gene is None else {**gene.to_dict(),
                                                   "file": self.gene_path.name if self.gene_path else ""},
                "designed": bool(self.designs)}
        record = {"kind": "dna design", "name": f"DNA design: {len(self.library)} variants, "
                                                f"{self.protocol.currentData()}",
                  "data": data, "arrays": {}, "provenance": provenance_now()}
        old = self._record(state)
        if old is not None:
            state.results[state.results.index(old)] = record
        else:
            state.results.append(record)
        self.window.session.modified.emit()

    def restore_design(self) -> None:
        """Show the design of the document shown (empty for one without)."""
        from protein_studio.core.cloning.dna import CodingSequence
        from protein_studio.core.cloning.library import LibraryVariant
        from protein_studio.core.molecules.mutations import parse_mutant

        record = self._record()
        self._restoring = True
        try:
            self.library, self.designs, self.gene, self.gene_path = [], [], None, None
            self.designed_gene = self.windows = None
            if record is None:
                self.gene_label.setText("No gene imported: the protein is back-translated for the host")
                _fill(self.library_table, [])
                _fill(self.primer_table, [])
                return
            data = record["data"]
            settings = data.get("settings", {})
            self.mode.setCurrentIndex(max(0, self.mode.findData(settings.get("mode", "singles"))))
            self.order.setValue(int(settings.get("order", 2)))
            self.min_score.setValue(float(settings.get("min_score", -100.0)))
            self.exclude.setText(str(settings.get("exclude", "CP")))
            self.keep.setText(str(settings.get("keep", "")))
            self.host.setCurrentIndex(max(0, self.host.findData(settings.get("host", "ecoli"))))
            self.protocol.setCurrentIndex(max(0, self.protocol.findData(settings.get("protocol", "q5"))))
            windows = settings.get("windows")
            if windows:
                self.min_length.setValue(int(windows[0]))
                self.max_length.setValue(int(windows[1]))
                self.min_tm.setValue(float(windows[2]))
                self.max_tm.setValue(float(windows[3]))
            self.library = [LibraryVariant(parse_mutant(e["variant"]), float(e["additive"]),
                                           None if e.get("joint") is None else float(e["joint"]))
                            for e in data.get("library", [])]
            gene = data.get("gene")
            if gene:
                doc = self.window.session.document
                self.gene = CodingSequence.from_dict(gene, doc.wild_type if doc is not None else None,
                                                     "the project's DNA design")
                self.gene_path = Path(str(gene["file"])) if gene.get("file") else None
                where = f", CDS {self.gene.feature} {self.gene.location}" if self.gene.feature else ""
                self.gene_label.setText(f"Gene: {gene.get('file') or self.gene.name}{where} ({len(self.gene.dna)} "
                                        f"bases, checked)")
            self._fill_library()
            if data.get("designed"):
                self.design()  # the same gene, library and rules give the same primers
            else:
                _fill(self.primer_table, [])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, UserError) as exc:
            # a project is untrusted input: a damaged design is said, and the dialog starts empty
            self.library, self.designs, self.gene, self.gene_path = [], [], None, None
            _fill(self.library_table, [])
            _fill(self.primer_table, [])
            self.gene_label.setText("No gene imported: the protein is back-translated for the host")
            self.window.activity.add_entry(f"The DNA design kept with this document could not be read and was left "
                                           f"out: {exc}")
        finally:
            self._restoring = False

    # library ---------------------------------------------------------------------------------
    def _show_positions(self) -> None:
        doc = self.window.session.document
        chosen = sorted(self.window.mediator.selection)
        if doc is None or not chosen:
            self.positions.setText("none selected: select positions in the heatmap, ranked table or sequence")
        else:
            self.positions.setText(", ".join(doc.residue_text(i) for i in chosen[:12]) + (" \u2026" if len(chosen) > 12 else ""))

    def build_library(self) -> int:
        from protein_studio.core.cloning.library import LibraryFilters, build_library, candidates_at

        doc, scan = self.window.session.document, self.window.session.scan
        try:
            mode = self.mode.currentData()
            if mode == "chosen":
                from protein_studio.core.cloning.library import LibraryVariant

                self.library = [LibraryVariant(v, self.window.session.scan.additive_score(v)
                                               if scan is not None else float("nan"))
                                for v in self.window.session.variants]
            else:
                if doc is None or scan is None:
                    raise UserError("run a scan first: the library is made from its scores")
                chosen = sorted(self.window.mediator.selection)
                if not chosen:
                    raise UserError("select positions first (click or drag in the heatmap)")
                keep = frozenset(doc.scheme.parse_positions(self.keep.text())) if self.keep.text().strip() else frozenset()
                filters = LibraryFilters(min_score=self.min_score.value(), exclude_introduced=self.exclude.text().upper(),
                                         keep=keep)
                self.library = build_library(candidates_at(scan.scores, doc.wild_type, chosen), mode,
                                             self.order.value(), filters)
        except UserError as exc:
            self.status.setText(str(exc))
            return 0
        self._fill_library()
        self.status.setText(f"{len(self.library)} variants in the library")
        self.save_design()
        return len(self.library)

    def _fill_library(self) -> None:
        from protein_studio.core.cloning.library import library_rows

        if self.window.session.document is None:
            return
        name = self.window.session.document.name_mutant
        _fill(self.library_table, library_rows(self.library, name))

    def score_jointly(self) -> int | None:
        """Score the library's variants with the chosen model, all positions masked at once (worker)."""
        from protein_studio.gui.worker import Job

        doc = self.window.session.document
        if not self.library or doc is None:
            self.status.setText("build a library first")
            return None
        if not self.window.models.require_on_disk(self.window.models.model_name, "score variants"):
            return None
        variants = [entry.variant for entry in self.library]

        def run(ctx, loaded):
            from protein_studio.engines.scoring import model_for_document, score_mutants

            return score_mutants(doc.wild_type, variants, model_for_document(loaded, doc), ctx, multi="joint")

        self.joint_job = self.window.jobs.submit(Job(f"Score {len(variants)} library variants jointly", run,
                                                    model=self.window.models.model_name, device=self.window.models.device,
                                                    kind="library"))
        return self.joint_job

    def _on_joint(self, job_id: int, result) -> None:
        if job_id != self.joint_job:
            return
        from protein_studio.core.cloning.library import with_joint_scores

        self.joint_job = None
        with_joint_scores(self.library, dict(zip(result.mutants, (float(s) for s in result.scores))))
        self._fill_library()
        self.save_design()
        flagged = sum(entry.epistasis for entry in self.library)
        self.status.setText(f"joint scores from {result.model}; {flagged} variants differ from additive by more "
                            f"than the epistasis threshold")

    def add_to_variants(self) -> int:
        added = sum(bool(self.window.session.add_variant(entry.variant)) for entry in self.library)
        self.status.setText(f"{added} variants added to the variant list")
        return added

    # DNA -------------------------------------------------------------------------------------
    def _protocol_defaults(self) -> None:
        from protein_studio.core.cloning.primers import Windows

        windows = Windows.for_protocol(self.protocol.currentData())
        self.min_length.setValue(windows.min_length)
        self.max_length.setValue(windows.max_length)
        self.min_tm.setValue(windows.min_tm)
        self.max_tm.setValue(windows.max_tm)

    def import_gene(self, path: str | Path | None = None) -> bool:
        from protein_studio.core.cloning.dna import read_coding_sequence

        if path is None:
            path = open_file(self, "gene", "Import the gene", "DNA (*.fasta *.fa *.fna *.gb *.gbk *.genbank);;All files (*)")
            if not path:
                return False
        doc = self.window.session.document
        protein = doc.wild_type if doc is not None else None
        try:
            try:
                self.gene = read_coding_sequence(path, protein)
            except UserError:
                feature = self._choose_feature(path, protein)  # a plasmid whose gene is not picked by itself
                if feature is None:
                    raise
                self.gene = read_coding_sequence(path, protein, feature)
        except UserError as exc:
            self.window.show_error("Cannot use this gene", str(exc))
            return False
        self.gene_path = Path(path)
        where = f", CDS {self.gene.feature} {self.gene.location}" if self.gene.feature else ""
        self.gene_label.setText(f"Gene: {self.gene_path.name}{where} ({len(self.gene.dna)} bases, checked)")
        self.save_design()
        return True

    def _choose_feature(self, path, protein) -> str | None:
        """A GenBank file whose CDS is not picked by itself: the user chooses from its CDS features (each with
        whether and where it differs from the protein); its index, or None."""
        from PySide6.QtWidgets import QInputDialog

        from protein_studio.core.cloning.dna import genbank_cds

        try:
            features = genbank_cds(path, protein)
        except UserError:
            return None
        if len(features) < 2:
            return None
        labels = [f.describe() for f in features]
        chosen, ok = QInputDialog.getItem(self, "Choose the gene", f"{Path(path).name} has {len(features)} CDS "
                                          f"features; which one is the gene?", labels, 0, False)
        return str(features[labels.index(chosen)].index) if ok and chosen in labels else None

    def _gene_and_usage(self):
        from protein_studio.core.cloning.dna import back_translate, codon_usage

        host = self.host.currentData()
        usage = codon_usage(host)
        if self.gene is not None:
            return self.gene, usage
        doc = self.window.session.document
        return back_translate(doc.wild_type, usage, 0.1, name=doc.name, host=host), usage

    def design(self) -> int:
        from protein_studio.core.cloning.primers import Windows, design_primers, order_rows

        doc = self.window.session.document
        if doc is None or not self.library:
            self.status.setText("build a library first")
            return 0
        try:
            gene, usage = self._gene_and_usage()
            self.windows = Windows(self.min_length.value(), self.max_length.value(), self.min_tm.value(),
                                   self.max_tm.value())
            variants = [entry.variant for entry in self.library]
            self.designs = design_primers(gene, variants, self.protocol.currentData(), usage=usage,
                                          min_frequency=0.1, windows=self.windows,
                                          names=[doc.name_mutant(v) for v in variants])
        except UserError as exc:
            self.window.show_error("Cannot design primers", str(exc))
            return 0
        self.designed_gene = gene
        rows = [[r[0], r[1], r[2], r[3], r[4], r[9], r[7], r[8]] for r in order_rows(self.designs)]
        _fill(self.primer_table, rows)
        marked = sum(not d.ok for d in self.designs)
        self.status.setText(f"{sum(len(d.primers) for d in self.designs)} primers for {len(self.designs)} variants"
                            + (f"; {marked} variants marked (see their notes)" if marked else ""))
        self.save_design()
        return len(self.designs)

    def write_order(self, folder: str | Path | None = None) -> list[Path]:
        from protein_studio.core.cloning.primers import Conditions, write_order
        from protein_studio.core.storage.records import primer_record

        if not self.designs:
            self.status.setText("design the primers first")
            return []
        if folder is None:
            folder = choose_folder(self, "order", "Folder for the order")
            if not folder:
                return []
        doc = self.window.session.document
        protocol = self.protocol.currentData()
        try:
            written = write_order(Path(folder), self.designs, doc, self.designed_gene, protocol, Conditions(),
                                  self.windows)
        except UserError as exc:
            self.window.show_error("Cannot write the order", str(exc))
            return []
        state = self.window.session.state
        state.results.append(primer_record(self.designs, protocol, Conditions(), self.windows, self.designed_gene))
        self.window.session.modified.emit()
        self.window.activity.add_entry(f"Wrote the order of {len(self.designs)} variants to {folder}")
        self.status.setText("Wrote " + ", ".join(p.name for p in written))
        return written


def _table(columns, sortable: bool = True) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSortingEnabled(sortable)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    return table


def _fill(table: QTableWidget, rows) -> None:
    """Rows into ``table``; numbers are stored as numbers, so that a click on a column sorts them as such."""
    sortable = table.isSortingEnabled()
    table.setSortingEnabled(False)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem()
            try:
                item.setData(Qt.DisplayRole, float(value) if "." in str(value) else int(value))
            except (TypeError, ValueError):
                item.setData(Qt.DisplayRole, str(value))
            table.setItem(r, c, item)
    table.setSortingEnabled(sortable)


def _row(*widgets) -> QHBoxLayout:
    layout = QHBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    return layout
