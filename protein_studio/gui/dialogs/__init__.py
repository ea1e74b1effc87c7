"""Windows and dialogs opened from the menus: Design DNA, Generate Sequences, the model manager, the user
manual and the keyboard shortcuts, and the Predict and Compare dialogs."""
