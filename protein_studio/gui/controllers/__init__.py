"""One controller per concern of the main window. Each owns its menu actions and connects the panels to
the session for its concern; :class:`~protein_studio.gui.main_window.MainWindow` builds them and puts
their actions in the menus.

* :mod:`.documents`: open, close, records, chains, recent files, drag and drop, the window title;
* :mod:`.edits`: point mutations, pastes, reverting, undo histories, select all;
* :mod:`.numbering`: View > Numbering;
* :mod:`.view`: what the 3D view shows and how it is coloured, the selection, each document's view
  settings;
* :mod:`.variants`: the variant list, its notes and scores, Design DNA;
* :mod:`.scans`: Run > Scan and Score Variants, the heatmap and ranked table they fill;
* :mod:`.jobs`: submitting work to the worker thread, progress, failures, Cancel;
* :mod:`.models`: the scoring model and device, the model manager;
* :mod:`.exports`: FASTA, variants, scans, ranked rows and images written to files;
* :mod:`.projects`: project files, autosave, recovery;
* :mod:`.design`: structure prediction, comparison and sequence generation;
* :mod:`.help`: the manual, shortcuts and About.
"""
