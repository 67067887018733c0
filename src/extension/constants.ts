/**
 * Every id the manifest and the code share: commands, views, settings, context keys, tree item
 * context values. package.json `contributes` must use the same strings (an integration test
 * checks that each command here is contributed and registered).
 */
export const Command = {
  productionize: 'nb2prod.productionize',
  buildImage: 'nb2prod.buildImage',
  runPipeline: 'nb2prod.runPipeline',
  runPipelineLocally: 'nb2prod.runPipelineLocally',
  tagCell: 'nb2prod.tagCell',
  showPlan: 'nb2prod.showPlan',
  showGraph: 'nb2prod.showGraph',
  compareRuns: 'nb2prod.compareRuns',
  refreshLineage: 'nb2prod.refreshLineage',
  showLog: 'nb2prod.showLog',
  openFile: 'nb2prod.lineage.openFile',
  revealCell: 'nb2prod.lineage.revealCell',
  rebuild: 'nb2prod.lineage.rebuild',
  rerun: 'nb2prod.lineage.rerun',
  copyImageId: 'nb2prod.lineage.copyImageId',
  diffWithPrevious: 'nb2prod.lineage.diffWithPrevious',
  exportPipeline: 'nb2prod.exportPipeline',
  pushImage: 'nb2prod.pushImage',
  copyReference: 'nb2prod.lineage.copyReference',
  checkoutVersion: 'nb2prod.lineage.checkoutVersion',
  reproduceRun: 'nb2prod.lineage.reproduceRun',
  serveModel: 'nb2prod.serveModel',
  endpointActions: 'nb2prod.endpointActions',
  stopEndpoint: 'nb2prod.stopEndpoint',
} as const;
export type CommandId = (typeof Command)[keyof typeof Command];

export const View = {
  container: 'nb2prod',
  lineage: 'nb2prod.lineage',
} as const;

export const Setting = {
  section: 'nb2prod',
  outputDirectory: 'outputDirectory',
  baseImage: 'baseImage',
  dockerHost: 'dockerHost',
  pythonPath: 'pythonPath',
  registry: 'registry',
  jobs: 'jobs',
  objectStore: 'objectStore',
  servePort: 'servePort',
  serveLocal: 'serveLocal',
} as const;

/**
 * Tree item `contextValue`s: the node type first, then `+flag`s that menus match with regexes
 * (`viewItem =~ /^build\b.*\+image/`).
 */
export const ItemType = {
  notebook: 'notebook',
  version: 'version',
  files: 'files',
  file: 'file',
  build: 'build',
  run: 'run',
  push: 'push',
  step: 'step',
  artifact: 'artifact',
  metric: 'metric',
  export: 'export',
  reproduction: 'reproduction',
  difference: 'difference',
  /** A model endpoint running now, started from this window. */
  endpoint: 'endpoint',
  /** A `serve` lineage record: the run was served (now or earlier, here or by the CLI). */
  serve: 'serve',
} as const;
export const ItemFlag = { previous: '+previous', image: '+image', cells: '+cells', succeeded: '+succeeded' } as const;

/** The ipynb notebook type of VS Code's built-in Jupyter serializer. */
export const JUPYTER_NOTEBOOK_TYPE = 'jupyter-notebook';

/** The lineage store, relative to a workspace folder (the core's STORE_DIR/STORE_FILE). */
export const LINEAGE_GLOB = '.nb2prod/lineage.jsonl';

/** Read-only documents the extension shows (plans, version diffs). */
export const DOC_SCHEME = 'nb2prod';
