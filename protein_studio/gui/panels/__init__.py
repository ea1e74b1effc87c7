"""The panels of the main window: the sequence editor, the heatmap, the 3D viewer (and its web page's
bridge), the variant list, the ranked table, the document list, the tracks under the sequence, the
measurements panel and the jobs and activity log. A panel shows what it is given and reports what the user
did through its signals; the controllers (:mod:`protein_studio.gui.controllers`) connect them to the
session."""
