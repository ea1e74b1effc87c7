// Protein Studio structure viewer page script.
//
// Python (protein_studio/gui/structure_viewer.py) talks to this page only through the QWebChannel
// object "bridge": it emits bridge.command(name, jsonArguments), and this script parses the JSON and
// calls the matching function in COMMANDS. Structure text, names, colours and residue lists are
// therefore always data, never script source. The page reports back through bridge slots:
// pageReady(info), atomClicked(chain, number, insertion), renderDone(), reportFailure(message).
"use strict";

(function () {
  const STICK_RADIUS = 0.28;
  const FRAME_SETTLE_MS = 60;
  const FRAME_TIMEOUT_MS = 300;
  const SELECTED_STYLE = {colorscheme: "greenCarbon", radius: STICK_RADIUS};
  // A selected stretch is drawn in a colour no scheme uses, and thicker, so a range stands out.
  const SELECTED_CARTOON = {color: "#FF8C00", thickness: 0.9};
  const INACTIVE_CHAIN_COLOR = "#D3D3D3";  // chains other than the one the sequence shows
  const MUTATED_STYLE = {colorscheme: "magentaCarbon", radius: STICK_RADIUS};
  const MISSING_COLOR = "#C8C8C8";
  const CONTEXT_RADIUS = 18.0;  // Angstrom of surroundings kept in view around centred residues
  const WATER = new Set(["HOH", "WAT", "DOD", "H2O"]);

  const state = {
    activeChain: "",
    bridge: null,
    viewer: null,
    model: null,
    name: "",
    colors: null,       // null: colour by chain; otherwise {"A:42": "#RRGGBB", ...}
    selected: [],       // [[chain, number, insertion], ...]
    mutated: [],
    surface: false,
    surfaceStale: false,
    overlay: null,      // a second structure superposed on the first (a comparison), drawn in one colour
    overlayName: "",
    overlayColor: MISSING_COLOR,
    baseColor: null,    // while an overlay is shown: one colour for the first structure too (or null)
    labels: {},         // residue key -> how the window names it ("E104 (sequence 102, A:79)")
    hoverLabel: null,   // the label under the mouse pointer
    hovered: "",        // its text (tests read it from status())
    selectedLabels: [], // labels of the selected residues (a few at most)
  };

  const messageBox = document.getElementById("message");
  const titleBox = document.getElementById("title");
  const legendBox = document.getElementById("legend");

  function showMessage(text, isError) {
    messageBox.textContent = text || "";
    messageBox.hidden = !text;
    messageBox.classList.toggle("error", Boolean(isError));
  }

  function residueKey(chain, number, insertion) {
    return String(chain) + ":" + String(number) + String(insertion || "").trim();
  }

  function atomKey(atom) {
    return residueKey(atom.chain, atom.resi, atom.icode);
  }

  function isWater(atom) {
    return WATER.has(String(atom.resn).trim().toUpperCase());
  }

  // Atoms of the listed residues, hydrogens and waters left out (sticks stay readable).
  function residueSelection(residues) {
    const keys = new Set(residues.map((r) => residueKey(r[0], r[1], r[2])));
    return {predicate: (atom) => keys.has(atomKey(atom)) && atom.elem !== "H" && !isWater(atom)};
  }

  function colorFunction() {
    const colors = state.colors;
    return (atom) => {
      const color = colors[atomKey(atom)];
      return $3Dmol.CC.color(color === undefined ? MISSING_COLOR : color);
    };
  }

  function baseColorSpec() {
    if (state.baseColor !== null) {
      return {color: state.baseColor};
    }
    return state.colors === null ? {colorscheme: "chain"} : {colorfunc: colorFunction()};
  }

  // Styles of the first structure only (selections name its model, so an overlay keeps its own style).
  function applyStyles() {
    const model = state.model;
    const color = baseColorSpec();
    model.setStyle({}, {});
    model.setStyle({hetflag: false}, {cartoon: Object.assign({}, color)});
    // in a colouring of the shown chain's values, the other chains are grey; colouring by chain keeps them all
    if (state.activeChain && state.overlay === null && state.colors !== null) {
      const others = {hetflag: false, predicate: (atom) => atom.chain !== state.activeChain};
      model.setStyle(others, {cartoon: {color: INACTIVE_CHAIN_COLOR}});
    }
    // Ligands and other hetero groups (not water) as thin sticks, so bound molecules stay visible.
    model.setStyle(
      {hetflag: true, predicate: (atom) => !isWater(atom) && atom.elem !== "H"},
      {stick: {colorscheme: "grayCarbon", radius: 0.15}},
    );
    if (state.mutated.length) {
      model.setStyle(residueSelection(state.mutated), {stick: MUTATED_STYLE}, true);
    }
    if (state.selected.length) {
      const selection = residueSelection(state.selected);
      model.setStyle(selection, {cartoon: Object.assign({}, SELECTED_CARTOON), stick: SELECTED_STYLE});
    }
  }

  function applyOverlayStyle() {
    state.overlay.setStyle({}, {});
    state.overlay.setStyle({hetflag: false}, {cartoon: {color: state.overlayColor, opacity: 0.85}});
  }

  function dropOverlay() {
    if (state.overlay !== null) {
      state.viewer.removeModel(state.overlay);
    }
    state.overlay = null;
    state.overlayName = "";
    state.baseColor = null;
  }

  let renderChain = Promise.resolve();

  // Draw the current state. Renders run one after another, so `renderDone` reports them in order
  // and a surface being built is never raced by the next render. The surface is rebuilt only when
  // `rebuildSurface` (structure, colours or the surface switch changed), not for a new selection.
  function render(rebuildSurface) {
    if (rebuildSurface) {
      state.surfaceStale = true;
    }
    const showsStructure = state.model !== null;  // decided now: a load may come while we wait
    const done = renderChain.then(() => renderNow(showsStructure));
    renderChain = done.catch(() => null);
    return done;
  }

  function renderNow(showsStructure) {
    const viewer = state.viewer;
    let surfaceDone = Promise.resolve();
    if (state.surfaceStale) {
      state.surfaceStale = false;
      viewer.removeAllSurfaces();
      if (state.model && state.surface) {
        const spec = Object.assign({opacity: 0.75}, baseColorSpec());
        surfaceDone = Promise.resolve(
          viewer.addSurface($3Dmol.SurfaceType.VDW, spec, {model: state.model, hetflag: false}),
        );
      }
    }
    return surfaceDone.then(() => new Promise((resolve) => {
      viewer.render(() => resolve());
    })).then(afterNextFrame).then(() => {
      if (showsStructure) {
        state.bridge.renderDone();
      }
    });
  }

  // Resolves once the rendered frame has most likely reached Qt (so a grab of the widget shows it):
  // two animation frames and then FRAME_SETTLE_MS for Qt to take the frame in, or FRAME_TIMEOUT_MS
  // when the page is hidden and animation frames are throttled.
  function afterNextFrame() {
    return new Promise((resolve) => {
      requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, FRAME_SETTLE_MS)));
      setTimeout(resolve, FRAME_TIMEOUT_MS);
    });
  }

  function setLegend(legend) {
    legendBox.replaceChildren();
    if (!legend) {
      legendBox.hidden = true;
      return;
    }
    const title = document.createElement("div");
    title.className = "legend-title";
    title.textContent = legend.title;
    legendBox.appendChild(title);
    if (legend.items) {
      for (const [color, label] of legend.items) {
        const row = document.createElement("div");
        row.className = "legend-row";
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = color;
        const text = document.createElement("span");
        text.textContent = label;
        row.append(swatch, text);
        legendBox.appendChild(row);
      }
    }
    if (legend.gradient) {
      const bar = document.createElement("div");
      bar.className = "gradient";
      bar.style.background = "linear-gradient(to right, " + legend.gradient.join(", ") + ")";
      const labels = document.createElement("div");
      labels.className = "gradient-labels";
      for (const label of legend.labels || []) {
        const span = document.createElement("span");
        span.textContent = label;
        labels.appendChild(span);
      }
      legendBox.append(bar, labels);
    }
    legendBox.hidden = false;
  }

  // Single code path for a click on an atom, real (3Dmol callback) or simulated (tests).
  // How a residue is named: the window's label (its numbering) when it gave one, else name, number and chain.
  function residueText(atom) {
    const label = state.labels[atomKey(atom)];
    return label || (String(atom.resn).trim() + " " + String(atom.resi) + String(atom.icode || "").trim() +
                     " (chain " + String(atom.chain) + ")");
  }

  const LABEL_STYLE = {fontSize: 12, fontColor: "white", backgroundColor: "black", backgroundOpacity: 0.75,
                       inFront: true, showBackground: true};

  function onHover(atom) {
    onUnhover();
    if (isWater(atom)) {
      return;
    }
    state.hovered = residueText(atom);
    state.hoverLabel = state.viewer.addLabel(state.hovered, Object.assign({position: atom}, LABEL_STYLE));
    state.viewer.render();
  }

  function onUnhover() {
    if (state.hoverLabel !== null) {
      state.viewer.removeLabel(state.hoverLabel);
      state.hoverLabel = null;
      state.viewer.render();
    }
    state.hovered = "";
  }

  // The selected residues carry their names (a handful at most: more would hide the structure).
  function labelSelection() {
    for (const label of state.selectedLabels) {
      state.viewer.removeLabel(label);
    }
    state.selectedLabels = [];
    if (!state.model || state.selected.length === 0 || state.selected.length > 5) {
      return;
    }
    for (const [chain, number, insertion] of state.selected) {
      const atom = findAtom(chain, number, insertion);
      if (atom !== null) {
        state.selectedLabels.push(state.viewer.addLabel(residueText(atom),
          Object.assign({position: atom}, LABEL_STYLE, {backgroundColor: "#FF8C00"})));
      }
    }
  }

  function onAtomClicked(atom) {
    const chain = String(atom.chain);
    const number = Number(atom.resi);
    const insertion = String(atom.icode || "").trim();
    state.selected = [[chain, number, insertion]];
    applyStyles();
    labelSelection();
    state.bridge.atomClicked(chain, number, insertion);
    return render(false);
  }

  function findAtom(chain, number, insertion) {
    if (!state.model) {
      return null;
    }
    const key = residueKey(chain, number, insertion);
    const atoms = state.model.selectedAtoms({predicate: (atom) => atomKey(atom) === key});
    if (!atoms.length) {
      return null;
    }
    return atoms.find((atom) => atom.atom === "CA") || atoms[0];
  }

  function dropModel() {
    onUnhover();
    for (const label of state.selectedLabels) {
      state.viewer.removeLabel(label);
    }
    state.selectedLabels = [];
    dropOverlay();
    state.viewer.removeAllSurfaces();
    state.viewer.removeAllModels();
    state.model = null;
  }

  const COMMANDS = {
    loadStructure(pdbText, name, colors, legend, format) {
      dropModel();
      state.name = name;
      state.colors = colors;
      setLegend(legend);
      state.selected = [];
      state.mutated = [];
      titleBox.textContent = name;
      // mmCIF ("cif") for structures the PDB format cannot hold (two-character chains, > 99,999 atoms)
      const model = state.viewer.addModel(pdbText, format === "cif" ? "cif" : "pdb");
      if (!model || model.selectedAtoms({}).length === 0) {
        state.viewer.removeAllModels();
        showMessage("No atoms could be read from " + name + ".", true);
        state.bridge.reportFailure("no atoms could be read from " + name);
        return render(true);
      }
      state.model = model;
      showMessage("");
      model.setClickable({}, true, (atom) => { onAtomClicked(atom); });
      model.setHoverable({}, true, (atom) => { onHover(atom); }, () => { onUnhover(); });
      applyStyles();
      // Fit the molecule, not the cloud of crystal waters around it.
      state.viewer.zoomTo({predicate: (atom) => !isWater(atom)});
      return render(true);
    },

    clear() {
      dropModel();
      state.name = "";
      state.selected = [];
      state.mutated = [];
      titleBox.textContent = "";
      setLegend(null);
      showMessage("No structure loaded.");
      return render(true);
    },

    setColors(colors, legend) {
      state.colors = colors;
      state.baseColor = null;  // a colour mode chosen after a comparison colours the first structure again
      setLegend(legend);
      if (!state.model) {
        return Promise.resolve();
      }
      applyStyles();
      return render(true);
    },

    setSelected(residues, center) {
      state.selected = residues;
      if (!state.model) {
        return Promise.resolve();
      }
      applyStyles();
      labelSelection();
      const selection = residueSelection(residues);
      if (center && state.model.selectedAtoms(selection).length) {
        // Fit the residues and their surroundings, so the user sees where they are.
        state.viewer.zoomTo({within: {distance: CONTEXT_RADIUS, sel: selection}});
        state.viewer.center(selection);
      }
      return render(false);
    },

    // The chain the sequence editor shows; the others are drawn in light grey (none: all in colour).
    setActiveChain(chain) {
      state.activeChain = chain || "";
      if (!state.model) {
        return Promise.resolve();
      }
      applyStyles();
      return render(true);
    },

    // How the window names each residue (its numbering): shown on hover and beside selected residues.
    setResidueLabels(labels) {
      state.labels = labels || {};
      labelSelection();
      return state.model ? render(false) : Promise.resolve();
    },

    setMutated(residues) {
      state.mutated = residues;
      if (!state.model) {
        return Promise.resolve();
      }
      applyStyles();
      return render(false);
    },

    // Superpose a second structure (already in the first one's frame) in one colour; the first is drawn
    // in `baseColor` when given. An empty text removes the overlay (colours go back to `colors`).
    setOverlay(pdbText, name, color, baseColor, legend) {
      dropOverlay();
      if (!state.model) {
        return Promise.resolve();
      }
      if (pdbText) {
        const overlay = state.viewer.addModel(pdbText, "pdb");
        if (!overlay || overlay.selectedAtoms({}).length === 0) {
          if (overlay) {
            state.viewer.removeModel(overlay);
          }
          state.bridge.reportFailure("no atoms could be read from " + name);
        } else {
          state.overlay = overlay;
          state.overlayName = name;
          state.overlayColor = color || MISSING_COLOR;
          state.baseColor = baseColor || null;
          applyOverlayStyle();
        }
      }
      setLegend(legend);
      titleBox.textContent = state.overlay === null ? state.name : state.name + " + " + state.overlayName;
      applyStyles();
      return render(true);
    },

    setSurface(on) {
      state.surface = Boolean(on);
      return render(true);
    },

    // View > Reset View: the whole molecule (waters aside) in view again, as when it was opened.
    resetView() {
      if (state.viewer === null || state.model === null) {
        return undefined;
      }
      state.viewer.zoomTo({predicate: (atom) => !isWater(atom)});
      return render(true);
    },
  };

  function dispatch(name, jsonArguments) {
    const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : null;
    if (command === null) {
      state.bridge.reportFailure("unknown viewer command " + name);
      return;
    }
    let result;
    try {
      result = command(...JSON.parse(jsonArguments));
    } catch (error) {
      state.bridge.reportFailure(name + ": " + String(error));
      return;
    }
    Promise.resolve(result).catch((error) => state.bridge.reportFailure(name + ": " + String(error)));
  }

  // Hooks for Python (constant scripts run with runJavaScript) and for tests.
  window.studio = {
    // PNG of the WebGL canvas as a data: URL.
    pngURI() {
      return state.viewer ? state.viewer.pngURI() : "";
    },
    // Click the residue's CA (or first) atom through the same path as a mouse click on it.
    // Returns the residue's key ("A:42", "A:42B"), or "" when it is not in the structure.
    simulateHover(chain, number, insertion) {
      const atom = findAtom(chain, number, insertion);
      if (atom === null) {
        return "";
      }
      onHover(atom);
      return state.hovered;
    },
    simulateClick(chain, number, insertion) {
      const atom = findAtom(chain, number, insertion);
      if (atom === null) {
        return "";
      }
      onAtomClicked(atom);
      return atomKey(atom);
    },
    // What is shown now, for tests and debugging.
    status() {
      return {
        ready: state.bridge !== null,
        has3Dmol: typeof $3Dmol !== "undefined",
        name: state.name,
        atoms: state.model ? state.model.selectedAtoms({}).length : 0,
        selected: state.selected,
        mutated: state.mutated,
        surface: state.surface,
        activeChain: state.activeChain,
        hovered: state.hovered,
        selectedLabels: state.selectedLabels.length,
        view: state.viewer ? Array.from(state.viewer.getView()) : [],
        coloring: state.baseColor !== null ? "overlay" : (state.colors === null ? "chain" : "values"),
        overlay: state.overlayName,
        overlayAtoms: state.overlay ? state.overlay.selectedAtoms({}).length : 0,
        baseColor: state.baseColor,
        overlayColor: state.overlay ? state.overlayColor : null,
      };
    },
  };

  function start() {
    if (typeof QWebChannel === "undefined" || typeof qt === "undefined") {
      showMessage("Qt WebChannel is not available: this page runs inside Protein Studio.", true);
      return;
    }
    new QWebChannel(qt.webChannelTransport, (channel) => {
      const bridge = channel.objects.bridge;
      state.bridge = bridge;
      if (typeof $3Dmol === "undefined") {
        showMessage("3Dmol.js not found: run make", true);
        bridge.pageReady(JSON.stringify({has3Dmol: false}));
        return;
      }
      state.viewer = $3Dmol.createViewer(document.getElementById("viewer"), {
        backgroundColor: "white",
        antialias: true,
      });
      showMessage("No structure loaded.");
      bridge.command.connect(dispatch);
      bridge.pageReady(JSON.stringify({has3Dmol: true}));
    });
  }

  start();
}());
