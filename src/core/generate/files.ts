/** A file the generator produces; `path` is POSIX and relative to the pipeline's out dir. */
export interface GeneratedFile {
  path: string;
  content: string;
}

export interface GenerateOptions {
  /** Notebook path as recorded in the manifest (relative to the workspace when possible). */
  notebookPath: string;
  /** Safe slug of the notebook (directory and image name). */
  slug: string;
  /** Package (Python) or directory (TypeScript) name, a safe identifier. */
  packageName: string;
  baseImage: string;
  /** Requirement pins found next to the notebook (requirements.txt / package.json), if any. */
  pins: string[];
}
