/**
 * The graph's CSS. Colours come from VS Code's theme variables through our own `--nb-*`
 * names: the page follows light, dark and high-contrast themes, and "Export SVG" swaps the
 * names for their current values so the file looks the same outside VS Code.
 */
export const THEME_VARIABLES: Record<string, string> = {
  '--nb-bg': 'var(--vscode-editor-background)',
  '--nb-fg': 'var(--vscode-editor-foreground)',
  '--nb-muted': 'var(--vscode-descriptionForeground)',
  '--nb-node-bg': 'var(--vscode-editorWidget-background)',
  '--nb-node-border': 'var(--vscode-contrastBorder, var(--vscode-editorWidget-border, var(--vscode-panel-border)))',
  '--nb-edge': 'var(--vscode-editorLineNumber-foreground)',
  '--nb-focus': 'var(--vscode-focusBorder)',
  '--nb-selected': 'var(--vscode-editor-selectionBackground)',
  '--nb-error': 'var(--vscode-errorForeground)',
  '--nb-running': 'var(--vscode-charts-blue)',
  '--nb-done': 'var(--vscode-charts-green)',
  '--nb-failed': 'var(--vscode-charts-red)',
  '--nb-skipped': 'var(--vscode-disabledForeground)',
  '--nb-font': 'var(--vscode-font-family)',
};

/** Rules for the SVG only: also embedded in exported files. */
export const SVG_CSS = `
svg.pipeline { font-family: var(--nb-font); }
.node rect { fill: var(--nb-node-bg); stroke: var(--nb-node-border); stroke-width: 1px; }
.node text { fill: var(--nb-fg); font-size: 12px; }
.node .title { font-weight: 600; font-size: 13px; }
.node .detail { fill: var(--nb-muted); }
.node .problem { fill: var(--nb-error); }
.node .status { font-size: 11px; fill: var(--nb-muted); }
.node.has-error rect { stroke: var(--nb-error); stroke-width: 2px; }
.node.selected rect { fill: var(--nb-selected); }
.node:focus { outline: none; }
.node:focus rect { stroke: var(--nb-focus); stroke-width: 2px; }
.node.state-running rect { stroke: var(--nb-running); stroke-width: 2px; stroke-dasharray: 6 3; }
.node.state-done rect { stroke: var(--nb-done); stroke-width: 2px; }
.node.state-failed rect { stroke: var(--nb-failed); stroke-width: 2px; }
.node.state-skipped { opacity: 0.55; }
.node.state-running .status { fill: var(--nb-running); }
.node.state-done .status { fill: var(--nb-done); }
.node.state-failed .status { fill: var(--nb-failed); }
.edge { fill: none; stroke: var(--nb-edge); stroke-width: 1.5px; }
.edge.order { stroke-dasharray: 5 4; }
.arrowhead { fill: var(--nb-edge); }
.edge-label rect { fill: var(--nb-bg); }
.edge-label text { fill: var(--nb-muted); font-size: 11px; }
`;

/** The page around the SVG: toolbar and messages. */
export const PAGE_CSS = `
:root { ${Object.entries(THEME_VARIABLES).map(([k, v]) => `${k}: ${v};`).join(' ')} }
html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; background: var(--nb-bg); color: var(--nb-fg); font-family: var(--nb-font); font-size: var(--vscode-font-size); }
#toolbar { position: absolute; top: 8px; left: 8px; right: 8px; display: flex; gap: 6px; align-items: center; z-index: 1; pointer-events: none; }
#toolbar > * { pointer-events: auto; }
button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px; padding: 3px 8px; cursor: pointer; font: inherit; }
button:hover { background: var(--vscode-button-secondaryHoverBackground); }
button:focus-visible { outline: 1px solid var(--nb-focus); outline-offset: 1px; }
#status { color: var(--nb-muted); margin-left: 8px; }
#problems { color: var(--nb-error); }
.badge { border: 1px solid var(--nb-node-border); border-radius: 8px; padding: 1px 8px; color: var(--nb-muted); }
#message { position: absolute; bottom: 8px; left: 8px; right: 8px; color: var(--nb-error); }
svg.pipeline { width: 100%; height: 100%; display: block; cursor: grab; }
svg.pipeline.panning { cursor: grabbing; }
${SVG_CSS}
`;
